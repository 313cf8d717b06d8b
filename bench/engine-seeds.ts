/**
 * `npm run bench:engine:seeds -- [--seeds 1-5] [engine benchmark options]`: the engine benchmark once per training
 * seed, and one table of how much each word moves with the training draw.
 *
 * Runs `violawake bench --training-seed N --out bench/.cache/seeds/seed-N <options>` for each seed in turn (one at a
 * time: each run's job wall times are part of its figures; the stream, bank and test positives are built once and
 * cached), then writes bench/results/engine-seeds.md and engine-seeds.json: per word and model the miss rate at 0.5
 * and 0.1 FA/h with every seed and their mean, the kept architecture, grade and wall time of each job, and with how
 * many seeds each word meets the per-word targets (≤ 5 % at 0.5 FA/h; not worse than openWakeWord at both rates).
 * `--seeds` takes a range (`1-5`) or a list (`1,3,7`); every other option goes to `violawake bench` unchanged.
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import type { HeadReport, Report } from '../packages/engine/src/cli/bench.ts';

const ROOT = fileURLToPath(new URL('..', import.meta.url));

/** The fields of one `violawake bench` result row that the summary reads. */
export type BenchRow = Pick<
  HeadReport,
  'word' | 'model' | 'kind' | 'miss_at_0_5' | 'miss_at_0_1' | 'train_seconds' | 'grade' | 'architecture'
>;

/** The fields of one `violawake bench` report (engine.json) that the summary reads. */
export interface BenchReport {
  machine: Pick<Report['machine'], 'cpu' | 'cores'>;
  seeds: { corpus: number; training: number };
  options: Report['options'];
  results: BenchRow[];
}

export interface SeedCell {
  seed: number;
  miss_at_0_5: number;
  miss_at_0_1: number;
  architecture: string | null;
  grade: string | null;
  train_seconds: number | null;
}

export interface SeedsRow {
  word: string;
  model: string;
  kind: BenchRow['kind'];
  per_seed: SeedCell[];
  mean_0_5: number;
  mean_0_1: number;
}

export interface SeedsSummary {
  seeds: number[];
  rows: SeedsRow[];
  /** per word trained by us: with how many seeds it meets each per-word target */
  targets: {
    word: string;
    seeds_at_most_5_percent: number;
    seeds_not_worse_than_openwakeword: number | null;
    max_train_seconds: number | null;
  }[];
}

/** `1-5` → [1, 2, 3, 4, 5]; `1,3,7` → [1, 3, 7]. */
export function parseSeeds(spec: string): number[] {
  const range = /^(\d+)-(\d+)$/.exec(spec.trim());
  const seeds = range
    ? Array.from({ length: Number(range[2]) - Number(range[1]) + 1 }, (_, i) => Number(range[1]) + i)
    : spec.split(',').map((s) => (/^\d+$/.test(s.trim()) ? Number(s.trim()) : Number.NaN));
  if (seeds.length === 0 || seeds.some((s) => !Number.isInteger(s)))
    throw new Error(`--seeds must be a range like 1-5 or a list like 1,3,7 (got "${spec}")`);
  return [...new Set(seeds)];
}

const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;

/** One row per word and model over the reports (one report per training seed, in seed order). */
export function summarizeSeeds(reports: BenchReport[]): SeedsSummary {
  const seeds = reports.map((r) => r.seeds.training);
  const rows: SeedsRow[] = [];
  for (const [i, report] of reports.entries()) {
    for (const r of report.results) {
      let row = rows.find((x) => x.word === r.word && x.model === r.model);
      if (!row) {
        row = { word: r.word, model: r.model, kind: r.kind, per_seed: [], mean_0_5: 0, mean_0_1: 0 };
        rows.push(row);
      }
      row.per_seed.push({
        seed: seeds[i] as number,
        miss_at_0_5: r.miss_at_0_5,
        miss_at_0_1: r.miss_at_0_1,
        architecture: r.architecture,
        grade: r.grade,
        train_seconds: r.train_seconds,
      });
    }
  }
  for (const row of rows) {
    row.mean_0_5 = mean(row.per_seed.map((c) => c.miss_at_0_5));
    row.mean_0_1 = mean(row.per_seed.map((c) => c.miss_at_0_1));
  }
  const ours = rows.filter((r) => r.kind === 'violawake');
  const targets = ours.map((row) => {
    const baseline = rows.find((r) => r.word === row.word && r.kind === 'openwakeword');
    const notWorse = baseline
      ? row.per_seed.filter((c) => {
          const b = baseline.per_seed.find((x) => x.seed === c.seed);
          return !!b && c.miss_at_0_5 <= b.miss_at_0_5 && c.miss_at_0_1 <= b.miss_at_0_1;
        }).length
      : null;
    const times = row.per_seed.map((c) => c.train_seconds).filter((t): t is number => t !== null);
    return {
      word: row.word,
      seeds_at_most_5_percent: row.per_seed.filter((c) => c.miss_at_0_5 <= 0.05).length,
      seeds_not_worse_than_openwakeword: notWorse,
      max_train_seconds: times.length > 0 ? Math.max(...times) : null,
    };
  });
  return { seeds, rows, targets };
}

