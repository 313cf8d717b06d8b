/**
 * Generates `sentences.txt`: everyday English sentences for generic negatives (docs/engine.md §6.5), written for the
 * project from the hand-written templates and vocabulary below (no corpus text). Deterministic: the same script
 * always writes the same file.
 *
 *   npx tsx packages/engine/data/generate-sentences.ts
 */
import { writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Rng } from '../src/rng.ts';

const NAMES = [
  'Anna',
  'Ben',
  'Carla',
  'David',
  'Emma',
  'Frank',
  'Grace',
  'Henry',
  'Isabel',
  'Jack',
  'Kate',
  'Liam',
  'Maria',
  'Noah',
  'Olivia',
  'Peter',
  'Rachel',
  'Sam',
  'Tina',
  'Victor',
  'Wendy',
  'Zoe',
  'Oscar',
  'Lucy',
  'Marcus',
  'Nina',
  'Paul',
  'Sophie',
  'Tom',
  'Julia',
  'Daniel',
  'Eva',
  'George',
  'Hannah',
  'Ivan',
  'Laura',
  'Mike',
  'Priya',
  'Raj',
  'Sara',
  'Chen',
  'Ahmed',
  'Fatima',
  'Kenji',
  'Lena',
  'Mateo',
  'Nora',
  'Omar',
  'Rosa',
  'Yusuf',
];
const ROOMS = [
  'kitchen',
  'living room',
  'bedroom',
  'bathroom',
  'hallway',
  'office',
  'garage',
  'garden',
  'basement',
  'dining room',
  'kids room',
  'attic',
];
const DEVICES = [
  'lights',
  'lamp',
  'heater',
  'fan',
  'radio',
  'television',
  'air conditioner',
  'coffee machine',
  'dishwasher',
  'oven',
  'speaker',
  'printer',
  'washing machine',
  'porch light',
  'ceiling fan',
];
const FOODS = [
  'pasta',
  'soup',
  'pizza',
  'rice',
  'salad',
  'bread',
  'pancakes',
  'tacos',
  'curry',
  'sandwiches',
  'noodles',
  'chicken',
  'fish',
  'eggs',
  'apples',
  'cheese',
  'yogurt',
  'cake',
  'cookies',
  'oatmeal',
];
const ITEMS = [
  'keys',
  'phone',
  'wallet',
  'glasses',
  'umbrella',
  'jacket',
  'charger',
  'backpack',
  'notebook',
  'headphones',
  'shoes',
  'passport',
  'laptop',
  'bag',
  'ticket',
  'book',
  'water bottle',
  'scarf',
];
const PLACES = [
  'the store',
  'the office',
  'school',
  'the park',
  'the station',
  'the airport',
  'the gym',
  'the library',
  'the bank',
  'the pharmacy',
  'the beach',
  'the market',
  'the doctor',
  'the post office',
  'the cinema',
  'the bakery',
  'the museum',
  'the hospital',
];
const DAYS = [
  'Monday',
  'Tuesday',
  'Wednesday',
  'Thursday',
  'Friday',
  'Saturday',
  'Sunday',
  'tomorrow',
  'today',
  'tonight',
  'next week',
  'this weekend',
  'in the morning',
  'after lunch',
];
const TIMES = [
  'six',
  'seven',
  'half past seven',
  'eight',
  'nine thirty',
  'ten',
  'noon',
  'quarter past two',
  'three',
  'four fifteen',
  'five',
  'six thirty',
  'eleven',
  'midnight',
];
const NUMBERS = [
  'two',
  'three',
  'four',
  'five',
  'six',
  'seven',
  'eight',
  'ten',
  'twelve',
  'fifteen',
  'twenty',
  'thirty',
  'forty five',
  'a hundred',
  'ninety',
  'sixty',
];
const ADJS = [
  'great',
  'terrible',
  'quiet',
  'busy',
  'cold',
  'warm',
  'strange',
  'lovely',
  'boring',
  'funny',
  'expensive',
  'cheap',
  'crowded',
  'peaceful',
  'long',
  'short',
  'easy',
  'difficult',
];
const ACTIVITIES = [
  'go for a walk',
  'watch a movie',
  'cook dinner',
  'call my sister',
  'clean the house',
  'read a book',
  'play cards',
  'water the plants',
  'take a nap',
  'go swimming',
  'visit my parents',
  'fix the bike',
  'bake some bread',
  'finish the report',
  'walk the dog',
  'do the laundry',
];
const WEATHER = [
  'rain',
  'snow',
  'be sunny',
  'be windy',
  'get colder',
  'get warmer',
  'clear up',
  'be foggy',
  'storm',
];
const SONGS = [
  'some jazz',
  'the news',
  'my playlist',
  'something relaxing',
  'classical music',
  'the radio',
  'that song again',
  'a podcast',
  'some rock music',
  'the morning show',
];
const COLORS = ['red', 'blue', 'green', 'yellow', 'white', 'black', 'orange', 'purple', 'grey', 'brown'];
const ANIMALS = ['dog', 'cat', 'bird', 'rabbit', 'horse', 'fish', 'hamster', 'parrot'];
const JOBS = [
  'doctor',
  'teacher',
  'plumber',
  'nurse',
  'driver',
  'cook',
  'lawyer',
  'gardener',
  'mechanic',
  'painter',
];
const FEELINGS = [
  'tired',
  'hungry',
  'happy',
  'worried',
  'excited',
  'bored',
  'sleepy',
  'busy',
  'cold',
  'late',
];

