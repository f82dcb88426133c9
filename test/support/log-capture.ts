import { Writable } from 'node:stream';
import { AppLogger, createLogger } from '@app/common/logging';

/** A real logger whose JSON lines are kept in memory, so tests can read what was logged. */
export class LogCapture {
  readonly lines: string[] = [];
  readonly logger: AppLogger;

  constructor(level = 'info') {
    const sink = new Writable({
      write: (chunk, _enc, cb) => {
        this.lines.push(...String(chunk).split('\n').filter(Boolean));
        cb();
      },
    });
    this.logger = createLogger(level, sink);
  }

  get text(): string {
    return this.lines.join('\n');
  }

  records(): Array<Record<string, unknown>> {
    return this.lines.map((l) => JSON.parse(l) as Record<string, unknown>);
  }
}
