export * from './consistency.ts';
export * from './duplicates.ts';
export * from './floor.ts';
export * from './levels.ts';
export * from './random.ts';
export * from './trim.ts';
export * from './wav.ts';
