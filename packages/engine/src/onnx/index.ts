export { countParams, foldNetwork, HEAD_LAYERS } from './fold.ts';
export { forwardHead } from './forward.ts';
export {
  ALLOWED_OPS,
  decodeOnnx,
  type ExportMeta,
  exportHeadOnnx,
  HEAD_INPUT_NAME,
  HEAD_OUTPUT_NAME,
  headArchitecture,
  headNodes,
  MANIFEST_SCHEMA,
  ONNX_IR_VERSION,
  ONNX_OPSET,
} from './writer.ts';
