import { randomUUID } from 'node:crypto';
import { getDataSourceToken } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import { HousekeepingService } from '../../apps/api/src/housekeeping/housekeeping.service';
import { startInstance, TestInstance } from '../support/test-app';

/** Expired one-time tokens, revoked tokens and sent mail do not pile up; live ones stay. */
describe('housekeeping', () => {
  let instance: TestInstance;
  let db: DataSource;
  beforeAll(async () => {
    instance = await startInstance();
    db = instance.app.get<DataSource>(getDataSourceToken());
  });
  afterAll(() => instance?.close());

  it('deletes rows past their use and keeps the rest', async () => {
    const tag = randomUUID();
    const oneTime = (hash: string, expires: string) =>
      db.query(`INSERT INTO one_time_tokens (purpose, token_hash, expires_at) VALUES ('bridge_jti', $1, now() + $2::interval)`, [hash, expires]);
    await oneTime(`${tag}-old`, '-2 days');
    await oneTime(`${tag}-recent`, '-1 hour');
    await oneTime(`${tag}-live`, '10 minutes');
    const oldJti = randomUUID();
    const liveJti = randomUUID();
    await db.query(`INSERT INTO revoked_tokens (jti, expires_at, reason) VALUES ($1, now() - interval '1 hour', 'test'), ($2, now() + interval '1 hour', 'test')`, [oldJti, liveJti]);

    const deleted = await instance.app.get(HousekeepingService).prune();
    expect(deleted.one_time_tokens).toBeGreaterThanOrEqual(1);

    const left = (await db.query(`SELECT token_hash FROM one_time_tokens WHERE token_hash LIKE $1 ORDER BY token_hash`, [`${tag}-%`])) as Array<{ token_hash: string }>;
    expect(left.map((r) => r.token_hash)).toEqual([`${tag}-live`, `${tag}-recent`]);
    const revoked = (await db.query(`SELECT jti FROM revoked_tokens WHERE jti = ANY($1)`, [[oldJti, liveJti]])) as Array<{ jti: string }>;
    expect(revoked.map((r) => r.jti)).toEqual([liveJti]);
  });
});
