import type { DomainModule } from '../domains.ts';
import { startRetention } from './retention.ts';

export const opsDomain: DomainModule = {
  name: 'retention',
  startWorkers: startRetention,
};
