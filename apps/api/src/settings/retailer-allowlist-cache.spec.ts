import type { ExecutionContext } from '@nestjs/common';
import type { DataSource } from 'typeorm';
import { ApiError } from '@app/common/errors';
import type { RedisService } from '@app/common/redis';
import { RetailerAllowlistCache } from './retailer-allowlist-cache';
import { RetailerIpAllowlistGuard } from './retailer-ip-allowlist.guard';
import type { HttpRequest } from '@app/common/http';

type Row = { ip_allowlist_enabled: boolean; ip_allowlist: string[] };

function setup(rows: Record<string, Row>) {
  const queries: string[] = [];
  let release: (() => void) | null = null;
  let hold = false;
  const dataSource = {
    query: async (_sql: string, [id]: [string]) => {
      queries.push(id);
      // The row as it was when the query ran, even if the answer arrives later.
      const row = rows[id];
      const result = row ? [{ ...row, ip_allowlist: [...row.ip_allowlist] }] : [];
      if (hold) await new Promise<void>((resolve) => (release = resolve));
      return result;
    },
  } as unknown as DataSource;
  // No Redis: a broadcast that only applies events locally, as Broadcast does without a client.
  const redis = {
    broadcast: (_name: string, handlers: { apply(e: unknown): void }) => ({ start: async () => undefined, publish: async (e: unknown) => handlers.apply(e) }),
  } as unknown as RedisService;
  const cache = new RetailerAllowlistCache(dataSource, redis);
  return {
    cache,
    queries,
    holdLoads: () => (hold = true),
    releaseLoad: () => {
      hold = false;
      release?.();
    },
  };
}

describe('RetailerAllowlistCache', () => {
  it('reads Postgres on the first request of a retailer only, then judges from memory', async () => {
    const { cache, queries } = setup({ r1: { ip_allowlist_enabled: true, ip_allowlist: ['10.0.0.0/8', '2001:db8::/32'] } });
    expect(await cache.allows('r1', '10.1.2.3')).toBe(true);
    expect(await cache.allows('r1', '::ffff:10.1.2.3')).toBe(true);
    expect(await cache.allows('r1', '2001:db8::5')).toBe(true);
    expect(await cache.allows('r1', '11.0.0.1')).toBe(false);
    expect(queries).toEqual(['r1']);
  });

  it('lets everything through when the list is off or the retailer is unknown', async () => {
    const { cache } = setup({ r1: { ip_allowlist_enabled: false, ip_allowlist: ['10.0.0.0/8'] } });
    expect(await cache.allows('r1', '192.0.2.1')).toBe(true);
    expect(await cache.allows('nope', '192.0.2.1')).toBe(true);
  });

  it('shares one load between concurrent first requests', async () => {
    const { cache, queries, holdLoads, releaseLoad } = setup({ r1: { ip_allowlist_enabled: true, ip_allowlist: ['10.0.0.0/8'] } });
    holdLoads();
    const answers = Promise.all([cache.allows('r1', '10.0.0.1'), cache.allows('r1', '10.0.0.2'), cache.allows('r1', '8.8.8.8')]);
    await new Promise((resolve) => setImmediate(resolve));
    releaseLoad();
    expect(await answers).toEqual([true, true, false]);
    expect(queries).toEqual(['r1']);
  });

  it('reloads after an invalidation, and a load that began before it does not put the old list back', async () => {
    const rows = { r1: { ip_allowlist_enabled: true, ip_allowlist: ['10.0.0.0/8'] } };
    const { cache, queries, holdLoads, releaseLoad } = setup(rows);
    holdLoads();
    const stale = cache.allows('r1', '10.0.0.1');
    await new Promise((resolve) => setImmediate(resolve));
    rows.r1 = { ip_allowlist_enabled: true, ip_allowlist: ['192.0.2.0/24'] };
    await cache.publish({ retailerIds: ['r1'] });
    releaseLoad();
    expect(await stale).toBe(true);
    // The stale answer was not cached: the next request reads the new list.
    expect(await cache.allows('r1', '10.0.0.1')).toBe(false);
    expect(await cache.allows('r1', '192.0.2.9')).toBe(true);
    expect(queries).toEqual(['r1', 'r1']);
  });
});

describe('RetailerIpAllowlistGuard', () => {
  const contextFor = (req: Partial<HttpRequest>) => ({ switchToHttp: () => ({ getRequest: () => req }) }) as unknown as ExecutionContext;

  it("refuses with IP_NOT_ALLOWED an address outside the principal's retailer list, using the normalised client address", async () => {
    const { cache } = setup({ r1: { ip_allowlist_enabled: true, ip_allowlist: ['10.0.0.0/8'] } });
    const guard = new RetailerIpAllowlistGuard(cache);
    const inside = { ip: '::ffff:10.1.2.3', socket: {}, user: { retailerId: 'r1' } } as unknown as HttpRequest;
    await expect(guard.canActivate(contextFor(inside))).resolves.toBe(true);
    const outside = { ip: '192.0.2.1', socket: {}, user: { retailerId: 'r1' } } as unknown as HttpRequest;
    await expect(guard.canActivate(contextFor(outside))).rejects.toMatchObject({ code: 'IP_NOT_ALLOWED', status: 403 });
  });

  it('refuses a request without a retailer principal', async () => {
    const { cache } = setup({});
    const guard = new RetailerIpAllowlistGuard(cache);
    await expect(guard.canActivate(contextFor({ ip: '10.0.0.1' } as Partial<HttpRequest>))).rejects.toBeInstanceOf(ApiError);
  });
});
