import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { HashPool } from './hash-pool';

/** A field of each of this process's threads' /proc stat line (after the command name). */
function threadStatField(index: number): number[] {
  return readdirSync('/proc/self/task').map((tid) => Number(readFileSync(`/proc/self/task/${tid}/stat`, 'utf8').split(') ')[1].split(' ')[index]));
}
/** Nice values of this process's threads (Linux /proc): the hashing threads are the reniced ones. */
const threadNiceValues = () => threadStatField(16);
/** Scheduling policies of this process's threads: 0 SCHED_OTHER, 5 SCHED_IDLE. */
const threadPolicies = () => threadStatField(38);

describe('HashPool', () => {
  const pools: HashPool[] = [];
  const pool = (size: number, nice: number, idlePolicy = false) => {
    const p = new HashPool(size, nice, idlePolicy);
    pools.push(p);
    return p;
  };
  afterAll(() => Promise.all(pools.map((p) => p.close())));

  it('hashes and compares with bcrypt', async () => {
    const p = pool(2, 0);
    const hash = await p.hash('a password', 4);
    expect(hash).toMatch(/^\$2b\$04\$/);
    await expect(p.compare('a password', hash)).resolves.toBe(true);
    await expect(p.compare('another password', hash)).resolves.toBe(false);
  });

  const onLinux = process.platform === 'linux' ? it : it.skip; // reason: per-thread priorities are read from /proc
  onLinux('runs its threads at a lower priority than the event loop', async () => {
    const before = threadNiceValues().filter((n) => n === 7).length;
    const p = pool(2, 7);
    await Promise.all([p.hash('x', 4), p.hash('y', 4)]);
    expect(threadNiceValues().filter((n) => n === 7).length - before).toBe(2);
    expect(threadNiceValues()[0]).toBe(0); // the main thread (tid = pid, listed first) keeps its priority
  });

  const withChrt = process.platform === 'linux' && existsSync('/usr/bin/chrt') ? it : it.skip; // reason: SCHED_IDLE is set with util-linux's chrt
  withChrt('puts its threads under SCHED_IDLE when asked, and leaves the event loop under the normal policy', async () => {
    const before = threadPolicies().filter((policy) => policy === 5).length;
    const p = pool(2, 19, true);
    await Promise.all([p.hash('x', 4), p.hash('y', 4)]);
    expect(threadPolicies().filter((policy) => policy === 5).length - before).toBe(2);
    expect(threadPolicies()[0]).toBe(0);
    await expect(p.compare('x', await p.hash('x', 4))).resolves.toBe(true);
  });

  it('runs at most `size` hashes at once and answers every queued one in order', async () => {
    const p = pool(1, 0);
    const order: number[] = [];
    await Promise.all([0, 1, 2, 3].map((i) => p.hash(`pw${i}`, 4).then(() => order.push(i))));
    expect(order).toEqual([0, 1, 2, 3]);
  });

  it('rejects a failing task without losing the thread, and rejects everything once closed', async () => {
    const p = pool(1, 0);
    await expect(p.hash('x', 'not a cost' as unknown as number)).rejects.toThrow();
    await expect(p.compare('x', await p.hash('x', 4))).resolves.toBe(true);
    await p.close();
    await expect(p.hash('x', 4)).rejects.toThrow('closed');
  });
});
