/**
 * Clip-score metrics of engine.md §8.3 and the grade of §8.5, used by the pipeline's evaluation until the trainer's
 * `src/eval` module lands (same definitions).
 */

export function dPrime(pos: number[], neg: number[]): number {
  const mean = (a: number[]) => a.reduce((s, v) => s + v, 0) / a.length;
  const pvar = (a: number[], m: number) => a.reduce((s, v) => s + (v - m) * (v - m), 0) / a.length;
  const mp = mean(pos);
  const mn = mean(neg);
  const den = Math.sqrt((pvar(pos, mp) + pvar(neg, mn)) / 2);
  return den < 1e-10 ? 0 : (mp - mn) / den;
}

/** Mann–Whitney probability that a positive outscores a negative, ties ½. */
export function rocAuc(pos: number[], neg: number[]): number {
  const all = [...pos.map((v) => [v, 1] as const), ...neg.map((v) => [v, 0] as const)].sort((a, b) => a[0] - b[0]);
  let rankSumPos = 0;
  for (let i = 0; i < all.length; ) {
    let j = i;
    while (j < all.length && all[j]?.[0] === all[i]?.[0]) j++;
    const avgRank = (i + 1 + j) / 2;
    for (let k = i; k < j; k++) if (all[k]?.[1] === 1) rankSumPos += avgRank;
    i = j;
  }
  return (rankSumPos - (pos.length * (pos.length + 1)) / 2) / (pos.length * neg.length);
}

/** Equal error rate, linearly interpolated between adjacent ROC points. */
export function eer(pos: number[], neg: number[]): number {
  const ts = [...new Set([...pos, ...neg])].sort((a, b) => b - a);
  // ROC points from the highest threshold down: (far, frr)
  const pts: [number, number][] = [[0, 1]];
  for (const t of ts) {
    const far = neg.filter((v) => v >= t).length / neg.length;
    const frr = pos.filter((v) => v < t).length / pos.length;
    pts.push([far, frr]);
  }
  for (let i = 1; i < pts.length; i++) {
    const [a0, r0] = pts[i - 1] as [number, number];
    const [a1, r1] = pts[i] as [number, number];
    const d0 = r0 - a0;
    const d1 = r1 - a1;
    if (d0 >= 0 && d1 <= 0) {
      if (d0 === d1) return (a0 + r0) / 2;
      const f = d0 / (d0 - d1);
      return a0 + f * (a1 - a0);
    }
  }
  return 0.5;
}

export function qualityGrade(missRate: number, dPrimeValue: number): 'A' | 'B' | 'C' | 'D' | 'F' {
  if (missRate <= 0.03 && dPrimeValue >= 5.0) return 'A';
  if (missRate <= 0.07 && dPrimeValue >= 3.5) return 'B';
  if (missRate <= 0.15 && dPrimeValue >= 2.5) return 'C';
  if (missRate <= 0.3 && dPrimeValue >= 1.5) return 'D';
  return 'F';
}
