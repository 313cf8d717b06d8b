export * from './bundle.ts';
export * from './manifest.ts';
export * from './readme.ts';
export * from './snippets.ts';
