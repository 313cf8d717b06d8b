/**
 * Exit codes and input errors of the engine commands, in a module of their own so that the commands and the
 * dispatcher (`index.ts`) import it without importing each other.
 * Exit codes: 0 success; 1 usage error; 2 unreadable or invalid input; 3 grade F.
 */
export const EXIT_OK = 0;
export const EXIT_USAGE = 1;
export const EXIT_INPUT = 2;
export const EXIT_GRADE_F = 3;

/** Input the command cannot use (missing file, bad WAV, bad model): exit code 2. */
export class InputError extends Error {
  override name = 'InputError';
}