type Slot = readonly string[];
const T: Array<[string, Record<string, Slot>]> = [
  ['turn on the {d} in the {r}', { d: DEVICES, r: ROOMS }],
  ['turn off the {d} in the {r}', { d: DEVICES, r: ROOMS }],
  ['please switch off the {d}', { d: DEVICES }],
  ['can you dim the {r} lights to {n} percent', { r: ROOMS, n: NUMBERS }],
  ['set a timer for {n} minutes', { n: NUMBERS }],
  ['set an alarm for {t}', { t: TIMES }],
  ['wake me up at {t} {w}', { t: TIMES, w: DAYS }],
  ['remind me to buy {f} {w}', { f: FOODS, w: DAYS }],
  ['add {f} to the shopping list', { f: FOODS }],
  ['play {s} in the {r}', { s: SONGS, r: ROOMS }],
  ['turn the volume down a little', {}],
  ['what is the weather like {w}', { w: DAYS }],
  ['is it going to {x} {w}', { x: WEATHER, w: DAYS }],
  ['what time does {p} close', { p: PLACES }],
  ['how long does it take to get to {p}', { p: PLACES }],
  ['call {a} on speaker', { a: NAMES }],
  ['send a message to {a} saying I will be late', { a: NAMES }],
  ['tell {a} that dinner is ready', { a: NAMES }],
  ['have you seen my {i}', { i: ITEMS }],
  ['I think I left my {i} at {p}', { i: ITEMS, p: PLACES }],
  ['where did you put the {i}', { i: ITEMS }],
  ['did {a} call while I was out', { a: NAMES }],
  ['{a} said the meeting moved to {w}', { a: NAMES, w: DAYS }],
  ['we are having {f} for dinner {w}', { f: FOODS, w: DAYS }],
  ['do we still have any {f} left', { f: FOODS }],
  [
    'I bought {n} {f2} at the market',
    { n: NUMBERS, f2: ['apples', 'oranges', 'eggs', 'potatoes', 'onions', 'lemons', 'tomatoes', 'bananas'] },
  ],
  ['the {r} is really {j} today', { r: ROOMS, j: ADJS }],
  ['that movie was {j}', { j: ADJS }],
  ['I am feeling a bit {e} this evening', { e: FEELINGS }],
  ['are you {e} already', { e: FEELINGS }],
  ['let us {v} {w}', { v: ACTIVITIES, w: DAYS }],
  ['I want to {v} before dinner', { v: ACTIVITIES }],
  ['maybe we could {v} after work', { v: ACTIVITIES }],
  ['{a} wants to {v} with us', { a: NAMES, v: ACTIVITIES }],
  [
    'my {b} is a {o}',
    {
      b: ['brother', 'sister', 'mother', 'father', 'cousin', 'neighbor', 'aunt', 'uncle', 'friend'],
      o: JOBS,
    },
  ],
  ['the {o} is coming at {t}', { o: JOBS, t: TIMES }],
  ['our {m} keeps barking at the mailman', { m: ['dog', 'puppy', 'old dog'] }],
  ['the {c} {m} is sleeping on the sofa', { c: COLORS, m: ANIMALS }],
  ['I need a {c} shirt for the party', { c: COLORS }],
  ['it costs about {n} dollars', { n: NUMBERS }],
  [
    'the train leaves at {t} from platform {n}',
    { t: TIMES, n: ['one', 'two', 'three', 'four', 'five', 'six', 'seven', 'nine'] },
  ],
  ['there were {n} people at {p}', { n: NUMBERS, p: PLACES }],
  [
    'my number ends in {n} {n2}',
    { n: NUMBERS, n2: ['one', 'two', 'three', 'four', 'zero', 'eight', 'nine'] },
  ],
  ['can you spell that for me please', {}],
  ['what does {a} usually eat for breakfast', { a: NAMES }],
  ['how was your day at {p}', { p: PLACES }],
  ['I will pick you up from {p} at {t}', { p: PLACES, t: TIMES }],
  ['do not forget your {i}', { i: ITEMS }],
  ['could you open the window in the {r}', { r: ROOMS }],
  ['is the {d} still on', { d: DEVICES }],
  ['the {d} is making a weird noise', { d: DEVICES }],
  ['I think the {d} is broken again', { d: DEVICES }],
  ['we should call a {o} about the {d}', { o: JOBS, d: DEVICES }],
  ['what is {n} plus {n2}', { n: NUMBERS, n2: NUMBERS }],
  [
    'how many {u} are in a {u2}',
    {
      u: ['minutes', 'days', 'weeks', 'grams', 'inches', 'seconds'],
      u2: ['hour', 'year', 'month', 'kilogram', 'foot', 'day'],
    },
  ],
  ['who won the game last night', {}],
  ['good morning {a}, did you sleep well', { a: NAMES }],
  ['thanks {a}, that was really kind of you', { a: NAMES }],
  ['sorry {a}, I did not hear you', { a: NAMES }],
  ['see you {w}, {a}', { w: DAYS, a: NAMES }],
  ['happy birthday {a}', { a: NAMES }],
  ['I am not sure, let me check', {}],
  ['that sounds like a {j} idea', { j: ADJS }],
  [
    'the {p2} was {j} this afternoon',
    { p2: ['traffic', 'meeting', 'lecture', 'concert', 'market', 'game', 'class', 'bus'], j: ADJS },
  ],
  [
    'I usually go to {p} on {w2}',
    {
      p: PLACES,
      w2: ['Mondays', 'Tuesdays', 'Wednesdays', 'Thursdays', 'Fridays', 'Saturdays', 'Sundays', 'weekends'],
    },
  ],
  ['we ran out of {f} again', { f: FOODS }],
  ['put the {f} in the fridge please', { f: FOODS }],
  ['the {f} needs another {n} minutes', { f: FOODS, n: NUMBERS }],
  ['who left the {d} on in the {r}', { d: DEVICES, r: ROOMS }],
  ['can you read me the news', {}],
  ['what is on the calendar for {w}', { w: DAYS }],
  ['cancel my appointment with the {o}', { o: JOBS }],
  ['book a table for {n} at seven', { n: ['two', 'three', 'four', 'five', 'six'] }],
  [
    'how do you say {x} in Spanish',
    { x: ['thank you', 'good night', 'kitchen', 'window', 'friend', 'water', 'bread', 'tomorrow'] },
  ],
  ['my {i} is in the {r}', { i: ITEMS, r: ROOMS }],
  ['{a} and {b2} are coming over {w}', { a: NAMES, b2: NAMES, w: DAYS }],
  ['the kids are playing in the {r}', { r: ROOMS }],
  ['I have to work late {w}', { w: DAYS }],
  ['it was so {j} at {p} today', { j: ADJS, p: PLACES }],
  ['please keep it down, the baby is asleep', {}],
  [
    'where is the nearest {p3}',
    {
      p3: [
        'pharmacy',
        'gas station',
        'bus stop',
        'bakery',
        'coffee shop',
        'cash machine',
        'hotel',
        'supermarket',
      ],
    },
  ],
  [
    'could you help me carry the {i2}',
    { i2: ['boxes', 'groceries', 'chairs', 'bags', 'table', 'plants', 'suitcase'] },
  ],
  ['I paid {n} dollars for the {i}', { n: NUMBERS, i: ITEMS }],
  ['we waited {n} minutes for the bus', { n: NUMBERS }],
  [
    'the score was {n} to {n2}',
    { n: ['one', 'two', 'three', 'four', 'zero'], n2: ['one', 'two', 'three', 'zero', 'five'] },
  ],
  ['why is the {r} so {j2}', { r: ROOMS, j2: ['cold', 'warm', 'dark', 'messy', 'quiet', 'loud', 'bright'] }],
  ['does anyone want some {f}', { f: FOODS }],
  ['I could really use a cup of {dr}', { dr: ['tea', 'coffee', 'hot chocolate', 'water'] }],
  ['the {m} got out of the garden again', { m: ANIMALS }],
  [
    'when does the {p2} start',
    { p2: ['meeting', 'lecture', 'concert', 'movie', 'game', 'class', 'party', 'show'] },
  ],
];

