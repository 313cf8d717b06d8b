/**
 * Generates `sentences.txt`: everyday English sentences for generic negatives (engine.md §6.5), written for the
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

export function generate(count = 3600, seed = 20261127): string[] {
  const r = new Rng(seed);
  const seen = new Set<string>();
  const out: string[] = [];
  let guard = 0;
  while (out.length < count && guard++ < count * 50) {
    const [tpl, slots] = T[r.int(T.length)] as [string, Record<string, Slot>];
    let s = fill(tpl, slots, r);
    const q = isQuestion(s);
    const filler = r.pick(FILLERS);
    const ending = r.pick(ENDINGS);
    if (!q && !s.includes(',')) s += ending;
    s = punctuate((filler + s).replace(/\s+/g, ' ').trim(), q);
    if (seen.has(s)) continue;
    seen.add(s);
    out.push(s);
  }
  return out;
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const lines = generate();
  writeFileSync(new URL('./sentences.txt', import.meta.url), `${lines.join('\n')}\n`);
  console.log(`wrote ${lines.length} sentences`);
}
