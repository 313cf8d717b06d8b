/**
 * Trainer speed probe: `npx tsx packages/engine/src/train/speed.ts [windows=20000]`.
 * Builds a synthetic window set of the pipeline's typical size (canvases of 19 rows with 4 windows each, plus a
 * bank stream), then (1) trains each candidate alone in this thread and reports CPU seconds, GFLOP/s and seconds
 * per epoch, (2) runs `trainHead` for one architecture in one worker and data-parallel on two, and (3) with both
 * candidates in worker threads, reporting wall times.
 * The numbers in the engine README come from this script.
 */
import { EMBEDDING_DIM } from '../nn/network.ts';
import { deriveRng } from '../rng.ts';
import { trainCandidate } from './candidate.ts';
import { splitWindows } from './data.ts';
import { lastTrainStats, trainHead } from './index.ts';
import { POOL_BANK_NEGATIVE, POOL_POSITIVE, POOL_WORD_NEGATIVE, type WindowSet } from './types.ts';

function syntheticSet(windows: number, seed: number): WindowSet {
  const rng = deriveRng(seed, 'speed', 0);
  const canvases = Math.round((windows * 0.35) / 4);
  const bankWindows = windows - canvases * 4;
  const rows = canvases * 19 + bankWindows + 15;
  const emb = new Float32Array(new SharedArrayBuffer(rows * EMBEDDING_DIM * 4));
  for (let i = 0; i < emb.length; i++) emb[i] = rng.normal();
  const pattern = Float32Array.from({ length: EMBEDDING_DIM * 4 }, () => rng.normal());
  const starts: number[] = [];
  const labels: number[] = [];
  const pools: number[] = [];
  const groups: number[] = [];
  const kinds: number[] = [];
  for (let c = 0; c < canvases; c++) {
    const pos = c % 5 < 3;
    const base = c * 19;
    if (pos)
      for (let j = 0; j < pattern.length; j++)
        emb[(base + 11 + rng.int(3)) * EMBEDDING_DIM + (j % 384)] += 0.5 * pattern[j];
    for (let w = 0; w < 4; w++) {
      starts.push(base + w);
      labels.push(pos ? 1 : 0);
      pools.push(pos ? POOL_POSITIVE : POOL_WORD_NEGATIVE);
      groups.push(c);
      kinds.push(pos ? c % 2 : 2);
    }
  }
  for (let w = 0; w < bankWindows; w++) {
    starts.push(canvases * 19 + w);
    labels.push(0);
    pools.push(POOL_BANK_NEGATIVE);
    groups.push(canvases + Math.floor(w / 375));
    kinds.push(4 + (Math.floor(w / 375) % 4));
  }
  return {
    embeddings: emb,
    starts: Int32Array.from(starts),
    labels: Uint8Array.from(labels),
    pools: Uint8Array.from(pools),
    groups: Int32Array.from(groups),
    kinds: Uint8Array.from(kinds),
  };
}

async function main(): Promise<void> {
  const n = Number(process.argv[2] ?? 20000);
  const data = syntheticSet(n, 1);
  const split = splitWindows(data, 1);
  console.log(`windows ${data.starts.length} (train ${split.train.length}, validation ${split.val.length})`);
  for (const arch of ['mlp', 'tcn'] as const) {
    const c0 = process.cpuUsage();
    const r = trainCandidate(data, split, { arch, seed: 1 });
    const cu = process.cpuUsage(c0);
    const cpu = (cu.user + cu.system) / 1e6;
    console.log(
      `${arch}: ${r.epochs} epochs (best ${r.bestEpoch}), wall ${r.seconds.toFixed(2)} s, CPU ${cpu.toFixed(2)} s, ` +
        `${((2 * r.macs) / cpu / 1e9).toFixed(2)} GFLOP/s, ${(r.seconds / r.epochs).toFixed(3)} s/epoch, ` +
        `val pAUC ${r.valPauc.toFixed(4)}`,
    );
  }
  for (const arch of ['mlp', 'tcn'] as const) {
    const t1 = performance.now();
    await trainHead(data, { arch, seed: 1, threads: 1 });
    const one = (performance.now() - t1) / 1000;
    const t2 = performance.now();
    await trainHead(data, { arch, seed: 1, dataParallel: true });
    const two = (performance.now() - t2) / 1000;
    console.log(
      `trainHead ${arch}: one worker ${one.toFixed(2)} s, data-parallel on two workers ${two.toFixed(2)} s (wall)`,
    );
  }
  const t0 = performance.now();
  const head = await trainHead(data, { arch: 'auto', seed: 1 });
  const wall = (performance.now() - t0) / 1000;
  const stats = lastTrainStats();
  console.log(
    `trainHead auto, 2 worker threads: wall ${wall.toFixed(2)} s, winner ${head.arch}; ` +
      (stats?.candidates.map((c) => `${c.arch} ${c.epochs} epochs in ${c.seconds.toFixed(2)} s`).join(', ') ??
        ''),
  );
}

main().catch((e) => {
  console.error(e);
  process.exitCode = 1;
});
