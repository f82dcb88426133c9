import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { RedisService } from '@app/common/redis';
import { DataSource } from 'typeorm';

export type CheckState = 'up' | 'down' | 'disabled';

export interface Readiness {
  ready: boolean;
  checks: { database: CheckState; redis: CheckState };
}

function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T> {
  return Promise.race([
    promise,
    new Promise<never>((_, reject) => setTimeout(() => reject(new Error('check timed out')), ms).unref()),
  ]);
}

/** Readiness: the database answers, and Redis too when one is configured. */
@Injectable()
export class HealthService {
  constructor(
    @InjectDataSource() private readonly dataSource: DataSource,
    private readonly redis: RedisService,
  ) {}

  async readiness(timeoutMs = 2000): Promise<Readiness> {
    const [database, redis] = await Promise.all([
      withTimeout(this.dataSource.query('SELECT 1'), timeoutMs).then(
        (): CheckState => 'up',
        (): CheckState => 'down',
      ),
      this.redis.enabled ? this.redis.ping(timeoutMs).then((ok): CheckState => (ok ? 'up' : 'down')) : Promise.resolve<CheckState>('disabled'),
    ]);
    return { ready: database === 'up' && redis !== 'down', checks: { database, redis } };
  }
}
