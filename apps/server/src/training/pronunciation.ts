/**
 * The pronunciation preview (docs/training.md, "Pronunciation"): the engine synthesises the word the way a job would
 * say it. At most two previews synthesise at once per process; bad input is a 422 naming the field.
 */
import {
  PronunciationError,
  type PronunciationPreview,
  previewPronunciation,
} from '@violawake/engine/synth/pronunciation';
import { HttpError } from '../core/http/errors.ts';
import { requestLanguage } from '../languages/service.ts';
import { normalizeWakeWordOr400 } from '../recordings/service.ts';

const MAX_CONCURRENT = 2;
let running = 0;

export async function pronunciationPreview(body: {
  wake_word: string;
  sounds_like?: string;
  phonemes?: string;
  language?: string;
}): Promise<PronunciationPreview> {
  const wakeWord = normalizeWakeWordOr400(body.wake_word);
  const language = requestLanguage(body.language, { wakeWord });
  if (running >= MAX_CONCURRENT)
    throw new HttpError(503, 'Too many previews are being synthesised; try again in a moment.', {
      'Retry-After': '2',
    });
  running++;
  try {
    return await previewPronunciation(
      wakeWord,
      { soundsLike: body.sounds_like, phonemes: body.phonemes },
      language,
    );
  } catch (err) {
    if (err instanceof PronunciationError)
      throw new HttpError(422, [{ loc: ['body', err.field], msg: err.message, type: 'value_error' }]);
    throw new HttpError(503, 'Speech synthesis (espeak-ng) is not available on this server.');
  } finally {
    running--;
  }
}
