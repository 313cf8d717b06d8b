export * from './rng.ts';
export * from './version.ts';
export * from './train/types.ts';
export * from './onnx/index.ts';
