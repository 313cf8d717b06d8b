export * from './noise.ts';
export * from './music.ts';
