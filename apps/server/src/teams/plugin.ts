/** The teams domain (`/api/teams`): teams, invitations and model sharing. No start-up work, no workers. */
import { API_PREFIX, type Domain } from '../core/domain.ts';
import { routes } from './routes.ts';

export const teamsDomain: Domain = {
  name: 'teams',
  async plugin(app, { ctx }) {
    await app.register(routes(ctx), { prefix: API_PREFIX });
  },
};
