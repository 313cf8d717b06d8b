/**
 * The Stripe client of this process (null when billing is off). `VIOLAWAKE_STRIPE_API_BASE` points it at another
 * base URL (a local stub in tests) through the SDK's host/port/protocol options.
 */
import Stripe from 'stripe';
import type { Config } from '../core/config.ts';

export type { Stripe };

export function billingEnabled(config: Config): boolean {
  return Boolean(config.stripeSecretKey);
}

export function createStripeClient(config: Config): Stripe | null {
  if (!config.stripeSecretKey) return null;
  const options: ConstructorParameters<typeof Stripe>[1] = {
    maxNetworkRetries: 1,
    timeout: 15_000,
    appInfo: { name: 'ViolaWake Console' },
  };
  if (config.stripeApiBase) {
    const u = new URL(config.stripeApiBase);
    const protocol = u.protocol === 'http:' ? 'http' : 'https';
    options.host = u.hostname;
    options.protocol = protocol;
    options.port = u.port ? Number(u.port) : protocol === 'http' ? 80 : 443;
  }
  return new Stripe(config.stripeSecretKey, options);
}

/** Verify and parse a webhook body; `Stripe.webhooks` needs no API key. */
export const stripeWebhooks = Stripe.webhooks;
export const StripeSignatureVerificationError = Stripe.errors.StripeSignatureVerificationError;
