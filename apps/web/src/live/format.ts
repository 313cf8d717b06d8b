/** Two decimals, or four above 0.99 (calibrated thresholds can be 0.995 … 0.9999, docs/engine.md). */
export function formatThreshold(t: number): string {
  return t > 0.99 ? t.toFixed(4) : t.toFixed(2);
}