const FILLERS = ['', '', '', '', 'okay, ', 'so ', 'well, ', 'hey, ', 'um, ', 'actually, ', 'oh, '];
const ENDINGS = ['', '', '', '', ' please', ' for me', ' then', ' I think', ' right now'];

function fill(template: string, slots: Record<string, Slot>, r: Rng): string {
  return template.replace(/\{(\w+)\}/g, (_, k: string) => r.pick(slots[k] as Slot));
}

const isQuestion = (s: string) =>
  /^(what|how|where|who|why|when|is|are|do(?! not)|does|did|can|could|have|should)\b/i.test(s);

function punctuate(s: string, q: boolean): string {
  return s.charAt(0).toUpperCase() + s.slice(1) + (q ? '?' : '.');
}

/** Comma-separated list (the conversation vocabulary below is long; one word per line would be unreadable). */
const L = (s: string): string[] =>
  s
    .split(',')
    .map((x) => x.trim())
    .filter(Boolean);

// ---- Conversation: everyday narration, opinions and questions over a general vocabulary (≈ 1,500 words), so that the
// negatives hold the words of ordinary talk and not only those of commands to a home assistant (docs/engine.md).
const WHO =
  L(`I, you, we, they, he, she, somebody, someone, nobody, no one, everybody, everyone, anybody, my boss,
  my wife, my husband, her brother, his mother, our neighbours, the kids, the teacher, the doctor, the landlord,
  my roommate, the waiter, the new guy, your dad, my grandmother, the police, the students, a customer, the plumber,
  his girlfriend, her parents, the bus driver, my colleague, the twins, our team, the company, the mayor, the nurse,
  the coach, my uncle, a stranger, the old man, the lady next door, my best friend, their son, our daughter,
  the secretary, the pilot, the farmer, the lawyer, the mechanic, the chef, the guests, the audience, my partner`);
