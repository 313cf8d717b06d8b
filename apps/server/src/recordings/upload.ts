/**
 * Receiving the multipart upload (docs/api.md §4.5 steps 2–4): the `file` part is streamed to a temporary file while its
 * bytes are counted; past 10 MiB reading stops and the answer is 413 (the body is never buffered whole). One file
 * part at most; text fields ≤ 1 KiB.
 */
import { randomUUID } from 'node:crypto';
import { mkdir, open, readFile, rm } from 'node:fs/promises';
import path from 'node:path';
import type { FastifyRequest } from 'fastify';
import { findRejectedText, HttpError, PG_REJECTED_MESSAGE, unprocessable } from '../core/http/errors.ts';

export const MAX_FILE_BYTES = 10 * 1024 * 1024;
/** Content-Length above this is refused before reading (file limit + room for the multipart framing). */
export const MAX_REQUEST_BYTES = MAX_FILE_BYTES + 64 * 1024;
export const MAX_FIELD_BYTES = 1024;
export const FILE_TOO_LARGE = 'File too large. Maximum size is 10 MiB.';

export function fileTooLarge(): HttpError {
  return new HttpError(413, FILE_TOO_LARGE, { Connection: 'close' });
}

export interface ReceivedUpload {
  /** The file part's bytes (read back from the temporary file), or null when there was no `file` part. */
  file: Buffer | null;
  /** The raw `wake_word` text field, or null when absent. */
  wakeWord: string | null;
  /** The optional `take` field: the take's number as the user saw it (1–100), or null. */
  take: number | null;
  /** The optional `language` field (BCP-47, checked by the service), or null. */
  language: string | null;
}

const MISSING = { msg: 'Field required', type: 'missing' };

function multipartError(err: unknown): HttpError {
  if (err instanceof HttpError) return err;
  const code = (err as { code?: string })?.code;
  if (code === 'FST_REQ_FILE_TOO_LARGE') return fileTooLarge();
  if (code === 'FST_FILES_LIMIT')
    return unprocessable(['body', 'file'], 'Only one file part is allowed', 'value_error');
  if (code === 'FST_FIELDS_LIMIT' || code === 'FST_PARTS_LIMIT') {
    return unprocessable(['body'], 'Too many form fields', 'value_error');
  }
  return unprocessable(['body'], 'Invalid multipart/form-data body', 'value_error');
}

/** How long parsing may make no progress while request bytes wait unread (or the body has ended). */
const STALL_MS = 3000;

/**
 * Busboy (through @fastify/multipart) can stop consuming the body without ever finishing when a part's headers are
 * malformed (found by the fuzz test with a mangled Content-Disposition): the request would never be answered.
 * `progress()` counts parts and chunks; when it has not moved for STALL_MS while the request has ended, has unread
 * bytes buffered or is paused by backpressure (so the wait is on the server, not on a slow client), the open file
 * stream (if any) is destroyed and the request is answered 422.
 */
async function untilStalled<T>(
  request: FastifyRequest,
  work: Promise<T>,
  progress: () => number,
  abort: () => void,
): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const raw = request.raw;
  const stalled = new Promise<never>((_, reject) => {
    let last = progress();
    let since = Date.now();
    timer = setInterval(() => {
      const now = Date.now();
      const p = progress();
      // Ended, bytes buffered, or paused by the parser's backpressure: the wait is on our side.
      const serverSide = raw.readableEnded || raw.readableLength > 0 || raw.readableFlowing === false;
      if (p !== last || !serverSide) {
        last = p;
        since = now;
      } else if (now - since >= STALL_MS) {
        clearInterval(timer);
        abort();
        reject(unprocessable(['body'], 'Invalid multipart/form-data body', 'value_error'));
      }
    }, 250);
    timer.unref();
  });
  try {
    return await Promise.race([work, stalled]);
  } finally {
    clearInterval(timer);
    // The losing branch must not become an unhandled rejection.
    work.catch(() => {});
  }
}

