export * from './rng.ts';
export * from './version.ts';
export * from './train/types.ts';
export * from './onnx/index.ts';
export * from './train/index.ts';
export * from './eval/metrics.ts';
export * from './eval/errors.ts';
