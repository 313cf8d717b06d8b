import { UsageError } from './args.ts';

export async function runBench(_argv: string[]): Promise<number> {
  throw new UsageError('violawake bench is not available yet in this build');
}