// base, past, participle
const VERBS: Array<[string, string, string]> = L(`buy bought bought, find found found, lose lost lost,
  sell sold sold, move moved moved, clean cleaned cleaned, fix fixed fixed, break broke broken, drop dropped dropped,
  open opened opened, close closed closed, bring brought brought, take took taken, borrow borrowed borrowed,
  return returned returned, wrap wrapped wrapped, pack packed packed, hide hid hidden, check checked checked,
  sign signed signed, print printed printed, wash washed washed, wear wore worn, need needed needed,
  want wanted wanted, like liked liked, hate hated hated, miss missed missed, order ordered ordered,
  deliver delivered delivered, keep kept kept, share shared shared, cook cooked cooked, taste tasted tasted,
  eat ate eaten, drink drank drunk, steal stole stolen, throw threw thrown, catch caught caught, build built built,
  design designed designed, draw drew drawn, write wrote written, read read read, send sent sent,
  receive received received, choose chose chosen, change changed changed, replace replaced replaced,
  test tested tested, measure measured measured, weigh weighed weighed, count counted counted, sort sorted sorted,
  fold folded folded, cut cut cut, burn burnt burnt, heat heated heated, freeze froze frozen, fill filled filled,
  empty emptied emptied, load loaded loaded, push pushed pushed, pull pulled pulled, lift lifted lifted,
  hang hung hung, lend lent lent, rent rented rented, own owned owned, pay for paid for paid for,
  look at looked at looked at, ask about asked about asked about, talk about talked about talked about,
  wait for waited for waited for, pick up picked up picked up, put away put away put away, throw out threw out thrown out,
  give away gave away given away, try on tried on tried on, set up set up set up, clear out cleared out cleared out,
  notice noticed noticed, remember remembered remembered, recognise recognised recognised, show showed shown,
  sell off sold off sold off, repair repaired repaired, polish polished polished, scratch scratched scratched,
  damage damaged damaged, test drive test drove test driven, count up counted up counted up, mention mentioned mentioned,
  recommend recommended recommended, describe described described, explain explained explained, copy copied copied,
  finish finished finished, start started started, plan planned planned, cancel cancelled cancelled,
  postpone postponed postponed, organise organised organised, celebrate celebrated celebrated, enjoy enjoyed enjoyed,
  watch watched watched, record recorded recorded, film filmed filmed, upload uploaded uploaded,
  download downloaded downloaded, install installed installed, delete deleted deleted, sell back sold back sold back`)
  .map((x) => x.split(/\s+/))
  .map((w) => {
    // two-word verbs ("pay for paid for paid for") have six words, one-word verbs three
    const n = w.length / 3;
    return [w.slice(0, n).join(' '), w.slice(n, 2 * n).join(' '), w.slice(2 * n).join(' ')] as [
      string,
      string,
      string,
    ];
  });
