import { UsageError } from './args.ts';

export async function runBank(_argv: string[]): Promise<number> {
  throw new UsageError('violawake bank is not available yet in this build');
}
