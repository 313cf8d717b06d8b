/**
 * The domains of the server, in registration order (which is also the order of `/api/openapi.json`). `app.ts`
 * registers each one's plugin (core/domain.ts); a new domain adds its `plugin.ts` export here.
 */
import { authDomain } from './auth/plugin.ts';
import { billingDomain } from './billing/plugin.ts';
import type { Domain } from './core/domain.ts';
import { languagesDomain } from './languages/plugin.ts';
import { modelsDomain } from './models/plugin.ts';
import { opsDomain } from './ops/plugin.ts';
import { recordingsDomain } from './recordings/plugin.ts';
import { teamsDomain } from './teams/plugin.ts';
import { trainingDomain } from './training/plugin.ts';

export const domains: Domain[] = [
  opsDomain,
  authDomain,
  recordingsDomain,
  trainingDomain,
  languagesDomain,
  modelsDomain,
  billingDomain,
  teamsDomain,
];
