import { Inject, Injectable, OnApplicationBootstrap, OnModuleDestroy } from '@nestjs/common';
import { InjectDataSource, InjectRepository } from '@nestjs/typeorm';
import { APP_CONFIG, AppConfig } from '@app/common/config';
import { decryptSecret, encryptSecret } from '@app/common/crypto';
import { APP_LOGGER, AppLogger } from '@app/common/logging';
import { MailService, OutgoingMail } from '@app/common/mail';
import { MailOutbox } from '@app/database';
import { DataSource, EntityManager, Repository } from 'typeorm';

/** Associated data of the sealed body: a ciphertext from another table does not decrypt here. */
export const MAIL_OUTBOX_AAD = 'mail_outbox';
/** Rows claimed per batch. */
export const MAIL_OUTBOX_BATCH_SIZE = 20;
/** A mail that failed this many times is marked 'failed' and no longer retried. */
export const MAIL_OUTBOX_MAX_ATTEMPTS = 10;
/** How long a claimed batch belongs to the instance that claimed it (see `claim`). */
export const MAIL_OUTBOX_LEASE_MS = 5 * 60_000;

const RETRY_BASE_MS = 250;
const RETRY_FACTOR = 4;
const RETRY_MAX_MS = 5 * 60_000;

/**
 * Delay before the next try of a mail that has failed `attempts` times:
 * 250 ms, 1 s, 4 s, 16 s, 64 s, 256 s, then 5 min. The first retries are quick (a relay that
 * dropped one connection, a test server restarting); the later ones spread the ten attempts
 * over about twenty minutes, so a short relay outage does not mark mail 'failed'.
 */
export function mailRetryDelayMs(attempts: number): number {
  return Math.min(RETRY_BASE_MS * RETRY_FACTOR ** Math.max(0, attempts - 1), RETRY_MAX_MS);
}

/**
 * The text stored in `last_error`: the error's message only (no stack, no body), credentials
 * of any URL masked, one line, at most 500 characters.
 */
export function describeMailError(err: unknown): string {
  const message = err instanceof Error ? err.message : String(err);
  const code = (err as { code?: unknown } | null)?.code;
  const withCode = typeof code === 'string' && !message.includes(code) ? `${code}: ${message}` : message;
  const clean = withCode
    .replace(/\/\/[^\s/@]*@/g, '//***@')
    .replace(/\s+/g, ' ')
    .trim();
  return (clean || 'unknown error').slice(0, 500);
}

interface SealedBody {
  text: string;
  html?: string;
}

/** A claimed row; `lease` is the claim's `next_attempt_at`, as Postgres prints it. */
interface ClaimedMail {
  id: string;
  to_address: string;
  subject: string;
  sealed_body: string;
  attempts: number;
  lease: string;
}

/**
 * Durable outgoing mail. `enqueue` writes a row (in the caller's transaction when given a
 * manager), a worker sends it through MailService and retries with backoff. Several instances
 * may share the database: rows are claimed with FOR UPDATE SKIP LOCKED, so each mail is sent by
 * one instance (at least once: a crash between the SMTP server's acceptance and the row's update
 * sends it again once the lease runs out).
 */
@Injectable()
export class MailOutboxService implements OnApplicationBootstrap, OnModuleDestroy {
  private timer: NodeJS.Timeout | null = null;
  private inFlight: Promise<void> | null = null;
  private started = false;
  private stopping = false;
  /** A nudge arrived while a batch was running: look again as soon as it ends. */
  private again = false;
  private storeDown = false;

  constructor(
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    @Inject(APP_LOGGER) private readonly logger: AppLogger,
    @InjectRepository(MailOutbox) private readonly outbox: Repository<MailOutbox>,
    @InjectDataSource() private readonly dataSource: DataSource,
    private readonly mail: MailService,
  ) {}

  /**
   * Stores a mail to be sent. With `manager`, the row is part of the caller's transaction: it is
   * sent only if that commits (call `nudge()` after the commit to send it at once rather than at
   * the next poll). Without, the row is committed here and the worker is nudged.
   */
  async enqueue(mail: OutgoingMail, manager?: EntityManager): Promise<void> {
    const body: SealedBody = mail.html === undefined ? { text: mail.text } : { text: mail.text, html: mail.html };
    const repo = manager ? manager.getRepository(MailOutbox) : this.outbox;
    await repo.insert({
      toAddress: mail.to,
      subject: mail.subject,
      sealedBody: encryptSecret(this.config.encryptionKey, JSON.stringify(body), MAIL_OUTBOX_AAD),
    });
    if (!manager) this.nudge();
  }

