import { UsageError } from './args.ts';

export async function runTrain(_argv: string[]): Promise<number> {
  throw new UsageError('violawake train is not available yet in this build');
}
