/**
 * The billing domain (`/api/billing`): this process's Stripe client and the account-deletion step that cancels the
 * subscription at Stripe (docs/api.md §4.15 step 1; it runs before the other domains' steps: a refusal deletes
 * nothing).
 */
import { addAccountCleanup } from '../core/context.ts';
import { API_PREFIX, type Domain } from '../core/domain.ts';
import { routes } from './routes.ts';
import { cancelForDeletion } from './service.ts';
import { createStripeClient } from './stripe.ts';

export const billingDomain: Domain = {
  name: 'billing',
  async plugin(app, { ctx }) {
    ctx.stripe = createStripeClient(ctx.config);
    addAccountCleanup(ctx, { name: 'billing', before: cancelForDeletion, external: true });
    await app.register(routes(ctx), { prefix: API_PREFIX });
  },
};
