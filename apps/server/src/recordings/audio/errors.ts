/**
 * Rejections of the upload pipeline (docs/api.md §4.5). `message` is the exact client-facing text; the routes turn an
 * `AudioError` into a 400 with it. Anything else thrown while decoding is a bug in the decoder and is mapped to the
 * generic decode message by the pipeline, never to a 500.
 */
export class AudioError extends Error {
  override name = 'AudioError';
  readonly status = 400;
}

export const AUDIO_MESSAGES = {
  empty: 'Empty file',
  unsupported: 'Unsupported audio format. Upload WAV (PCM or float) or WebM/Ogg Opus.',
  wavTooSmall: 'File too small to be a valid WAV',
  wavInvalid: 'Not a valid WAV file',
  wavMalformedFmt: 'Malformed fmt chunk',
  wavBadHeader: 'Invalid WAV header values',
  decodeFailed: 'Could not decode audio',
  silent: 'Recording appears to be silent. Please check your microphone and try again.',
} as const;

export function unsupportedWavFormat(tag: number): AudioError {
  return new AudioError(`Unsupported WAV format (${tag}). Use PCM or IEEE float.`);
}

export function tooShort(seconds: number): AudioError {
  return new AudioError(`Recording too short (${seconds.toFixed(2)}s). Minimum is 0.5s.`);
}

export function tooLong(seconds: number): AudioError {
  return new AudioError(`Recording too long (${seconds.toFixed(2)}s). Maximum is 5.0s.`);
}
