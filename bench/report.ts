import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ROOT } from './lib/instances';

export interface Row {
  metric: string;
  value: string;
  target?: string;
  /** undefined: a figure without a target */
  pass?: boolean;
}

export interface Scenario {
  name: string;
  rows: Row[];
  raw: unknown;
}

export interface Meta {
  date: string;
  command: string;
  node: string;
  cpus: string;
  memoryGb: number;
  durationS: number;
  repeats: number;
  connections: number;
  elapsedS: number;
}

/** BENCHMARKS.md: the figures of this run, then the hand-written findings (bench/FINDINGS.md). */
export function renderReport(meta: Meta, scenarios: Scenario[]): string {
  const lines = [
    '# Benchmarks',
    '',
    `Written by \`${meta.command}\` on ${meta.date} (${meta.elapsedS} s). Do not edit the figures by hand; edit`,
    '`bench/FINDINGS.md` for the notes at the end.',
    '',
    `- Machine: ${meta.cpus}, ${meta.memoryGb} GB memory; Node ${meta.node}`,
    `- Load: autocannon, ${meta.connections} connections, ${meta.durationS} s per run, each comparison repeated ${meta.repeats} times, medians reported`,
    '- Service: the built service (`dist/`), separate processes on real Postgres and Redis, `NODE_ENV=benchmark`, `LOG_LEVEL=warn`, bcrypt cost 12',
    '- Raw figures: `bench/results.json`',
    '',
  ];
  for (const scenario of scenarios) {
    lines.push(`## ${scenario.name}`, '', '| metric | value | target | met |', '|---|---|---|---|');
    for (const row of scenario.rows) {
      lines.push(`| ${row.metric} | ${row.value} | ${row.target ?? ''} | ${row.pass === undefined ? '' : row.pass ? 'yes' : '**no**'} |`);
    }
    lines.push('');
  }
  const findings = join(ROOT, 'bench', 'FINDINGS.md');
  if (existsSync(findings)) lines.push(readFileSync(findings, 'utf8').trim(), '');
  return `${lines.join('\n')}\n`;
}
