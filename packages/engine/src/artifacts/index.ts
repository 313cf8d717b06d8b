export * from './manifest.ts';
export * from './bundle.ts';
export * from './readme.ts';
