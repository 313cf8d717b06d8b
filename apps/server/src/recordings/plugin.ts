/** The recordings domain (`/api/recordings`): the storage client and its account-deletion step (take files). */
import { addAccountCleanup } from '../core/context.ts';
import { API_PREFIX, type Domain } from '../core/domain.ts';
import { setupStorage } from '../core/storage/index.ts';
import { routes } from './routes.ts';
import { recordingKeysOfUser } from './service.ts';

export const recordingsDomain: Domain = {
  name: 'recordings',
  async plugin(app, { ctx }) {
    setupStorage(ctx);
    addAccountCleanup(ctx, { name: 'recordings', collectKeys: recordingKeysOfUser });
    await app.register(routes(ctx), { prefix: API_PREFIX });
  },
};
