/** The billing domain's lifecycle hook: the Stripe client and the account-deletion step (docs/api.md §4.15 step 1). */
import type { DomainModule } from '../domains.ts';
import { cancelForDeletion } from './service.ts';
import { createStripeClient } from './stripe.ts';

export const billingDomain: DomainModule = {
  name: 'billing',
  setup(ctx) {
    ctx.stripe = createStripeClient(ctx.config);
    if (!ctx.accountCleanup.some((s) => s.name === 'billing')) {
      ctx.accountCleanup.push({ name: 'billing', before: cancelForDeletion });
    }
  },
};
