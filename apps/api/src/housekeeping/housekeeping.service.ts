import { Inject, Injectable, OnModuleDestroy, OnModuleInit } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import { APP_LOGGER, AppLogger } from '@app/common/logging';

/**
 * Rows that can no longer matter, and how long after that they are kept. Each statement is
 * idempotent and bounded, so every instance may run them; overlapping runs only find less to do.
 */
export const PRUNE_STATEMENTS: Array<{ table: string; sql: string }> = [
  // Used or expired one-time tokens (links, codes, spent bridge jtis): a day for investigations.
  { table: 'one_time_tokens', sql: `DELETE FROM one_time_tokens WHERE expires_at < now() - interval '1 day'` },
  // A revoked token past its exp is refused by its exp alone.
  { table: 'revoked_tokens', sql: `DELETE FROM revoked_tokens WHERE expires_at < now() - interval '1 minute'` },
  { table: 'mfa_challenges', sql: `DELETE FROM mfa_challenges WHERE expires_at < now() - interval '1 day'` },
  // Sent mail keeps only its sealed body; a week is enough to answer "did it go out?".
  // Shopify retries a webhook for up to 48 hours; a month of delivered ids is ample.
  { table: 'oauth_webhook_events', sql: `DELETE FROM oauth_webhook_events WHERE received_at < now() - interval '30 days'` },
  { table: 'mail_outbox', sql: `DELETE FROM mail_outbox WHERE sent_at IS NOT NULL AND sent_at < now() - interval '7 days'` },
];

const INTERVAL_MS = 10 * 60_000;

/** Deletes expired short-lived rows every 10 minutes (the audit log is never touched). */
@Injectable()
export class HousekeepingService implements OnModuleInit, OnModuleDestroy {
  private timer: NodeJS.Timeout | null = null;
  private running: Promise<void> | null = null;

  constructor(
    @InjectDataSource() private readonly dataSource: DataSource,
    @Inject(APP_LOGGER) private readonly logger: AppLogger,
  ) {}

  onModuleInit(): void {
    this.timer = setInterval(() => void this.prune(), INTERVAL_MS);
    this.timer.unref();
  }

  async onModuleDestroy(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    await this.running;
  }

  /** One pass; returns the rows deleted per table. Failures are logged and retried next time. */
  async prune(): Promise<Record<string, number>> {
    const deleted: Record<string, number> = {};
    const pass = (async () => {
      for (const { table, sql } of PRUNE_STATEMENTS) {
        try {
          const result = (await this.dataSource.query(sql)) as [unknown[], number];
          deleted[table] = result[1] ?? 0;
        } catch (err) {
          this.logger.warn({ table, err: (err as Error).message }, 'housekeeping: prune failed');
        }
      }
    })();
    this.running = pass;
    await pass;
    this.running = null;
    return deleted;
  }
}
