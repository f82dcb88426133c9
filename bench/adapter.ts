import type { Services } from './lib/instances';
import type { Scenario } from './report';

/** Placeholder until the adapter harness lands. */
export async function adapterComparison(_services: Services, _token: string, _durationS: number, _repeats: number, _connections: number, _log: (line: string) => void): Promise<Scenario> {
  return { name: 'Adapter', rows: [{ metric: 'not measured yet', value: '' }], raw: null };
}
