/**
 * `violawake train --folds k` (docs/engine.md §8.1): the user-voice metrics estimated by k-fold instead of one held-out
 * fifth. Fold i trains a model without the i-th part of the recordings (the seed's order cut into k parts) and scores
 * that part; the final model then trains on every recording, with at most the folds' mean best epoch, and is evaluated
 * on the rest of the held-out data (unseen-voice positives, confusables, the negative stream) as usual. Its manifest
 * reports the folds' user-voice miss rate (mean over the held-out recordings of all folds) and each fold's figures.
 */
import type { FoldReport, KFoldEvaluation } from '../artifacts/manifest.ts';
import { EngineError } from '../eval/errors.ts';
import { type TrainJob, type TrainResult, trainWakeWord } from './train.ts';

export const MAX_FOLDS = 10;

export async function trainWakeWordKFold(job: TrainJob, k: number): Promise<TrainResult> {
  const n = job.clips?.length ?? 0;
  if (job.textOnly || n === 0) throw new RangeError('k-fold evaluation needs recordings');
  if (!Number.isInteger(k) || k < 2 || k > Math.min(MAX_FOLDS, n))
    throw new RangeError(`folds must be a whole number from 2 to ${Math.min(MAX_FOLDS, n)}`);
  const folds: FoldReport[] = [];
  for (let fold = 0; fold < k; fold++) {
    const label = `Fold ${fold + 1}/${k}: `;
    try {
      const r = await trainWakeWord({
        ...job,
        userHoldout: { fold, folds: k },
        // a fold estimates one training round; the final model may take the second draw
        secondDraw: false,
        onProgress: job.onProgress && ((p) => job.onProgress?.({ ...p, message: label + p.message })),
      });
      folds.push({
        fold: fold + 1,
        held_out: r.evaluation.user_clips_held_out,
        user_miss_rate: r.evaluation.miss_rate_by_source.user ?? null,
        best_epoch: r.manifest.training.best_epoch,
        quality_grade: r.metrics.quality_grade,
      });
    } catch (err) {
      // a fold that fails its quality gate is part of the estimate (no model, so no miss rate); anything else ends the run
      if (!(err instanceof EngineError) || err.code !== 'quality_gate') throw err;
      folds.push({ fold: fold + 1, held_out: 0, user_miss_rate: null, best_epoch: null, quality_grade: 'F' });
    }
  }
  const scored = folds.filter((f) => f.user_miss_rate !== null && f.held_out > 0);
  const heldOut = scored.reduce((a, f) => a + f.held_out, 0);
  const userMiss =
    heldOut > 0 ? scored.reduce((a, f) => a + (f.user_miss_rate as number) * f.held_out, 0) / heldOut : null;
  const epochs = folds.filter((f) => f.best_epoch !== null).map((f) => f.best_epoch as number);
  if (epochs.length === 0)
    throw new EngineError(
      'quality_gate',
      `every one of the ${k} folds failed its quality gate; record the wake word again or try fewer folds`,
    );
  const finalMaxEpochs = Math.max(1, Math.round(epochs.reduce((a, b) => a + b, 0) / epochs.length));
  const final = await trainWakeWord({
    ...job,
    userHoldout: 'none',
    maxEpochs: Math.min(job.maxEpochs ?? Number.POSITIVE_INFINITY, finalMaxEpochs),
    onProgress: job.onProgress && ((p) => job.onProgress?.({ ...p, message: `Final model: ${p.message}` })),
  });
  const kfold: KFoldEvaluation = { k, folds, user_miss_rate: userMiss, final_max_epochs: finalMaxEpochs };
  const failed = folds.filter((f) => f.user_miss_rate === null).length;
  const warnings =
    failed > 0
      ? [`${failed} of ${k} folds failed their quality gate; the user-voice estimate leaves them out.`]
      : [];
  for (const ev of [final.evaluation, final.manifest.evaluation]) {
    if (!ev) continue;
    ev.user_clips_held_out = heldOut;
    ev.miss_rate_by_source = { ...ev.miss_rate_by_source, user: userMiss };
    ev.kfold = kfold;
    ev.warnings = [...ev.warnings, ...warnings];
  }
  return final;
}