  /** Looks for due mail now instead of at the next poll. Safe to call at any time, any number of times. */
  nudge(): void {
    if (!this.started || this.stopping) return;
    if (this.inFlight) {
      this.again = true;
      return;
    }
    this.schedule(0);
  }

  onApplicationBootstrap(): void {
    this.started = true;
    // Mail left by a previous run (or by an instance that stopped) is picked up at once.
    this.schedule(0);
  }

  /** Stops the worker: no new batch starts, the batch in flight finishes (its unsent rows are released). */
  async onModuleDestroy(): Promise<void> {
    this.stopping = true;
    this.clearTimer();
    await this.inFlight;
  }

  private schedule(delayMs: number): void {
    this.clearTimer();
    this.timer = setTimeout(() => this.run(), delayMs);
    // The HTTP server keeps a service alive; a command-line context must not hang on this timer.
    this.timer.unref();
  }

  private clearTimer(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
  }

  private run(): void {
    this.timer = null;
    if (this.stopping || this.inFlight) return;
    this.inFlight = this.drain()
      .catch((err) => this.logger.error({ err: describeMailError(err) }, 'mail outbox worker error'))
      .finally(() => {
        this.inFlight = null;
        if (this.stopping) return;
        const rerun = this.again;
        this.again = false;
        this.schedule(rerun ? 0 : this.config.mail.pollIntervalMs);
      });
  }

  /** Sends batches until one comes back short (nothing more is due). */
  private async drain(): Promise<void> {
    for (;;) {
      // A nudge from here on is covered by the claim below; one arriving later asks for another pass.
      this.again = false;
      const claimed = await this.processBatch();
      if (this.stopping || claimed < MAIL_OUTBOX_BATCH_SIZE) return;
    }
  }

  private async processBatch(): Promise<number> {
    let batch: ClaimedMail[];
    const claimedAt = Date.now();
    try {
      batch = await this.claim();
      if (this.storeDown) this.logger.info('mail outbox: database reachable again');
      this.storeDown = false;
    } catch (err) {
      // Logged once per outage, not at every poll.
      if (!this.storeDown) this.logger.warn({ err: describeMailError(err) }, 'mail outbox: cannot claim mail, will retry');
      this.storeDown = true;
      return 0;
    }
    for (let i = 0; i < batch.length; i++) {
      // Stop before the lease could run out (or when the instance stops): the rest go back at once.
      if (this.stopping || Date.now() - claimedAt > MAIL_OUTBOX_LEASE_MS / 2) {
        await this.release(batch.slice(i));
        break;
      }
      await this.deliver(batch[i]);
    }
    return batch.length;
  }

  /**
   * Claims due rows with a lease rather than sending inside the claiming transaction.
   *
   * One short transaction locks up to 20 due rows with FOR UPDATE SKIP LOCKED (rows locked by
   * another instance are skipped, never waited for) and moves their `next_attempt_at` forward by
   * the lease; the commit makes them invisible to every other claim until the lease ends. The
   * SMTP conversations then run with no transaction and no connection held: holding row locks
   * while sending would pin a pooled connection (the only one on the embedded database, stalling
   * every request) for as long as a slow or unreachable relay takes, up to the transport timeouts
   * times 20. Status stays 'pending' during the lease (the entity has no 'sending' state); a row
   * whose instance died is simply due again when its lease ends.
   *
   * Every later update names the lease (`next_attempt_at = lease`), so a worker whose lease was
   * taken over by another instance cannot overwrite that instance's outcome.
   */
  private async claim(): Promise<ClaimedMail[]> {
    const runner = this.dataSource.createQueryRunner();
    try {
      await runner.connect();
      await runner.startTransaction();
      const due: Array<{ id: string }> = await runner.query(
        `SELECT id FROM mail_outbox
          WHERE status = 'pending' AND next_attempt_at <= now()
          ORDER BY id
          LIMIT $1
          FOR UPDATE SKIP LOCKED`,
        [MAIL_OUTBOX_BATCH_SIZE],
      );
      if (due.length === 0) {
        await runner.commitTransaction();
        return [];
      }
      const leased = await runner.query(
        `UPDATE mail_outbox
            SET next_attempt_at = now() + $2::double precision * interval '1 millisecond'
          WHERE id = ANY($1::bigint[])
          RETURNING id, to_address, subject, sealed_body, attempts, next_attempt_at::text AS lease`,
        [due.map((r) => r.id), MAIL_OUTBOX_LEASE_MS],
        true,
      );
      await runner.commitTransaction();
      return (leased.records as ClaimedMail[]).sort((a, b) => (BigInt(a.id) < BigInt(b.id) ? -1 : 1));
    } catch (err) {
      if (runner.isTransactionActive) await runner.rollbackTransaction().catch(() => undefined);
      throw err;
    } finally {
      await runner.release();
    }
  }

