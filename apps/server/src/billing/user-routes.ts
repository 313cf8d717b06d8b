/**
 * The signed-in user's billing routes (docs/api.md §2.7): checkout, portal, subscription, usage. All `VER`; checkout and
 * portal are limited to 10/hour per user (the limiter runs after authentication, before body validation).
 */
import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { authUser, requireVerified } from '../auth/guard.ts';
import type { AppContext } from '../core/context.ts';
import { TIERS } from '../core/db/schema.ts';
import { rateLimit } from '../core/http/rate-limit.ts';
import { plansView, quotaPolicy } from './plans.ts';
import { usageFor } from './quota.ts';
import { createCheckout, createPortal, subscriptionView } from './service.ts';

const TAGS = ['billing'];
const BEARER = [{ bearer: [] }];
const HOUR = 3600;

const Usage = z.object({
  models_used: z.number().int(),
  models_limit: z.number().int().nullable().describe('monthly trainings allowed; null = unlimited'),
  models_remaining: z
    .number()
    .int()
    .nullable()
    .describe('trainings left this month; null = unlimited, 0 = none left (or a limit of 0)'),
  period_start: z.string(),
  period_end: z.string(),
});
const Subscription = z.object({
  tier: z.enum(TIERS),
  effective_tier: z.enum(TIERS),
  status: z.enum(['active', 'past_due', 'canceled']),
  stripe_status: z.string(),
  current_period_end: z.string().nullable(),
  trial_active: z.boolean(),
  trial_end: z.string().nullable(),
  cancel_at_period_end: z.boolean(),
  usage: Usage,
});

const Plan = z.object({
  tier: z.enum(TIERS),
  name: z.string(),
  trainings_per_month: z.number().int().nullable().describe('null = unlimited'),
  priority: z.number().int().describe('queue priority (higher is dispatched first)'),
  max_active_jobs: z.number().int().describe('queued + running jobs one user may have at a time'),
  max_epochs: z.number().int().describe('highest `epochs` a job of this plan may ask for'),
  max_recordings: z.number().int().describe('most recordings a job of this plan may train from'),
  purchasable: z.boolean().describe('Checkout sells it on this server'),
});
const Plans = z
  .object({
    billing_enabled: z
      .boolean()
      .describe('false: no payments on this server (no Stripe key); the administrator sets plans'),
    plans: Plan.array(),
  })
  .describe('Plans');

export async function registerUserRoutes(root: FastifyInstance, ctx: AppContext): Promise<void> {
  const app = root.withTypeProvider<ZodTypeProvider>();
  const verified = requireVerified(ctx);
  const limit = (bucket: string) => rateLimit(ctx, { bucket, limit: 10, windowSeconds: HOUR, key: 'user' });

  app.post(
    '/billing/checkout',
    {
      preValidation: [verified, limit('billing-checkout')],
      schema: {
        tags: TAGS,
        summary: 'Start a Stripe Checkout for a paid tier',
        security: BEARER,
        body: z.object({ tier: z.enum(['developer', 'business']) }),
        response: { 200: z.object({ checkout_url: z.string() }) },
      },
    },
    async (request) => {
      const user = authUser(request);
      return createCheckout(ctx, { id: user.id, email: user.email }, request.body.tier);
    },
  );

  app.post(
    '/billing/portal',
    {
      preValidation: [verified, limit('billing-portal')],
      schema: {
        tags: TAGS,
        summary: 'Open the Stripe billing portal',
        security: BEARER,
        response: { 200: z.object({ url: z.string() }) },
      },
    },
    async (request) => createPortal(ctx, authUser(request).id),
  );

  app.get(
    '/billing/subscription',
    {
      preValidation: [verified],
      schema: {
        tags: TAGS,
        summary: 'The caller’s subscription (from the database)',
        security: BEARER,
        response: { 200: Subscription },
      },
    },
    async (request) => subscriptionView(ctx, authUser(request).id),
  );

  app.get(
    '/billing/plans',
    {
      schema: {
        tags: TAGS,
        summary: 'The plans of this server: limits, queue caps, whether billing is on (public)',
        response: { 200: Plans },
      },
    },
    async () => plansView(ctx.config),
  );

  app.get(
    '/billing/usage',
    {
      preValidation: [verified],
      schema: {
        tags: TAGS,
        summary: 'Trainings used this UTC month',
        security: BEARER,
        response: { 200: Usage },
      },
    },
    async (request) => usageFor(ctx.db, authUser(request).id, ctx.clock.now(), quotaPolicy(ctx.config)),
  );
}
