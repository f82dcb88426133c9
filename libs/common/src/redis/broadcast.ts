import type Redis from 'ioredis';
import type { AppLogger } from '../logging/logger';
import type { RedisService } from './redis.service';

export interface BroadcastHandlers<T> {
  /** Applies an event (published here or by another instance). */
  apply(event: T): void;
  /** After every (re)subscription: messages may have been missed, so rebuild or drop local state. */
  resync(): void;
  /** Refuses a malformed message (optional). */
  isValid?(event: unknown): event is T;
}

/**
 * One Redis pub/sub channel between the instances of a deployment, for state each instance
 * keeps in memory (revocations, role changes, cache invalidations). `publish` applies the event
 * here at once, then tells the others; without Redis (one instance) it only applies it here.
 * Postgres stays the source of truth: a publish that fails is logged, and the others converge
 * at their next resync or cache expiry.
 */
export class Broadcast<T> {
  private subscriber: Redis | null = null;
  private readonly channel: string;

  constructor(
    private readonly redis: RedisService,
    private readonly logger: AppLogger,
    name: string,
    private readonly handlers: BroadcastHandlers<T>,
  ) {
    this.channel = redis.channelName(name);
  }

  async start(): Promise<void> {
    if (!this.redis.enabled || this.subscriber) return;
    this.subscriber = this.redis.createSubscriber();
    this.subscriber.on('message', (channel: string, message: string) => {
      if (channel !== this.channel) return;
      try {
        const event = JSON.parse(message) as unknown;
        if (this.handlers.isValid && !this.handlers.isValid(event)) throw new Error('invalid');
        this.handlers.apply(event as T);
      } catch {
        this.logger.warn({ channel: this.channel }, 'ignored a malformed broadcast message');
      }
    });
    // ioredis's own re-subscription after a reconnect (autoResubscribe) leaves its promise
    // unhandled, and a connection closed before the reply arrives would reject it into the void;
    // the subscriber re-subscribes here instead (see RedisService.createSubscriber).
    let connectedBefore = false;
    this.subscriber.on('ready', () => {
      if (connectedBefore) void this.subscribe();
      connectedBefore = true;
      this.handlers.resync();
    });
    await this.subscribe();
  }

  private subscribe(): Promise<void> {
    return this.subscriber!.subscribe(this.channel).then(
      () => undefined,
      (err: Error) => this.logger.warn({ channel: this.channel, err: err.message }, 'broadcast subscribe failed'),
    );
  }

  async publish(event: T): Promise<void> {
    this.handlers.apply(event);
    if (!this.redis.client) return;
    try {
      await this.redis.client.publish(this.channel, JSON.stringify(event));
    } catch (err) {
      this.logger.warn({ channel: this.channel, err: (err as Error).message }, 'could not publish; other instances converge at their next resync');
    }
  }
}