  private async deliver(row: ClaimedMail): Promise<void> {
    let body: SealedBody;
    try {
      body = JSON.parse(decryptSecret(this.config.encryptionKey, row.sealed_body, MAIL_OUTBOX_AAD)) as SealedBody;
    } catch {
      // Retrying cannot help (another key, a damaged row): give up on this mail at once.
      await this.finish(row, 'failed', 'the stored body cannot be decrypted with APP_ENCRYPTION_KEY', row.attempts + 1, 0);
      this.logger.error({ mailId: row.id }, 'mail outbox: body cannot be decrypted, mail marked failed');
      return;
    }
    try {
      await this.mail.send({ to: row.to_address, subject: row.subject, text: body.text, ...(body.html === undefined ? {} : { html: body.html }) });
    } catch (err) {
      const attempts = row.attempts + 1;
      const error = describeMailError(err);
      if (attempts >= MAIL_OUTBOX_MAX_ATTEMPTS) {
        await this.finish(row, 'failed', error, attempts, 0);
        this.logger.error({ mailId: row.id, attempts, error }, 'mail outbox: mail not sent after the last attempt, marked failed');
      } else {
        const retryInMs = mailRetryDelayMs(attempts);
        await this.finish(row, 'pending', error, attempts, retryInMs);
        this.logger.warn({ mailId: row.id, attempts, retryInMs, error }, 'mail outbox: send failed, will retry');
      }
      return;
    }
    try {
      // Sent: the body (it may hold a one-time link) is erased.
      const updated = await this.update(
        `UPDATE mail_outbox SET status = 'sent', sent_at = now(), sealed_body = ''
          WHERE id = $1 AND status = 'pending' AND next_attempt_at = $2::timestamptz`,
        [row.id, row.lease],
      );
      if (updated === 0) this.logger.warn({ mailId: row.id }, 'mail outbox: lease lost while sending, the mail may go out twice');
      else this.logger.debug({ mailId: row.id }, 'mail outbox: mail sent');
    } catch (err) {
      // The mail went out but its row still says pending: it is sent again when the lease ends.
      this.logger.error({ mailId: row.id, err: describeMailError(err) }, 'mail outbox: mail sent but not recorded');
    }
  }

  private async finish(row: ClaimedMail, status: 'pending' | 'failed', error: string, attempts: number, retryInMs: number): Promise<void> {
    try {
      await this.update(
        `UPDATE mail_outbox
            SET status = $3, attempts = $4, last_error = $5, next_attempt_at = now() + $6::double precision * interval '1 millisecond'
          WHERE id = $1 AND status = 'pending' AND next_attempt_at = $2::timestamptz`,
        [row.id, row.lease, status, attempts, error, retryInMs],
      );
    } catch (err) {
      // The row keeps its lease and is tried again when it ends.
      this.logger.error({ mailId: row.id, err: describeMailError(err) }, 'mail outbox: cannot record a failed attempt');
    }
  }

  /** Gives unsent rows of a batch back at once (shutdown, or a batch near the end of its lease). */
  private async release(rows: ClaimedMail[]): Promise<void> {
    if (rows.length === 0) return;
    try {
      await this.update(
        `UPDATE mail_outbox SET next_attempt_at = now()
          WHERE id = ANY($1::bigint[]) AND status = 'pending' AND next_attempt_at = $2::timestamptz`,
        [rows.map((r) => r.id), rows[0].lease],
      );
    } catch (err) {
      this.logger.warn({ count: rows.length, err: describeMailError(err) }, 'mail outbox: cannot release claimed mail; it is due again when its lease ends');
    }
  }

  /** Runs an UPDATE and returns the number of rows it changed. */
  private async update(sql: string, params: unknown[]): Promise<number> {
    const runner = this.dataSource.createQueryRunner();
    try {
      const result = await runner.query(sql, params, true);
      return result.affected ?? 0;
    } finally {
      await runner.release();
    }
  }
}
