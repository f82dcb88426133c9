import { getDataSourceToken } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import { AuditLog } from '@app/database';
import { AuditService } from '../../apps/api/src/audit/audit.service';
import { startInstance, TestInstance } from '../support/test-app';

describe('database schema and audit log', () => {
  let instance: TestInstance;
  let dataSource: DataSource;
  beforeAll(async () => {
    instance = await startInstance();
    dataSource = instance.app.get<DataSource>(getDataSourceToken());
  });
  afterAll(() => instance?.close());

  it('creates the schema by migrations, and the migrations match the entities exactly', async () => {
    const applied = await dataSource.query(`SELECT name FROM migrations ORDER BY id`);
    expect(applied.map((r: { name: string }) => r.name)).toContain('InitialSchema1764140000000');
    const pending = await dataSource.driver.createSchemaBuilder().log();
    expect(pending.upQueries.map((q) => q.query)).toEqual([]);
  });

  it('runs migrations at start idempotently: a second instance on the same database starts', async () => {
    const second = await startInstance();
    await second.close();
  });

  it('writes audit rows with who, where and what, and refuses to update or delete them', async () => {
    const audit = instance.app.get(AuditService);
    const row = await audit.record(
      { event: 'login_failure', actorType: 'anonymous', status: 'failure', reason: 'INVALID_CREDENTIALS', metadata: { email: 'x@y.z' } },
      { ip: '203.0.113.5', device: 'Firefox 120 on Linux', requestId: 'req-1' },
    );
    const stored = await dataSource.getRepository(AuditLog).findOneByOrFail({ id: row.id });
    expect(stored).toMatchObject({ event: 'login_failure', ip: '203.0.113.5', device: 'Firefox 120 on Linux', status: 'failure', reason: 'INVALID_CREDENTIALS' });
    expect(stored.createdAt).toBeInstanceOf(Date);

    await expect(dataSource.query(`UPDATE audit_logs SET reason = 'tampered' WHERE id = $1`, [row.id])).rejects.toThrow(/append-only/);
    await expect(dataSource.query(`DELETE FROM audit_logs WHERE id = $1`, [row.id])).rejects.toThrow(/append-only/);
    await expect(dataSource.query(`TRUNCATE audit_logs`)).rejects.toThrow(/append-only/);
    await expect(dataSource.getRepository(AuditLog).update({ id: row.id }, { reason: 'tampered' })).rejects.toThrow(/append-only/);
    const after = await dataSource.getRepository(AuditLog).findOneByOrFail({ id: row.id });
    expect(after.reason).toBe('INVALID_CREDENTIALS');
  });
});
