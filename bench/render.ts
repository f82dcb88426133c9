/**
 * `npm run bench:report`: writes BENCHMARKS.md again from the last run's figures
 * (bench/results.json) and the current bench/FINDINGS.md, without measuring anything.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ROOT } from './lib/instances';
import { renderReport } from './report';

const { meta, scenarios } = JSON.parse(readFileSync(join(ROOT, 'bench', 'results.json'), 'utf8')) as { meta: Parameters<typeof renderReport>[0]; scenarios: Parameters<typeof renderReport>[1] };
writeFileSync(join(ROOT, 'BENCHMARKS.md'), renderReport(meta, scenarios));
process.stdout.write('wrote BENCHMARKS.md from bench/results.json\n');
