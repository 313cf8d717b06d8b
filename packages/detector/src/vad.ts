/**
 * Optional VAD gate (docs/engine.md §5 rule 4): silero VAD (v4 interface: input, sr int64, h, c → output, hn, cn) on
 * 512-sample frames at 16 kHz with its recurrent state. The detector asks for the maximum speech probability
 * over the last 1.0 s at each step end.
 */
import { SAMPLE_RATE } from './constants.ts';
import { DisposedError, ModelShapeError } from './errors.ts';
import {
  asOrt,
  createSession,
  formatShape,
  ioMetadata,
  type OrtModule,
  type OrtSession,
  type OrtTensor,
  tensorData,
} from './ort.ts';

export const VAD_FRAME_SAMPLES = 512;
/** History kept for the gate: 1.0 s. */
export const VAD_GATE_SAMPLES = SAMPLE_RATE;
/** Frames of history kept (8.2 s): covers the gate span plus the detector's largest slice (5.12 s). */
const HISTORY = 256;
export const VAD_HISTORY_SAMPLES = HISTORY * VAD_FRAME_SAMPLES;

export interface Vad {
  /** Feeds 16 kHz int16 magnitudes; runs the model on every completed 512-sample frame. */
  pushMagnitudes(magnitudes: Float32Array): Promise<void>;
  /**
   * Max speech probability over frames that ended in (endSample − 16,000, endSample]; 0 when none. Only the last
   * 256 frames (8.2 s) are kept: query each step before pushing more than about 7 s beyond it.
   */
  maxOver(endSample: number, spanSamples?: number): number;
  /** The most recent frame probability (0 before the first frame). */
  readonly last: number;
  reset(): void;
  dispose(): Promise<void>;
}

class VadImpl implements Vad {
  private readonly frame = new Float32Array(VAD_FRAME_SAMPLES);
  private frameLen = 0;
  private samples = 0;
  private h: Float32Array = new Float32Array(2 * 64);
  private c: Float32Array = new Float32Array(2 * 64);
  private readonly inputTensor: OrtTensor;
  private readonly srTensor: OrtTensor;
  private readonly ends = new Float64Array(HISTORY);
  private readonly probs = new Float32Array(HISTORY);
  private count = 0;
  private released = false;
  last = 0;

  constructor(
    private readonly ort: OrtModule,
    private readonly session: OrtSession,
    private readonly names: {
      input: string;
      sr: string;
      h: string;
      c: string;
      out: string;
      hn: string;
      cn: string;
    },
  ) {
    this.inputTensor = new ort.Tensor('float32', this.frame, [1, VAD_FRAME_SAMPLES]);
    this.srTensor = new ort.Tensor('int64', BigInt64Array.from([BigInt(SAMPLE_RATE)]), []);
  }

  reset(): void {
    this.frameLen = 0;
    this.samples = 0;
    this.h = new Float32Array(2 * 64);
    this.c = new Float32Array(2 * 64);
    this.count = 0;
    this.last = 0;
  }

  async pushMagnitudes(x: Float32Array): Promise<void> {
    if (this.released) throw new DisposedError('the VAD');
    let pos = 0;
    while (pos < x.length) {
      const take = Math.min(VAD_FRAME_SAMPLES - this.frameLen, x.length - pos);
      for (let i = 0; i < take; i++) this.frame[this.frameLen + i] = x[pos + i] / 32768;
      this.frameLen += take;
      pos += take;
      this.samples += take;
      if (this.frameLen === VAD_FRAME_SAMPLES) {
        this.frameLen = 0;
        await this.runFrame(this.samples);
      }
    }
  }

  private async runFrame(endSample: number): Promise<void> {
    const T = this.ort.Tensor;
    const n = this.names;
    const res = await this.session.run({
      [n.input]: this.inputTensor,
      [n.sr]: this.srTensor,
      [n.h]: new T('float32', this.h, [2, 1, 64]),
      [n.c]: new T('float32', this.c, [2, 1, 64]),
    });
    const p = tensorData(res[n.out], 'silero_vad.onnx')[0];
    this.h = tensorData(res[n.hn], 'silero_vad.onnx');
    this.c = tensorData(res[n.cn], 'silero_vad.onnx');
    const i = this.count % HISTORY;
    this.ends[i] = endSample;
    this.probs[i] = p;
    this.count++;
    this.last = p;
  }

  maxOver(endSample: number, spanSamples = VAD_GATE_SAMPLES): number {
    let m = 0;
    const n = Math.min(this.count, HISTORY);
    for (let j = 0; j < n; j++) {
      const i = (this.count - 1 - j) % HISTORY;
      const e = this.ends[i];
      if (e <= endSample - spanSamples) break;
      if (e <= endSample && this.probs[i] > m) m = this.probs[i];
    }
    return m;
  }

  async dispose(): Promise<void> {
    if (this.released) return;
    this.released = true;
    await this.session.release();
  }
}

export async function loadVad(
  ort: unknown,
  model: Uint8Array,
  opts: { threads?: number } = {},
): Promise<Vad> {
  const o = asOrt(ort);
  const session = await createSession(o, model, opts.threads, 'silero_vad.onnx');
  try {
    const { inputs, outputs } = ioMetadata(session, 'silero_vad.onnx');
    const byName = (list: typeof inputs, name: string) => list.find((v) => v.name === name);
    const input = byName(inputs, 'input');
    const sr = byName(inputs, 'sr');
    const h = byName(inputs, 'h');
    const c = byName(inputs, 'c');
    if (!input || !sr || sr.type !== 'int64' || !h || !c || outputs.length < 3) {
      throw new ModelShapeError(
        'silero_vad.onnx: expected the v4 interface (inputs input, sr int64, h, c; outputs output, hn, cn), found ' +
          `inputs ${inputs.map((i) => `${i.name} ${formatShape(i.shape)}`).join(', ')}`,
      );
    }
    const names = {
      input: input.name,
      sr: sr.name,
      h: h.name,
      c: c.name,
      out: outputs[0].name,
      hn: outputs.find((x) => x.name === 'hn')?.name ?? outputs[1].name,
      cn: outputs.find((x) => x.name === 'cn')?.name ?? outputs[2].name,
    };
    return new VadImpl(o, session, names);
  } catch (err) {
    await session.release();
    throw err;
  }
}
