/**
 * Losses on logits (docs/engine.md §7.2). Both are numerically stable for any logit and accept soft targets (label
 * smoothing) and per-example weights. The returned loss is Σ wᵢ·ℓᵢ / Σ wᵢ; `grad` receives dL/dzᵢ.
 */
import type { FloatArray } from './gemm.ts';

export type LossKind = 'bce' | 'focal';
export const FOCAL_GAMMA = 2;

/** log(1 + e^x) without overflow. */
export function softplus(x: number): number {
  return x > 0 ? x + Math.log1p(Math.exp(-x)) : Math.log1p(Math.exp(x));
}

export function sigmoid(x: number): number {
  if (x >= 0) return 1 / (1 + Math.exp(-x));
  const e = Math.exp(x);
  return e / (1 + e);
}

/** Smoothed target: y·(1 − ε) + ε/2. */
export function smoothTarget(label: number, smoothing: number): number {
  return label * (1 - smoothing) + smoothing / 2;
}

/**
 * Weighted loss over n logits. `targets` are (possibly smoothed) probabilities in [0, 1]; `weights` may be null
 * (all 1). Writes dL/dz into `grad` when given and returns the loss.
 */
export function lossWithLogits(
  kind: LossKind,
  logits: ArrayLike<number>,
  targets: ArrayLike<number>,
  weights: ArrayLike<number> | null,
  n: number,
  grad: FloatArray | null,
): number {
  let wsum = 0;
  for (let i = 0; i < n; i++) wsum += weights ? weights[i] : 1;
  if (wsum <= 0) return 0;
  let total = 0;
  for (let i = 0; i < n; i++) {
    const z = logits[i];
    const y = targets[i];
    const w = weights ? weights[i] : 1;
    let l: number;
    let d: number;
    if (kind === 'bce') {
      // ℓ = −y·log σ(z) − (1 − y)·log(1 − σ(z)) = softplus(z) − y·z
      l = softplus(z) - y * z;
      d = sigmoid(z) - y;
    } else {
      // ℓ = −y·(1 − p)^γ·log p − (1 − y)·p^γ·log(1 − p), γ = 2
      const p = sigmoid(z);
      const q = 1 - p;
      const logP = -softplus(-z);
      const logQ = -softplus(z);
      const qg = q * q;
      const pg = p * p;
      l = -y * qg * logP - (1 - y) * pg * logQ;
      // d/dz[(1−p)^γ log p] = (1−p)^γ[(1−p) − γ p log p];  d/dz[p^γ log(1−p)] = p^γ[γ(1−p) log(1−p) − p]
      d = -y * qg * (q - FOCAL_GAMMA * p * logP) - (1 - y) * pg * (FOCAL_GAMMA * q * logQ - p);
    }
    total += w * l;
    if (grad) grad[i] = (w * d) / wsum;
  }
  return total / wsum;
}
