import { ApiError, api } from '../api/client.ts';
import type { UploadResponse } from '../api/types.ts';
import { encodeWav } from './wav.ts';

export interface UploadOptions {
  /** The wake word's language (BCP-47; the server's default, English, when absent). */
  language?: string;
  attempts?: number;
  baseDelayMs?: number;
  onAttempt?: (attempt: number) => void;
  signal?: AbortSignal;
  /** The take's number as the page shows it (1–10); training notes name the take by it. */
  take?: number;
}

function retriable(err: unknown): boolean {
  if (!(err instanceof ApiError)) return false;
  return err.status === 0 || err.status === 429 || err.status >= 500;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Uploads one take as a 16 kHz mono 16-bit WAV, retrying network failures, 429 and 5xx with backoff. */
export async function uploadTake(
  samples: Int16Array,
  wakeWord: string,
  options: UploadOptions = {},
): Promise<UploadResponse> {
  const attempts = options.attempts ?? 3;
  const wav = encodeWav(samples, 16000);
  let lastError: unknown = null;
  for (let attempt = 1; attempt <= attempts; attempt++) {
    options.onAttempt?.(attempt);
    const form = new FormData();
    form.append('wake_word', wakeWord);
    if (options.language) form.append('language', options.language);
    if (options.take !== undefined) form.append('take', String(options.take));
    form.append('file', new Blob([wav], { type: 'audio/wav' }), 'take.wav');
    try {
      return await api<UploadResponse>('/api/recordings/upload', {
        method: 'POST',
        form,
        signal: options.signal,
      });
    } catch (err) {
      lastError = err;
      if (!retriable(err) || attempt === attempts) break;
      const retryAfter = err instanceof ApiError ? err.retryAfter : null;
      const delay =
        retryAfter !== null
          ? Math.min(retryAfter * 1000, 10_000)
          : (options.baseDelayMs ?? 1000) * 2 ** (attempt - 1);
      await sleep(delay);
    }
  }
  throw lastError;
}
