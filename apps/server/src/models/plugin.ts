/** The models domain (`/api/models…`, `/api/assets…`, `/api/files…`): its account-deletion step (model files). */
import { addAccountCleanup } from '../core/context.ts';
import { API_PREFIX, type Domain } from '../core/domain.ts';
import { routes } from './routes.ts';
import { modelKeysOf } from './service.ts';

export const modelsDomain: Domain = {
  name: 'models',
  async plugin(app, { ctx }) {
    addAccountCleanup(ctx, { name: 'models', collectKeys: modelKeysOf });
    await app.register(routes(ctx), { prefix: API_PREFIX });
  },
};