const THINGS =
  L(`bag, box, book, letter, ticket, coat, jacket, hat, scarf, glove, shoe, boot, sock, shirt, dress,
  skirt, belt, wallet, purse, watch, ring, necklace, bracelet, camera, laptop, tablet, charger, cable, battery, radio,
  speaker, guitar, piano, violin, drum, ball, bike, scooter, skateboard, helmet, tent, blanket, pillow, towel, sheet,
  mirror, clock, candle, vase, plate, bowl, cup, mug, glass, bottle, jar, pan, pot, kettle, toaster, knife, fork,
  spoon, tray, basket, bucket, ladder, hammer, drill, saw, screwdriver, rope, hose, shovel, brush, broom, mop, sponge,
  soap, shampoo, toothbrush, comb, umbrella, suitcase, backpack, envelope, parcel, package, present, card, poster,
  painting, photo, picture, magazine, newspaper, novel, dictionary, notebook, pen, pencil, marker, ruler, folder,
  calendar, diary, map, key, lock, chain, fence, gate, door, window, curtain, carpet, rug, sofa, couch, armchair,
  chair, stool, bench, desk, shelf, cupboard, drawer, wardrobe, bed, mattress, crib, cot, table, lamp, fan, heater,
  fridge, freezer, oven, stove, sink, tap, bath, shower, toilet, bin, recycling, plant, flower, tree, bush, seed,
  vegetable, sandwich, pizza, burger, salad, soup, cake, pie, biscuit, cookie, muffin, sausage, steak, chicken,
  turkey, salmon, rice, pasta, noodles, cereal, yoghurt, butter, cheese, honey, jam, sauce, pepper, salt, sugar,
  flour, juice, wine, beer, milkshake, smoothie, sweater, hoodie, raincoat, swimsuit, sunglasses, earrings,
  headphones, keyboard, mouse, monitor, printer, router, phone case, game, puzzle, toy, doll, kite, balloon, trophy,
  medal, certificate, passport, licence, receipt, invoice, bill, contract, form, report, recipe, menu, list, sign,
  label, sticker, badge, button, zip, needle, thread, ribbon, tape, glue, paint, nail, screw, bolt, wheel, tyre,
  engine, mirror glass, boat, canoe, trailer, caravan, van, truck, car, motorbike, tractor, lorry`);
const ADJ =
  L(`new, old, big, small, tiny, huge, long, short, heavy, light, cheap, expensive, broken, dirty, clean,
  empty, full, wet, dry, hot, cold, warm, cool, soft, hard, smooth, rough, sharp, blunt, round, square, flat, thick,
  thin, bright, dark, pale, shiny, dusty, rusty, muddy, sticky, strange, weird, funny, lovely, beautiful, ugly, pretty,
  nice, awful, terrible, perfect, useful, useless, spare, extra, second, favourite, special, ordinary, simple, fancy,
  plain, modern, ancient, famous, secret, missing, stolen, borrowed, wooden, metal, plastic, leather, paper, glass,
  cotton, woollen, silver, golden, striped, spotted, checked, purple, pink, orange, yellow, green, grey, brown,
  black, white, red, blue, loud, quiet, noisy, fragile, precious, comfortable, uncomfortable, enormous, delicate,
  handmade, homemade, frozen, fresh, stale, spicy, sweet, sour, bitter, salty, healthy, tasty, delicious, disgusting`);
