/**
 * The TFLite file of a model (docs/formats.md): stored next to the ONNX object under the same key with `.tflite`.
 * A model trained before the TFLite export existed gets it on first request, converted from its stored ONNX head;
 * when that is impossible the reason is recorded on the model (`metrics.tflite_error`) and every later request
 * answers 409 with it, as does a model whose export failed at training time.
 */
import { createHash } from 'node:crypto';
import { manifestJson } from '@violawake/engine/artifacts/index';
import { tfliteFromOnnx } from '@violawake/engine/tflite/index';
import type { AppContext } from '../core/context.ts';
import { HttpError } from '../core/http/errors.ts';
import { getStorage } from '../core/storage/index.ts';
import { type ModelRow, mergeMetrics } from './queries.ts';

/** Storage key of a model's TFLite file, from its ONNX key (`models/<user>/<id>.onnx` → `….tflite`). */
export function tfliteKeyOf(storageKey: string): string {
  return storageKey.endsWith('.onnx') ? `${storageKey.slice(0, -5)}.tflite` : `${storageKey}.tflite`;
}

export interface TfliteRecord {
  sha256: string;
  size_bytes: number;
}

const sha256 = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');

/** The 409 for a model without a TFLite file, with the reason. */
export function tfliteUnavailable(reason: string): HttpError {
  return new HttpError(409, `This model has no TFLite file: ${reason}`);
}

/**
 * Makes sure the model's TFLite file is stored and returns its record; throws the 409 when it cannot exist.
 * Converting is deterministic, so two first requests at once write the same bytes.
 */
export async function ensureTflite(ctx: AppContext, m: ModelRow): Promise<TfliteRecord> {
  const failed = m.metrics.tflite_error;
  if (typeof failed === 'string' && failed) throw tfliteUnavailable(failed);
  const storage = getStorage(ctx);
  const key = tfliteKeyOf(m.storageKey);
  const known = m.metrics.tflite as TfliteRecord | undefined;
  if (known?.sha256 && (await storage.exists(key))) return known;

  const onnx = await storage.getBytes(m.storageKey);
  let bytes: Uint8Array;
  try {
    bytes = tfliteFromOnnx(onnx);
  } catch (err) {
    const reason = (err as Error).message;
    ctx.logger.warn({ model_id: m.id, reason }, 'TFLite conversion of a stored model failed');
    await mergeMetrics(ctx.db, m.id, { tflite_error: reason });
    m.metrics = { ...m.metrics, tflite_error: reason };
    throw tfliteUnavailable(reason);
  }
  const record: TfliteRecord = { sha256: sha256(bytes), size_bytes: bytes.byteLength };
  await storage.put(key, bytes, { contentType: 'application/octet-stream' });
  // the stored manifest names the new file's digest, as a newly trained model's does
  try {
    const manifest = JSON.parse((await storage.getBytes(m.manifestKey)).toString('utf8')) as Record<
      string,
      unknown
    >;
    if (manifest.tflite_sha256 !== record.sha256) {
      manifest.tflite_sha256 = record.sha256;
      await storage.put(m.manifestKey, new TextEncoder().encode(manifestJson(manifest as never)), {
        contentType: 'application/json',
      });
    }
  } catch (err) {
    ctx.logger.warn({ err, model_id: m.id }, 'could not add the TFLite digest to the stored manifest');
  }
  await mergeMetrics(ctx.db, m.id, { tflite: record });
  m.metrics = { ...m.metrics, tflite: record };
  return record;
}
