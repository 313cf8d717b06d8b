/** SHA-256 through WebCrypto (Node 20 and browsers); no Node built-ins. */
import { PINNED, type PinnedFile } from './constants.ts';
import { DetectorError, FrontendMismatchError } from './errors.ts';

export async function sha256Hex(bytes: Uint8Array): Promise<string> {
  const subtle = globalThis.crypto?.subtle;
  if (!subtle) throw new DetectorError('WebCrypto (globalThis.crypto.subtle) is not available to hash models');
  const digest = await subtle.digest('SHA-256', bytes as Uint8Array<ArrayBuffer>);
  const b = new Uint8Array(digest);
  let hex = '';
  for (let i = 0; i < b.length; i++) hex += b[i].toString(16).padStart(2, '0');
  return hex;
}

/** Throws FrontendMismatchError unless `bytes` hash to the pinned value of `pinned`. */
export async function verifyPinned(bytes: Uint8Array, pinned: PinnedFile): Promise<void> {
  const actual = await sha256Hex(bytes);
  if (actual !== pinned.sha256) throw new FrontendMismatchError(pinned.file, pinned.sha256, actual);
}

/** Verifies both front-end models against their pinned hashes (engine.md §2.1). */
export async function verifyFrontendModels(models: { mel: Uint8Array; embedding: Uint8Array }): Promise<void> {
  await Promise.all([verifyPinned(models.mel, PINNED.mel), verifyPinned(models.embedding, PINNED.embedding)]);
}
