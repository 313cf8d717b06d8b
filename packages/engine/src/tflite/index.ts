export { headsFromOnnx, tfliteFromOnnx } from './from-onnx.ts';
export { readTflite, type TfliteInfo } from './reader.ts';
export {
  type ExportableHead,
  exportHeadTflite,
  TFLITE_FILE_IDENTIFIER,
  TFLITE_INPUT_SHAPE,
  TFLITE_OPS,
  TFLITE_OUTPUT_SHAPE,
  TFLITE_SCHEMA_VERSION,
  type TfliteMeta,
} from './writer.ts';