const DET = L(
  `the, a, my, your, her, his, our, their, this, that, some, another, every, one more, an extra, the other`,
);
const WHERE = L(`at the station, in the car, on the train, at the airport, at school, at the office, at work,
  in town, in the city centre, at the beach, in the park, at the gym, at the pool, at the library, at the museum,
  at the hospital, at the dentist, at the hairdresser, at the post office, at the bank, at the market, at the mall,
  at the shop on the corner, in the garage, in the attic, in the cellar, under the bed, behind the sofa,
  on the balcony, on the roof, in the back yard, by the river, near the bridge, on the bus, at the bus stop,
  at the petrol station, at the cinema, at the theatre, at the stadium, at church, at the restaurant, at the cafe,
  at the pub, at the hotel, at the campsite, in the mountains, at the lake, in the forest, at the farm, at the zoo,
  at my parents' house, at a friend's place, downstairs, upstairs, outside, next door, across the street,
  on the way to work, on the motorway, in the queue, at the party, at the wedding, at the funeral, at the meeting`);
const WHEN =
  L(`yesterday, this morning, last night, last week, last month, last year, a few days ago, two weeks ago,
  the other day, earlier today, this afternoon, at lunchtime, after dinner, before breakfast, at midnight,
  on Monday, on Friday night, over the weekend, during the summer, in the winter, at Christmas, on my birthday,
  after school, after work, before the holidays, around five o'clock, just now, an hour ago, ages ago,
  the day before yesterday, first thing in the morning, late at night, in the spring, in the autumn, on Sunday evening,
  every Saturday, once a month, twice a week, from time to time, now and then`);
const OPENER =
  L(`I think, I heard that, apparently, to be honest, as far as I know, the thing is, honestly, anyway,
  I guess, believe it or not, you know what, I told you, funnily enough, luckily, unfortunately, in the end,
  by the way, at least, of course, I swear, I bet, it turns out, I'm pretty sure, I don't think, guess what,
  I forgot to tell you, I still can't believe, everybody knows, nobody told me, somebody said`);
const BECAUSE = L(`because it was raining, because the shop was closed, because nobody else wanted it,
  because it was on sale, because we were running late, because the old one stopped working, because it was too small,
  because it was too big, because they asked nicely, because we had no choice, so we could leave early,
  so nobody would notice, so the kids could play, so we would not forget, but it did not fit, but it was too late,
  but nobody answered, but nothing happened, but the battery died, but it was worth it, and then went home,
  and then fell asleep, and never said a word, and nobody noticed, and everybody laughed, and we all cheered,
  without asking anyone, without thinking twice, in a hurry, by mistake, on purpose, for no reason at all,
  just in case, as a surprise, for the second time, for the first time in years, like last time,
  while we were away, while I was on the phone, while the baby was asleep, after all that, despite the weather`);
const ADV =
  L(`always, never, usually, often, sometimes, rarely, hardly ever, still, already, just, finally, nearly,
  almost, probably, definitely, actually, really, suddenly, quietly, carefully, quickly, slowly`);
const FEEL =
  L(`love, hate, miss, like, prefer, remember, want, need, can't find, can't stand, don't understand,
  keep forgetting, can't afford, would never buy, really enjoy, don't trust, wonder about, worry about`);
const PLACE_NOUN =
  L(`station, airport, school, office, beach, park, gym, pool, library, museum, hospital, market,
  mall, garage, attic, cellar, garden, balcony, river, bridge, cinema, theatre, stadium, restaurant, cafe, hotel,
  campsite, lake, forest, farm, zoo, village, harbour, castle, church, bakery, factory, prison, palace, island`);

/** Subjects of `WHO` that take a plural verb ("why do the kids …"). */
const PLURAL_WHO = new Set(
  L(
    `I, you, we, they, our neighbours, the kids, the police, the students, her parents, the twins, the guests`,
  ),
);

const an = (np: string): string => np.replace(/\ba ([aeiou])/i, 'an $1');
function nounPhrase(r: Rng): string {
  const det = r.pick(DET);
  const adj = r.chance(0.55) ? `${r.pick(ADJ)} ` : '';
  return an(`${det} ${adj}${r.pick(THINGS)}`);
}

