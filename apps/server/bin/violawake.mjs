#!/usr/bin/env node
// The `violawake` command: runs the TypeScript sources through tsx (nothing to compile first).
import { register } from 'tsx/esm/api';

register();
const { main } = await import('../src/cli.ts');
const code = await main(process.argv.slice(2));
if (code >= 0) process.exitCode = code;
