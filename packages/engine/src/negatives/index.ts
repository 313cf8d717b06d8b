export * from './confusables.ts';
export * from './cut.ts';
export * from './mix.ts';
export * from './music.ts';
export * from './noise.ts';
export * from './phonemes.ts';
export * from './sentences.ts';
export * from './user-voice.ts';
