/** The languages domain (`/api/languages`): which languages this installation can train (docs/languages.md). */
import { API_PREFIX, type Domain } from '../core/domain.ts';
import { routes } from './routes.ts';

export const languagesDomain: Domain = {
  name: 'languages',
  async plugin(app, { ctx }) {
    await app.register(routes(ctx), { prefix: API_PREFIX });
  },
};
