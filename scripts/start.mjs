#!/usr/bin/env node
// `npm start`: build the web console once if it has not been built, then run `violawake serve`.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
if (!existsSync(new URL('../apps/web/dist/index.html', import.meta.url))) {
  console.error('Building the web console (first start only)...');
  const r = spawnSync('npm', ['run', 'build', '-w', 'apps/web'], { cwd: root, stdio: 'inherit' });
  if (r.status !== 0) console.error('Web console build failed; starting the API without it.');
}
process.argv.splice(2, process.argv.length, 'serve', ...process.argv.slice(2));
await import('../apps/server/bin/violawake.mjs').catch((err) => {
  console.error(err);
  process.exit(1);
});
