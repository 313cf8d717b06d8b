/** Engine version: written into ONNX files (producer_version) and manifests (engine_version). */
export const ENGINE_VERSION = '0.1.0';
