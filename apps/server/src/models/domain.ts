import type { DomainModule } from '../domains.ts';
import { modelKeysOf } from './service.ts';

export const modelsDomain: DomainModule = {
  name: 'models',
  setup(ctx) {
    ctx.accountCleanup.push({ name: 'models', collectKeys: modelKeysOf });
  },
};