/** One conversation sentence (without the final punctuation; `q` says whether it is a question). */
function conversation(r: Rng): { s: string; q: boolean } {
  const v = r.pick(VERBS);
  const who = r.pick(WHO);
  const np = nounPhrase(r);
  const where = r.chance(0.5) ? ` ${r.pick(WHERE)}` : '';
  const when = r.chance(0.5) ? ` ${r.pick(WHEN)}` : '';
  switch (r.int(10)) {
    case 0:
    case 1: {
      const tail = r.chance(0.45) ? ` ${r.pick(BECAUSE)}` : '';
      const open = r.chance(0.35) ? `${r.pick(OPENER)} ` : '';
      return { s: `${open}${who} ${v[1]} ${np}${where}${when}${tail}`, q: false };
    }
    case 2: {
      const does = PLURAL_WHO.has(who) ? 'do' : 'does';
      const aux = r.pick([
        'Why did',
        'When did',
        'Where did',
        'How did',
        `Why ${does}`,
        'Did',
        'Would',
        'Could',
        'Should',
      ]);
      return { s: `${aux} ${who} ${v[0]} ${np}${where}`, q: true };
    }
    case 3:
      return { s: `have you ever ${v[2]} ${np}${where}`, q: true };
    case 4:
      return { s: `who ${v[1]} ${np}${when}`, q: true };
    case 5:
      return {
        s: `I ${r.pick(FEEL)} ${np}${r.chance(0.4) ? ` from the ${r.pick(PLACE_NOUN)}` : ''}`,
        q: false,
      };
    case 6: {
      const adj = r.pick(ADJ);
      const np2 = np.replace(/^(a|an|one more|an extra|another|every|some) /, 'the ');
      return {
        s: `${np2} ${r.pick(['was', 'looked', 'seemed', 'felt', 'is', 'looks'])} ${r.chance(0.4) ? `${r.pick(['really', 'quite', 'a bit', 'far too', 'surprisingly', 'rather'])} ` : ''}${adj}${when}`,
        q: false,
      };
    }
    case 7:
      return {
        s: `${who} ${r.pick(['said', 'told me', 'thinks', 'promised', 'claims', 'wrote'])} that ${r.pick(WHO)} ${v[1]} ${np}${when}`,
        q: false,
      };
    case 8:
      return {
        s: `we ${r.pick(ADV)} ${r.pick(['go to the', 'walk past the', 'meet at the', 'drive to the', 'end up at the', 'stop by the'])} ${r.pick(PLACE_NOUN)} ${r.pick(WHEN)}`,
        q: false,
      };
    default:
      return {
        s: `${r.pick(['are you going to', 'do you want to', 'can we', 'shall we', 'when are we going to', 'how do I'])} ${v[0]} ${np}${where}`,
        q: true,
      };
  }
}

/** Appends up to `n` new distinct sentences from `draw` to `out` (giving up after 50 draws per sentence). */
function drawDistinct(out: string[], seen: Set<string>, n: number, draw: () => string): void {
  const end = out.length + n;
  for (let guard = 0; out.length < end && guard < n * 50; guard++) {
    const s = draw();
    if (seen.has(s)) continue;
    seen.add(s);
    out.push(s);
  }
}

export function generate(count = 3600, seed = 20261127, conversations = 4000): string[] {
  const r = new Rng(seed);
  const seen = new Set<string>();
  const out: string[] = [];
  drawDistinct(out, seen, count, () => {
    const [tpl, slots] = T[r.int(T.length)] as [string, Record<string, Slot>];
    let s = fill(tpl, slots, r);
    const q = isQuestion(s);
    const filler = r.pick(FILLERS);
    const ending = r.pick(ENDINGS);
    if (!q && !s.includes(',')) s += ending;
    return punctuate((filler + s).replace(/\s+/g, ' ').trim(), q);
  });
  // the conversation family from a stream of its own, so that the lines above stay what they were
  const rc = new Rng((seed ^ 0x5eed) | 0);
  drawDistinct(out, seen, conversations, () => {
    const { s, q } = conversation(rc);
    return punctuate(s.replace(/\s+/g, ' ').trim(), q);
  });
  return out;
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const lines = generate();
  writeFileSync(new URL('./sentences.txt', import.meta.url), `${lines.join('\n')}\n`);
  console.log(`wrote ${lines.length} sentences`);
}
