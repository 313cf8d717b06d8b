/**
 * The upload's take check: the engine's `TakeChecker` (the function the trainer runs on the same stored samples;
 * docs/engine.md, "Take checks"), loaded once per process on first use and shared by all uploads.
 */
import { type TakeCheck, TakeChecker } from '@violawake/engine/audio/take';

let checker: Promise<TakeChecker> | null = null;

export function checkTake(samples: Int16Array): Promise<TakeCheck> {
  if (!checker) {
    checker = TakeChecker.open();
    checker.catch(() => {
      checker = null;
    });
  }
  return checker.then((c) => c.checkInt16(samples));
}

/** The 422 detail of a take the trainer could not use. */
export function unusableTakeDetail(check: TakeCheck): string {
  return `This take cannot be used for training: ${check.message} Record it again.`;
}
