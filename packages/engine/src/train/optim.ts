/** Optimisation pieces of docs/engine.md §7.3: AdamW, warm-up + cosine schedule, global-norm clipping, EMA of all state. */
import type { FloatArray } from '../nn/gemm.ts';
import type { Param } from '../nn/layers.ts';

export const ADAMW_DEFAULTS = { lr: 2e-3, beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 1e-2 };

export class AdamW {
  private readonly m: Float64Array[];
  private readonly v: Float64Array[];
  private t = 0;

  constructor(
    private readonly params: Param[],
    private readonly cfg = ADAMW_DEFAULTS,
  ) {
    this.m = params.map((p) => new Float64Array(p.data.length));
    this.v = params.map((p) => new Float64Array(p.data.length));
  }

  /** One update with learning rate `lr`; decoupled weight decay only on parameters marked `decay`. */
  step(lr: number): void {
    this.t++;
    const { beta1, beta2, eps, weightDecay } = this.cfg;
    const bc1 = 1 - beta1 ** this.t;
    const bc2 = 1 - beta2 ** this.t;
    for (let k = 0; k < this.params.length; k++) {
      const p = this.params[k];
      const w = p.data;
      const g = p.grad;
      const m = this.m[k];
      const v = this.v[k];
      const decay = p.decay ? 1 - lr * weightDecay : 1;
      for (let i = 0; i < w.length; i++) {
        const gi = g[i];
        const mi = beta1 * m[i] + (1 - beta1) * gi;
        const vi = beta2 * v[i] + (1 - beta2) * gi * gi;
        m[i] = mi;
        v[i] = vi;
        w[i] = w[i] * decay - (lr * (mi / bc1)) / (Math.sqrt(vi / bc2) + eps);
      }
    }
  }
}

/** Scales all gradients so that their global L2 norm is at most maxNorm; returns the norm before clipping. */
export function clipGradNorm(params: Param[], maxNorm: number): number {
  let s = 0;
  for (const p of params) {
    const g = p.grad;
    for (let i = 0; i < g.length; i++) s += g[i] * g[i];
  }
  const norm = Math.sqrt(s);
  if (norm > maxNorm) {
    const f = maxNorm / (norm + 1e-12);
    for (const p of params) {
      const g = p.grad;
      for (let i = 0; i < g.length; i++) g[i] *= f;
    }
  }
  return norm;
}

/** One epoch (warmupSteps) of linear warm-up, then cosine decay to `floor` × peak at totalSteps. */
export function learningRate(
  step: number,
  peak: number,
  warmupSteps: number,
  totalSteps: number,
  floor = 0.05,
): number {
  if (step < warmupSteps) return (peak * (step + 1)) / warmupSteps;
  const span = Math.max(1, totalSteps - warmupSteps);
  const t = Math.min(1, (step - warmupSteps) / span);
  return peak * (floor + (1 - floor) * 0.5 * (1 + Math.cos(Math.PI * t)));
}

/** Exponential moving average of all state arrays, decay min(0.995, (1 + n)/(10 + n)) after step n. */
export class Ema {
  private n = 0;
  constructor(
    private readonly shadow: FloatArray[],
    private readonly maxDecay = 0.995,
  ) {}

  update(state: FloatArray[]): void {
    this.n++;
    const d = Math.min(this.maxDecay, (1 + this.n) / (10 + this.n));
    for (let k = 0; k < state.length; k++) {
      const s = this.shadow[k];
      const x = state[k];
      for (let i = 0; i < s.length; i++) s[i] = d * s[i] + (1 - d) * x[i];
    }
  }
}
