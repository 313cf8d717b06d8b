// The server for the console's browser tests: exactly `violawake serve` (apps/server/bin/violawake.mjs), under a
// command line of its own so that nothing aimed at other `violawake` processes on this shared machine stops it.
import { register } from 'tsx/esm/api';

register();
const { main } = await import('../../../server/src/cli.ts');
const code = await main(['serve']);
if (code >= 0) process.exitCode = code;
