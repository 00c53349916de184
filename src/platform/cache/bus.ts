import type { Redis } from 'ioredis';
import { lazyPackr } from './msgpack.js';

/** What one instance tells the others: s = keys set, d = keys deleted, t = tags deleted, c = prefixes cleared, r = leases released. */
export type BusKind = 's' | 'd' | 't' | 'c' | 'r';

export interface BusMessage {
  origin: string;
  kind: BusKind;
  items: string[];
  /** For `s`: the write id of each key's new value (see codec.ts), same order as `items`. */
  ids: number[] | undefined;
}

export interface BusOptions {
  /** The subscribed connection (owned by the bus: closed with it). */
  subscriber: Redis;
  /** The connection to publish on (shared with L2, not owned). */
  publisher: Redis;
  channel: string;
  /** This instance's id: its own messages come back and are ignored. */
  instanceId: string;
  onMessage: (msg: BusMessage) => void;
  /** The subscriber connection came back after a drop: messages may have been missed meanwhile. */
  onReconnect: () => void;
  onWarning?: (message: string, details?: Record<string, unknown>) => void;
}

const MAX_ITEMS_PER_MESSAGE = 1000;
const KINDS = new Set<string>(['s', 'd', 't', 'c', 'r']);

/**
 * Invalidation bus over Redis pub/sub. Publishes issued in one tick are coalesced into one message
 * per kind (a burst of 1,000 sets costs one PUBLISH, not 1,000). Delivery is at most once: an instance
 * whose subscription dropped assumes it missed something and its owner drops L1 (`onReconnect`).
 */
export class InvalidationBus {
  private readonly sub: Redis;
  private readonly pub: Redis;
  private readonly channel: string;
  private readonly instanceId: string;
  private readonly onMessage: (msg: BusMessage) => void;
  private readonly onReconnect: () => void;
  private readonly onWarning: BusOptions['onWarning'];
  private readonly packr = lazyPackr({ useRecords: false });
  private readonly outbox = new Map<BusKind, { items: string[]; ids: number[] }>();
  private scheduled = false;
  private everReady = false;
  private closed = false;
  published = 0;
  received = 0;
  reconnects = 0;
  dropped = 0;

  constructor(opts: BusOptions) {
    this.sub = opts.subscriber;
    this.pub = opts.publisher;
    this.channel = opts.channel;
    this.instanceId = opts.instanceId;
    this.onMessage = opts.onMessage;
    this.onReconnect = opts.onReconnect;
    this.onWarning = opts.onWarning;
    this.sub.on('error', () => {
      // reported by the L2 connection already; a subscriber error is only a reconnect to come
    });
    this.sub.on('ready', () => {
      if (this.everReady) {
        this.reconnects++;
        // Drop L1 once the subscription is live again (ioredis resubscribes on its own; this SUBSCRIBE
        // is idempotent and tells us when): dropping earlier would leave a window where a copy read
        // from L2 could go stale with nobody listening.
        const done = (): void => {
          if (!this.closed) this.onReconnect();
        };
        this.sub.subscribe(this.channel).then(done, done);
      }
      this.everReady = true;
    });
    this.sub.on('messageBuffer', (channel: Buffer, data: Buffer) => {
      if (channel.toString() === this.channel) this.receive(data);
    });
    this.sub.subscribe(this.channel).catch((err: Error) => this.onWarning?.(`cache bus cannot subscribe: ${err.message}`, { channel: this.channel }));
  }

  /** Resolves true once subscribed, false after `ms`. */
  waitReady(ms: number): Promise<boolean> {
    if (this.sub.status === 'ready') return Promise.resolve(true);
    return new Promise((resolve) => {
      const onReady = (): void => {
        clearTimeout(timer);
        resolve(true);
      };
      const timer = setTimeout(() => {
        this.sub.off('ready', onReady);
        resolve(false);
      }, ms);
      this.sub.once('ready', onReady);
    });
  }

  get connected(): boolean {
    return this.sub.status === 'ready';
  }

  publish(kind: BusKind, items: readonly string[], ids?: readonly number[]): void {
    if (this.closed || items.length === 0) return;
    let box = this.outbox.get(kind);
    if (box === undefined) this.outbox.set(kind, (box = { items: [], ids: [] }));
    for (let i = 0; i < items.length; i++) {
      box.items.push(items[i]!);
      if (kind === 's') box.ids.push(ids?.[i] ?? 0);
    }
    if (!this.scheduled) {
      this.scheduled = true;
      setImmediate(() => this.flush());
    }
  }

  /** Sends what is queued now (close() and tests call it; otherwise it runs once per tick). */
  flush(): Promise<void> {
    this.scheduled = false;
    const sends: Array<Promise<unknown>> = [];
    for (const [kind, { items, ids }] of this.outbox) {
      for (let i = 0; i < items.length; i += MAX_ITEMS_PER_MESSAGE) {
        const slice = items.slice(i, i + MAX_ITEMS_PER_MESSAGE);
        const payload = this.packr().pack(kind === 's' ? [1, this.instanceId, kind, slice, ids.slice(i, i + MAX_ITEMS_PER_MESSAGE)] : [1, this.instanceId, kind, slice]);
        if (this.pub.status !== 'ready') {
          this.dropped++;
          continue;
        }
        this.published++;
        sends.push(
          this.pub.publish(this.channel, payload).catch(() => {
            this.dropped++;
          }),
        );
      }
    }
    this.outbox.clear();
    return Promise.all(sends).then(() => undefined);
  }

  private receive(data: Buffer): void {
    let msg: unknown;
    try {
      msg = this.packr().unpack(data);
    } catch {
      return; // not ours (another program on the channel)
    }
    if (!Array.isArray(msg) || msg[0] !== 1 || typeof msg[1] !== 'string' || !KINDS.has(msg[2]) || !Array.isArray(msg[3])) return;
    if (msg[1] === this.instanceId) return;
    const raw = msg[3] as unknown[];
    if (raw.length > MAX_ITEMS_PER_MESSAGE || !raw.every((x) => typeof x === 'string')) return;
    const ids = Array.isArray(msg[4]) && msg[4].length === raw.length && (msg[4] as unknown[]).every((x) => typeof x === 'number') ? (msg[4] as number[]) : undefined;
    this.received++;
    try {
      this.onMessage({ origin: msg[1], kind: msg[2] as BusKind, items: raw as string[], ids });
    } catch (err) {
      this.onWarning?.(`cache bus handler failed: ${(err as Error).message}`);
    }
  }

  async close(): Promise<void> {
    if (this.closed) return;
    await this.flush();
    this.closed = true;
    this.sub.removeAllListeners('ready');
    this.sub.disconnect();
  }
}
