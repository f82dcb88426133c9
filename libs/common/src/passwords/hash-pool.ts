import { Worker } from 'node:worker_threads';

/**
 * The code of one hashing thread: lowers its own scheduling priority (per-thread on Linux), then
 * runs bcrypt's synchronous functions one message at a time. Evaluated from a string so the same
 * code runs from the compiled service and from the TypeScript sources under test.
 */
const WORKER_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
const os = require('node:os');
if (workerData.nice > 0) {
  try { os.setPriority(0, workerData.nice); } catch { /* a platform without per-thread priorities: run as is */ }
}
if (workerData.idlePolicy && process.platform === 'linux') {
  // SCHED_IDLE: the thread runs only when no other thread of the machine wants the CPU. Node has
  // no call for sched_setscheduler, so util-linux's chrt sets it on this thread's id; lowering a
  // policy needs no privilege. Without chrt (a minimal image) the nice value above still applies.
  try {
    const tid = require('node:fs').readlinkSync('/proc/thread-self').split('/').pop();
    require('node:child_process').execFileSync('chrt', ['--idle', '-p', '0', tid], { stdio: 'ignore', timeout: 5000 });
  } catch { /* keep the nice value */ }
}
const bcrypt = require(workerData.bcryptPath);
parentPort.on('message', ({ id, op, a, b }) => {
  try {
    const result = op === 'hash' ? bcrypt.hashSync(a, b) : bcrypt.compareSync(a, b);
    parentPort.postMessage({ id, result });
  } catch (err) {
    parentPort.postMessage({ id, error: String(err && err.message || err) });
  }
});
`;

interface Task {
  id: number;
  op: 'hash' | 'compare';
  a: string;
  b: string | number;
  resolve(value: unknown): void;
  reject(err: Error): void;
}

interface Slot {
  worker: Worker;
  task: Task | null;
}

/**
 * bcrypt on a few dedicated threads whose priority is lowered (`nice`): when a login flood keeps
 * every thread hashing, the operating system still runs the event loop first, so the requests
 * that do not hash (every guarded route) keep their latency; the hashing threads take all the
 * CPU that is left, so login throughput stays what the cores allow. One task per thread at a
 * time; the rest wait here in order. A thread that dies is replaced and its task rejected.
 */
export class HashPool {
  private readonly slots: Slot[] = [];
  private readonly queue: Task[] = [];
  private nextId = 1;
  private closed = false;

  constructor(
    private readonly size: number,
    private readonly nice: number,
    /** Linux: also put the threads under SCHED_IDLE (PASSWORD_HASH_IDLE_POLICY). */
    private readonly idlePolicy = false,
  ) {}

  hash(password: string, cost: number): Promise<string> {
    return this.run('hash', password, cost) as Promise<string>;
  }

  compare(password: string, hash: string): Promise<boolean> {
    return this.run('compare', password, hash) as Promise<boolean>;
  }

  async close(): Promise<void> {
    this.closed = true;
    for (const task of this.queue.splice(0)) task.reject(new Error('the hashing pool is closed'));
    await Promise.all(this.slots.splice(0).map((slot) => slot.worker.terminate()));
  }

  private run(op: Task['op'], a: string, b: string | number): Promise<unknown> {
    if (this.closed) return Promise.reject(new Error('the hashing pool is closed'));
    return new Promise((resolve, reject) => {
      this.queue.push({ id: this.nextId++, op, a, b, resolve, reject });
      this.dispatch();
    });
  }

  private dispatch(): void {
    while (this.queue.length) {
      const slot = this.slots.find((s) => s.task === null) ?? (this.slots.length < this.size ? this.spawn() : undefined);
      if (!slot) return;
      const task = this.queue.shift()!;
      slot.task = task;
      slot.worker.postMessage({ id: task.id, op: task.op, a: task.a, b: task.b });
    }
  }

  private spawn(): Slot {
    const worker = new Worker(WORKER_SOURCE, { eval: true, workerData: { nice: this.nice, idlePolicy: this.idlePolicy, bcryptPath: require.resolve('bcrypt') } });
    // Idle hashing threads never keep a process alive (tests, CLI commands).
    worker.unref();
    const slot: Slot = { worker, task: null };
    worker.on('message', (message: { id: number; result?: unknown; error?: string }) => {
      const task = slot.task;
      slot.task = null;
      if (task && task.id === message.id) {
        if (message.error !== undefined) task.reject(new Error(message.error));
        else task.resolve(message.result);
      }
      this.dispatch();
    });
    const fail = (err: Error) => {
      const index = this.slots.indexOf(slot);
      if (index >= 0) this.slots.splice(index, 1);
      slot.task?.reject(err);
      slot.task = null;
      if (!this.closed) this.dispatch();
    };
    worker.on('error', fail);
    worker.on('exit', (code) => fail(new Error(`hashing thread exited (${code})`)));
    this.slots.push(slot);
    return slot;
  }
}
