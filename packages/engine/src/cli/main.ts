/**
 * Stand-alone entry for the engine commands (`tsx packages/engine/src/cli/main.ts <cmd> …`), used by tests and
 * scripts; the server's `violawake` command (`apps/server/src/cli.ts`) dispatches to the same `runEngineCommand`.
 */
import { runEngineCommand } from './index.ts';

const [cmd = '', ...rest] = process.argv.slice(2);
const code = await runEngineCommand(cmd, rest);
process.exitCode = code;
