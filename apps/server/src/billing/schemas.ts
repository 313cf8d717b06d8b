/**
 * The billing domain's contract (docs/api.md §2.7): request and response schemas given to the routes, and the
 * service types inferred from them.
 */
import { z } from 'zod';
import { TIERS } from '../core/db/schema.ts';

export const Usage = z.object({
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
export const Subscription = z.object({
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

export const Plan = z.object({
  tier: z.enum(TIERS),
  name: z.string(),
  trainings_per_month: z.number().int().nullable().describe('null = unlimited'),
  priority: z.number().int().describe('queue priority (higher is dispatched first)'),
  max_active_jobs: z.number().int().describe('queued + running jobs one user may have at a time'),
  max_epochs: z.number().int().describe('highest `epochs` a job of this plan may ask for'),
  max_recordings: z.number().int().describe('most recordings a job of this plan may train from'),
  purchasable: z.boolean().describe('Checkout sells it on this server'),
});
export const Plans = z
  .object({
    billing_enabled: z
      .boolean()
      .describe('false: no payments on this server (no Stripe key); the administrator sets plans'),
    plans: Plan.array(),
  })
  .describe('Plans');

export const CheckoutBody = z.object({ tier: z.enum(['developer', 'business']) });
export const CheckoutOut = z.object({ checkout_url: z.string() });
export const PortalOut = z.object({ url: z.string() });

export type Usage = z.output<typeof Usage>;
export type SubscriptionOut = z.output<typeof Subscription>;
export type PlanOut = z.output<typeof Plan>;
export type PlansOut = z.output<typeof Plans>;
export type PaidTier = z.output<typeof CheckoutBody>['tier'];
