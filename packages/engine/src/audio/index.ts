export * from './wav.ts';
export * from './levels.ts';
export * from './floor.ts';
export * from './trim.ts';
export * from './random.ts';
export * from './consistency.ts';
