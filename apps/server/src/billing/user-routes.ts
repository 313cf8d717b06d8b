/**
 * The signed-in user's billing routes (docs/api.md §2.7): checkout, portal, subscription, usage. All `VER`; checkout and
 * portal are limited to 10/hour per user (the limiter runs after authentication, before body validation).
 */
import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { authUser, requireVerified } from '../auth/guard.ts';
import type { AppContext } from '../core/context.ts';
import { rateLimit } from '../core/http/rate-limit.ts';
import { plansView, quotaPolicy } from './plans.ts';
import { usageFor } from './quota.ts';
import { CheckoutBody, CheckoutOut, Plans, PortalOut, Subscription, Usage } from './schemas.ts';
import { createCheckout, createPortal, subscriptionView } from './service.ts';

const TAGS = ['billing'];
const BEARER = [{ bearer: [] }];
const HOUR = 3600;

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
        body: CheckoutBody,
        response: { 200: CheckoutOut },
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
        response: { 200: PortalOut },
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
