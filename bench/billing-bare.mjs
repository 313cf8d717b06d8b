// The reference server of `npm run bench:billing`: a bare Fastify endpoint that reads the raw body and verifies the
// Stripe signature with the same SDK call and tolerance as the real webhook, then answers 200. No database.
import Fastify from 'fastify';
import Stripe from 'stripe';

const secret = process.env.BARE_WEBHOOK_SECRET;
const port = Number(process.env.BARE_PORT);
const app = Fastify({ logger: false });
app.removeAllContentTypeParsers();
app.addContentTypeParser('*', { parseAs: 'buffer', bodyLimit: 1024 * 1024 }, (_req, body, done) =>
  done(null, body),
);
app.post('/api/billing/webhook', async (request, reply) => {
  try {
    Stripe.webhooks.constructEvent(request.body, request.headers['stripe-signature'], secret, 300);
  } catch {
    return reply.code(400).send({ detail: 'Invalid webhook signature.' });
  }
  return { status: 'ok' };
});
app.get('/api/health/ready', async () => ({ status: 'ok' }));
await app.listen({ port, host: '127.0.0.1' });
process.on('SIGTERM', () => app.close().then(() => process.exit(0)));
