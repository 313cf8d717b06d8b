export * from './noise.ts';
export * from './music.ts';
export * from './sentences.ts';
export * from './phonemes.ts';
export * from './confusables.ts';
export * from './mix.ts';
