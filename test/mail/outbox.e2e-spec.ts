import { randomBytes } from 'node:crypto';
import { getDataSourceToken } from '@nestjs/typeorm';
import { Client } from 'pg';
import { DataSource } from 'typeorm';
import { decryptSecret } from '@app/common/crypto';
import { MailOutboxModule } from '../../apps/api/src/mail/mail-outbox.module';
import { MailOutboxService } from '../../apps/api/src/mail/mail-outbox.service';
import { TestMailbox } from '../support/mailbox';
import { onRealPostgres, startInstance, TestInstance } from '../support/test-app';

interface OutboxRow {
  id: string;
  to_address: string;
  subject: string;
  sealed_body: string;
  status: string;
  attempts: number;
  last_error: string | null;
  sent_at: Date | null;
}

/**
 * A database of this suite's own on a real Postgres (dropped at the end). Every instance whose
 * AppModule has the outbox runs a worker that sends any due row of its database through its own
 * SMTP_URL: on the run's shared database another suite's instances could send (or log) this
 * suite's mail, and this suite's could take theirs. The embedded PGlite has one database only.
 */
async function suiteDatabase(): Promise<{ url?: string; drop(): Promise<void> }> {
  const adminUrl = process.env.E2E_ADMIN_DATABASE_URL;
  if (!onRealPostgres() || !adminUrl) return { url: undefined, drop: async () => undefined };
  const name = `${process.env.E2E_DATABASE_NAME}_mail`;
  const admin = async (sql: string) => {
    const client = new Client({ connectionString: adminUrl });
    await client.connect();
    try {
      await client.query(sql);
    } finally {
      await client.end();
    }
  };
  await admin(`CREATE DATABASE "${name}"`);
  const url = new URL(adminUrl);
  url.pathname = `/${name}`;
  return { url: url.toString(), drop: () => admin(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`) };
}

async function eventually<T>(read: () => Promise<T>, ok: (value: T) => boolean, what: string, timeoutMs = 10_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last = await read();
  while (!ok(last)) {
    if (Date.now() > deadline) throw new Error(`${what}: not reached within ${timeoutMs} ms; last value ${JSON.stringify(last)}`);
    await new Promise((r) => setTimeout(r, 50));
    last = await read();
  }
  return last;
}

describe('mail outbox', () => {
  const tag = randomBytes(4).toString('hex');
  const address = (name: string) => `${name}-${tag}@shop.test`;
  let database: { url?: string; drop(): Promise<void> };
  let mailbox: TestMailbox;
  let instance: TestInstance;
  let outbox: MailOutboxService;
  let dataSource: DataSource;
  const env = () => ({ SMTP_URL: mailbox.url, MAIL_POLL_INTERVAL: '200ms', ...(database.url ? { DATABASE_URL: database.url } : {}) });
  const rowsTo = (to: string): Promise<OutboxRow[]> => dataSource.query(`SELECT * FROM mail_outbox WHERE to_address = $1 ORDER BY id`, [to]);

  beforeAll(async () => {
    database = await suiteDatabase();
    mailbox = await TestMailbox.start();
    instance = await startInstance({ imports: [MailOutboxModule], env: env() });
    outbox = instance.app.get(MailOutboxService);
    dataSource = instance.app.get<DataSource>(getDataSourceToken());
  });
  afterAll(async () => {
    await instance?.close();
    await mailbox?.stop();
    await database?.drop();
  });

  it('delivers an enqueued mail with its subject, text and link intact, within moments', async () => {
    const to = address('welcome');
    const link = `http://dashboard.test/reset?token=${randomBytes(16).toString('hex')}`;
    const started = Date.now();
    await outbox.enqueue({
      to,
      subject: 'Reset your password',
      text: `Hello,\n\nFollow ${link} to choose a new password.\n`,
      html: `<p>Follow <a href="${link}&amp;utm=mail">this link</a>.</p>`,
    });

    const mail = await mailbox.waitFor(to.toUpperCase(), { subject: /^Reset your password$/ });
    // The enqueue nudges the worker: the mail is out in moments.
    expect(Date.now() - started).toBeLessThan(2000);
    expect(mail.to).toEqual([to]);
    expect(mail.from).toContain('no-reply@localhost');
    expect(mail.subject).toBe('Reset your password');
    expect(mail.text).toContain(`Follow ${link} to choose a new password.`);
    expect(mail.links).toEqual([link, `${link}&utm=mail`]);
  });

  it('keeps the body encrypted while pending and erases it once sent', async () => {
    const to = address('magic');
    const secret = randomBytes(16).toString('hex');
    const link = `http://dashboard.test/magic?token=${secret}`;
    const text = `Sign in: ${link}`;

    await dataSource.transaction(async (manager) => {
      await outbox.enqueue({ to, subject: 'Your sign-in link', text }, manager);
      // Not committed yet: no worker can see it, so this is the row exactly as it waits.
      const [pending] = (await manager.query(`SELECT * FROM mail_outbox WHERE to_address = $1`, [to])) as OutboxRow[];
      expect(pending).toMatchObject({ status: 'pending', attempts: 0, sent_at: null, last_error: null });
      expect(JSON.stringify(pending)).not.toContain(secret);
      expect(pending.sealed_body).not.toContain('Sign in');
      // Sealed with the instance's key and the table as associated data.
      expect(JSON.parse(decryptSecret(instance.config.encryptionKey, pending.sealed_body, 'mail_outbox'))).toEqual({ text });
      expect(() => decryptSecret(instance.config.encryptionKey, pending.sealed_body)).toThrow();
    });
    outbox.nudge();

    const mail = await mailbox.waitFor(to);
    expect(mail.links).toEqual([link]);
    const [sent] = await eventually(() => rowsTo(to), (rows) => rows[0]?.status === 'sent', 'row marked sent');
    expect(sent).toMatchObject({ status: 'sent', sealed_body: '', attempts: 0 });
    expect(sent.sent_at).toBeInstanceOf(Date);
    expect(instance.logs.text).not.toContain(secret);
  });

  it('does not lose mail while the SMTP server is down: it retries and delivers once it is back', async () => {
    const to = address('outage');
    const secret = randomBytes(16).toString('hex');
    const port = mailbox.port;
    await mailbox.stop();

    await outbox.enqueue({ to, subject: 'Confirm your email', text: `Confirm: http://dashboard.test/verify?token=${secret}` });
    const [failing] = await eventually(() => rowsTo(to), (rows) => rows[0]?.attempts >= 1, 'a failed attempt recorded');
    expect(failing.status).toBe('pending');
    expect(failing.last_error).toMatch(/ECONNREFUSED|connect/i);
    expect(failing.last_error).not.toContain(secret);
    expect(failing.sealed_body).not.toBe('');
    const warning = instance.logs.records().find((r) => r.msg === 'mail outbox: send failed, will retry' && r.mailId === failing.id);
    expect(warning).toMatchObject({ level: 'warn', attempts: expect.any(Number), retryInMs: expect.any(Number) });

    mailbox = await TestMailbox.start(port);
    const mail = await mailbox.waitFor(to);
    expect(mail.subject).toBe('Confirm your email');
    expect(mail.links).toEqual([`http://dashboard.test/verify?token=${secret}`]);
    const [sent] = await eventually(() => rowsTo(to), (rows) => rows[0]?.status === 'sent', 'row marked sent');
    expect(sent.attempts).toBeGreaterThanOrEqual(1);
    expect(sent.sealed_body).toBe('');
    expect(mailbox.messages.filter((m) => m.to.includes(to))).toHaveLength(1);
    expect(instance.logs.text).not.toContain(secret);
  });

  it('never sends a mail enqueued in a transaction that rolls back', async () => {
    const ghost = address('ghost');
    const control = address('control');
    await expect(
      dataSource.transaction(async (manager) => {
        await outbox.enqueue({ to: ghost, subject: 'Should never arrive', text: 'http://dashboard.test/ghost' }, manager);
        throw new Error('business rule failed');
      }),
    ).rejects.toThrow('business rule failed');
    outbox.nudge();

    // A mail enqueued afterwards arrives: the worker has looked at the table since the rollback.
    await outbox.enqueue({ to: control, subject: 'Control', text: 'after the rollback' });
    await mailbox.waitFor(control);
    expect(mailbox.messages.filter((m) => m.to.includes(ghost))).toEqual([]);
    expect(await rowsTo(ghost)).toEqual([]);
  });

  it('delivers each mail exactly once with two instances sharing the database', async () => {
    const second = await startInstance({ imports: [MailOutboxModule], env: env() });
    try {
      const outboxes = [outbox, second.app.get(MailOutboxService)];
      const to = address('crowd');
      const first = mailbox.messages.length;
      // All ten commit at once, then both workers are nudged together and race for them.
      await dataSource.transaction(async (manager) => {
        for (let i = 0; i < 10; i++) await outboxes[i % 2].enqueue({ to, subject: `Order ${tag} #${i}`, text: `mail ${i}` }, manager);
      });
      outboxes.forEach((o) => o.nudge());

      let after = first;
      for (let i = 0; i < 10; i++) {
        const mail = await mailbox.waitFor(to, { after });
        after = mailbox.messages.indexOf(mail, after) + 1;
      }
      await eventually(() => rowsTo(to), (rows) => rows.length === 10 && rows.every((r) => r.status === 'sent'), 'all rows sent');
      // A duplicate would come from a second claim of a row, running beside the first one: give
      // both workers a few polls to show one.
      await new Promise((r) => setTimeout(r, 600));

      const received = mailbox.messages.filter((m) => m.to.includes(to)).map((m) => m.subject);
      expect(received).toHaveLength(10);
      expect(new Set(received).size).toBe(10);
      expect([...received].sort()).toEqual(Array.from({ length: 10 }, (_, i) => `Order ${tag} #${i}`).sort());
      const rows = await rowsTo(to);
      expect(rows.every((r) => r.attempts === 0 && r.sealed_body === '')).toBe(true);
    } finally {
      await second.close();
    }
  });
});
