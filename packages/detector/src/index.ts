export * from './errors.ts';
export * from './pcm.ts';
export * from './resample.ts';