/** Read the parts; the temporary file is always removed before this returns. */
export async function receiveUpload(request: FastifyRequest, tmpRoot: string): Promise<ReceivedUpload> {
  if (!request.isMultipart()) throw unprocessable(['body'], 'Expected multipart/form-data', 'value_error');
  const dir = path.join(tmpRoot, 'uploads');
  await mkdir(dir, { recursive: true });
  const tmp = path.join(dir, `${randomUUID()}.part`);
  let fileSize = -1;
  let wakeWord: string | null = null;
  let wakeWordTooLong = false;
  let takeRaw = null as string | null;
  let language = null as string | null;
  try {
    const parts = request.parts({
      limits: {
        fileSize: MAX_FILE_BYTES,
        files: 1,
        fieldSize: MAX_FIELD_BYTES,
        fields: 20,
        parts: 25,
        headerPairs: 100,
      },
    });
    let currentFile: (NodeJS.ReadableStream & { destroy(err?: Error): void }) | null = null;
    let steps = 0;
    const readParts = async () => {
      for await (const part of parts) {
        steps++;
        if (part.type === 'file') {
          if (part.fieldname !== 'file' || fileSize >= 0) {
            // Not ours: drain it (it still counts against the one-file limit).
            currentFile = part.file;
            for await (const _ of part.file) void _;
            continue;
          }
          fileSize = 0;
          currentFile = part.file;
          // Busboy stops delivering data at the limit but would only end the stream at the part's end boundary,
          // i.e. after reading the rest of the body: fail at once instead.
          part.file.once('limit', () => part.file.destroy(fileTooLarge()));
          const fh = await open(tmp, 'wx', 0o600);
          try {
            for await (const chunk of part.file as AsyncIterable<Buffer>) {
              steps++;
              fileSize += chunk.length;
              if (fileSize > MAX_FILE_BYTES) throw fileTooLarge();
              let off = 0;
              while (off < chunk.length) off += (await fh.write(chunk, off, chunk.length - off)).bytesWritten;
            }
          } finally {
            await fh.close();
          }
          if (part.file.truncated) throw fileTooLarge();
        } else if (part.fieldname === 'wake_word') {
          if (part.valueTruncated) wakeWordTooLong = true;
          else if (typeof part.value === 'string') wakeWord = part.value;
          else wakeWord = String(part.value);
        } else if (part.fieldname === 'take') {
          takeRaw = part.valueTruncated ? 'x' : String(part.value);
        } else if (part.fieldname === 'language') {
          language = part.valueTruncated ? 'x'.repeat(100) : String(part.value);
        }
      }
    };
    try {
      await untilStalled(
        request,
        readParts(),
        () => steps,
        () => currentFile?.destroy(new Error('stalled')),
      );
    } catch (err) {
      throw multipartError(err);
    }
    const missing: { loc: (string | number)[]; msg: string; type: string }[] = [];
    if (fileSize < 0) missing.push({ loc: ['body', 'file'], ...MISSING });
    if (wakeWordTooLong) {
      missing.push({
        loc: ['body', 'wake_word'],
        msg: 'String should have at most 1024 bytes',
        type: 'string_too_long',
      });
    } else if (wakeWord === null) {
      missing.push({ loc: ['body', 'wake_word'], ...MISSING });
    } else if (findRejectedText(wakeWord)) {
      missing.push({
        loc: ['body', 'wake_word'],
        msg: PG_REJECTED_MESSAGE,
        type: 'string_invalid_character',
      });
    }
    if (language !== null && findRejectedText(language)) {
      missing.push({ loc: ['body', 'language'], msg: PG_REJECTED_MESSAGE, type: 'string_invalid_character' });
    }
    let take: number | null = null;
    if (takeRaw !== null) {
      const t = takeRaw.trim();
      take = /^\d{1,3}$/.test(t) ? Number(t) : Number.NaN;
      if (!(take >= 1 && take <= 100)) {
        missing.push({
          loc: ['body', 'take'],
          msg: 'Input should be a whole number from 1 to 100 (the take number shown to the user)',
          type: 'int_parsing',
        });
      }
    }
    if (missing.length > 0) throw new HttpError(422, missing);
    return { file: await readFile(tmp), wakeWord, take, language };
  } finally {
    await rm(tmp, { force: true });
  }
}
