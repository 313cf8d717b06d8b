/**
 * The web client's API types are generated from the server's OpenAPI document (scripts/gen-api-types.ts). This
 * test regenerates them from the real server and fails when the checked-in `apps/web/src/api/generated.ts`
 * differs, so a server change that would break the web fails the suite (fix: `npm run gen:api-types`, then
 * `npm run typecheck`). The type assertions below are checked by `npm run typecheck` (tsc -p apps/web).
 */
import { readFileSync } from 'node:fs';
import { describe, expect, expectTypeOf, it } from 'vitest';
import { GENERATED_PATH, generateApiTypes, readOpenApiDocument } from '../../../scripts/gen-api-types.ts';
import type {
  InvitationRole,
  JobResponse,
  ModelConfig,
  PlanInfo,
  Stage,
  TeamRole,
  Tier,
  TrainingStatusValue,
  UploadResponse,
} from '../src/api/types.ts';

/** The first line where two texts differ, with a little context, for a readable failure. */
function firstDifference(a: string, b: string): string | null {
  const x = a.split('\n');
  const y = b.split('\n');
  for (let i = 0; i < Math.max(x.length, y.length); i++) {
    if (x[i] !== y[i]) {
      return `line ${i + 1}: checked in ${JSON.stringify(x[i] ?? '<end of file>')}, generated ${JSON.stringify(y[i] ?? '<end of file>')}`;
    }
  }
  return null;
}

describe('generated API types', () => {
  it('match the server’s OpenAPI document (run `npm run gen:api-types` when this fails)', async () => {
    const doc = await readOpenApiDocument();
    expect(Object.keys(doc.paths as object).length).toBeGreaterThan(40);
    const generated = await generateApiTypes(doc);
    const checkedIn = readFileSync(GENERATED_PATH, 'utf8');
    expect(firstDifference(checkedIn, generated), 'apps/web/src/api/generated.ts is out of date').toBeNull();
    // the same document always gives the same text (the check above would otherwise be flaky)
    expect(await generateApiTypes(doc)).toBe(generated);
  }, 240_000);

  it('carry the server’s vocabularies (checked by tsc)', () => {
    // an invitation is never for the owner role: ownership is transferred (the web once allowed `owner` here)
    expectTypeOf<InvitationRole>().toEqualTypeOf<'admin' | 'member'>();
    expectTypeOf<TeamRole>().toEqualTypeOf<'owner' | 'admin' | 'member'>();
    expectTypeOf<Tier>().toEqualTypeOf<'free' | 'developer' | 'business' | 'enterprise'>();
    expectTypeOf<PlanInfo['tier']>().toEqualTypeOf<Tier>();
    expectTypeOf<TrainingStatusValue>().toEqualTypeOf<
      'queued' | 'running' | 'completed' | 'failed' | 'cancelled'
    >();
    expectTypeOf<JobResponse['status']>().toEqualTypeOf<
      'pending' | 'running' | 'completed' | 'failed' | 'cancelled'
    >();
    expectTypeOf<Stage>().toEqualTypeOf<
      | 'queued'
      | 'preparing'
      | 'synthesizing'
      | 'extracting'
      | 'training'
      | 'evaluating'
      | 'exporting'
      | 'done'
    >();
    expectTypeOf<JobResponse['stage']>().toEqualTypeOf<Stage>();
    expectTypeOf<UploadResponse['take_number']>().toEqualTypeOf<number | null>();
    expectTypeOf<NonNullable<ModelConfig['training_config']['threshold']>>().toEqualTypeOf<number>();
  });
});