const pct = (v: number) => `${(v * 100).toFixed(1)} %`;

export function renderSeedsMarkdown(s: SeedsSummary, first: BenchReport): string {
  const head = (cols: string[]) => `| ${cols.join(' | ')} |\n| ${cols.map(() => '---').join(' | ')} |\n`;
  const seedCols = s.seeds.map((n) => `seed ${n}`);
  let md = '# Engine benchmark over training seeds\n\n';
  md += `Generated ${new Date().toISOString()} on ${first.machine.cpu} × ${first.machine.cores}; `;
  md += `training seeds ${s.seeds.join(', ')}; corpus seed ${first.seeds.corpus}; `;
  md += `options ${JSON.stringify(first.options)}. Each seed's full report: \`bench/.cache/seeds/seed-N/engine.md\`.\n\n`;
  md += 'Miss rate at 0.5 FA/h (at 0.1 FA/h):\n\n';
  md += head(['word', 'model', ...seedCols, 'mean']);
  for (const r of s.rows)
    md += `| ${r.word} | ${r.model} | ${r.per_seed.map((c) => `${pct(c.miss_at_0_5)} (${pct(c.miss_at_0_1)})`).join(' | ')} | ${pct(r.mean_0_5)} (${pct(r.mean_0_1)}) |\n`;
  md += '\nKept architecture, grade and wall time of each job (synthesis included, warm bank):\n\n';
  md += head(['word', ...seedCols]);
  for (const r of s.rows.filter((x) => x.kind === 'violawake'))
    md += `| ${r.word} | ${r.per_seed.map((c) => `${c.architecture ?? '–'} ${c.grade ?? '–'} ${c.train_seconds === null ? '–' : `${c.train_seconds.toFixed(0)} s`}`).join(' | ')} |\n`;
  md += `\nPer-word targets, seeds of ${s.seeds.length} that meet them:\n\n`;
  md += head([
    'word',
    'miss ≤ 5 % at 0.5 FA/h',
    'not worse than openWakeWord (0.5 and 0.1 FA/h)',
    'longest job',
  ]);
  for (const t of s.targets)
    md += `| ${t.word} | ${t.seeds_at_most_5_percent} | ${t.seeds_not_worse_than_openwakeword ?? '–'} | ${t.max_train_seconds === null ? '–' : `${t.max_train_seconds.toFixed(0)} s`} |\n`;
  return md;
}

function main(argv: string[]): number {
  let seeds = [1, 2, 3, 4, 5];
  const pass: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i] as string;
    if (a === '--seeds') seeds = parseSeeds(argv[++i] ?? '');
    else if (a.startsWith('--seeds=')) seeds = parseSeeds(a.slice('--seeds='.length));
    else if (
      a === '--out' ||
      a === '--training-seed' ||
      a.startsWith('--out=') ||
      a.startsWith('--training-seed=')
    )
      throw new Error(`${a.split('=')[0]} is set per seed by this script`);
    else pass.push(a);
  }
  const reports: BenchReport[] = [];
  for (const seed of seeds) {
    const out = path.join(ROOT, 'bench/.cache/seeds', `seed-${seed}`);
    mkdirSync(out, { recursive: true });
    console.log(`[seeds] training seed ${seed}: violawake bench ${pass.join(' ')}`);
    const r = spawnSync(
      process.execPath,
      [
        path.join(ROOT, 'apps/server/bin/violawake.mjs'),
        'bench',
        ...pass,
        '--training-seed',
        String(seed),
        '--out',
        out,
      ],
      { cwd: ROOT, stdio: 'inherit' },
    );
    if (r.status !== 0) {
      console.error(`[seeds] the benchmark with training seed ${seed} exited with ${r.status}`);
      return r.status ?? 1;
    }
    const file = pass.includes('--quick') ? 'engine.quick.json' : 'engine.json';
    reports.push(JSON.parse(readFileSync(path.join(out, file), 'utf8')) as BenchReport);
  }
  const summary = summarizeSeeds(reports);
  const results = path.join(ROOT, 'bench/results');
  mkdirSync(results, { recursive: true });
  writeFileSync(path.join(results, 'engine-seeds.json'), `${JSON.stringify(summary, null, 2)}\n`);
  writeFileSync(
    path.join(results, 'engine-seeds.md'),
    renderSeedsMarkdown(summary, reports[0] as BenchReport),
  );
  console.log('[seeds] wrote bench/results/engine-seeds.md and engine-seeds.json');
  return 0;
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href)
  process.exit(main(process.argv.slice(2)));
