/**
 * POST /api/billing/webhook (auth STR): the body is read raw (≤ 1 MiB, any content type) so the signature is
 * checked over the exact bytes Stripe signed, then parsed (webhook.ts).
 */
import type { FastifyInstance } from 'fastify';
import type { AppContext } from '../core/context.ts';
import { HttpError } from '../core/http/errors.ts';
import { handleWebhook } from './webhook.ts';

/** docs/api.md §1.1: the Stripe webhook body is read raw, at most 1 MiB. */
const WEBHOOK_BODY_LIMIT = 1024 * 1024;

export async function registerWebhook(app: FastifyInstance, ctx: AppContext): Promise<void> {
  // Encapsulated: the raw-body parser applies to this route only.
  await app.register(async (scope) => {
    scope.removeAllContentTypeParsers();
    scope.addContentTypeParser(
      '*',
      { parseAs: 'buffer', bodyLimit: WEBHOOK_BODY_LIMIT },
      (_req, body, done) => done(null, body),
    );
    scope.post(
      '/billing/webhook',
      { schema: { summary: 'Stripe webhook (Stripe-Signature over the raw body)', tags: ['billing'] } },
      async (request, reply) => {
        const header = request.headers['stripe-signature'];
        const signature = Array.isArray(header) ? header[0] : header;
        const body = Buffer.isBuffer(request.body) ? request.body : Buffer.alloc(0);
        // The metric's type label is the verified event type only ("unverified" before that).
        const meta = { type: 'unverified' };
        try {
          const result = await handleWebhook(ctx, body, signature, meta);
          ctx.metrics.stripeWebhookEvents.inc({ type: meta.type, result });
          return reply.code(200).send({ status: 'ok' });
        } catch (err) {
          const result =
            err instanceof HttpError && err.statusCode < 500
              ? 'rejected'
              : err instanceof HttpError
                ? 'unavailable'
                : 'error';
          ctx.metrics.stripeWebhookEvents.inc({ type: meta.type, result });
          if (!(err instanceof HttpError))
            request.log.error(
              { err, event_type: meta.type },
              'Stripe webhook processing failed; rolled back',
            );
          throw err;
        }
      },
    );
  });
}
