import path from 'node:path';
import { fileURLToPath } from 'node:url';

/** Repository root and shared data, for tests. */
export const REPO_ROOT = fileURLToPath(new URL('../../../../', import.meta.url));
export const SHARED_DATA = path.resolve(REPO_ROOT, '../shared/data/picovoice-dev');
export const SERVER_BIN = path.join(REPO_ROOT, 'apps/server/bin/violawake.mjs');
