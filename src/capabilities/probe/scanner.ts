/**
 * The TCP connect scan engine: addresses × ports, each attempt a fresh socket, at most `limit` in
 * flight. Where the time goes on loopback is the kernel (socket, connect, close: ~20 µs each) and
 * the per-socket cost in JavaScript; so the default dialer skips net.Socket (a stream with its
 * buffers, timers and events) and drives libuv's TCP handle directly, the same handle net.Socket
 * wraps. One shared FIFO holds the deadlines (every attempt has the same timeout, so deadlines are
 * in launch order) instead of one timer per socket. The net.Socket dialer stays as the fallback
 * (flag `probe.rawSockets`), and is chosen automatically when the internal binding is missing.
 *
 * A connect that "succeeds" is checked before it counts as open: on loopback the kernel may pick,
 * as the ephemeral source port, the very port being probed, and the socket then connects to
 * itself (TCP simultaneous open); two of our own sockets can likewise connect to each other. Both
 * are recognised from the local address and port and reported closed.
 */
import { Socket } from 'node:net';
import { constants as osConstants } from 'node:os';
import { ProbeError } from './errors.js';

export const PortState = { Pending: 0, Open: 1, Closed: 2, Filtered: 3 } as const;
export type PortState = (typeof PortState)[keyof typeof PortState];

/** One address and the ports to try on it. */
export interface ScanJob {
  address: string;
  family: 4 | 6;
  ports: readonly number[];
}

export interface EngineOptions {
  timeoutMs: number;
  /** Ceiling of the adaptive limit. */
  maxConcurrency: number;
  /** Floor of the adaptive limit. Default min(8, max). */
  minConcurrency?: number;
  /** Starting limit. Default min(64, max). */
  initialConcurrency?: number;
  /** Bind every attempt to this local port (nmap's --source-port); forces one attempt at a time. */
  sourcePort?: number;
  /** `raw` (libuv TCP handles, default when available) or `net` (net.Socket). */
  dialer?: 'raw' | 'net';
  signal?: AbortSignal;
  /** Called about every 1% of attempts and at the end. */
  onProgress?: (done: number, total: number) => void;
}

export interface EngineStats {
  dialer: 'raw' | 'net';
  attempts: number;
  /** Attempts retried after a local resource error (EMFILE, EADDRNOTAVAIL...). */
  retries: number;
  /** Connects rejected as self- or cross-connects of our own sockets. */
  selfConnects: number;
  peakConcurrency: number;
  finalConcurrency: number;
}

export interface EngineResult {
  /** states[j][p]: PortState of job j, port index p. */
  states: Uint8Array[];
  /** Milliseconds from connect() to the answer (timeout for filtered). */
  latency: Float32Array[];
  stats: EngineStats;
}

type Outcome = PortState | 'retry' | 'ignore';

// Negative libuv status → outcome. Local resource errors are not answers from the target: retry.
const ERRNO = osConstants.errno as Record<string, number>;
const OUTCOME_BY_CODE: Record<string, Outcome> = {
  ECONNREFUSED: PortState.Closed,
  ECONNRESET: PortState.Closed,
  ECONNABORTED: PortState.Closed,
  ETIMEDOUT: PortState.Filtered,
  EHOSTUNREACH: PortState.Filtered,
  ENETUNREACH: PortState.Filtered,
  EHOSTDOWN: PortState.Filtered,
  ENETDOWN: PortState.Filtered,
  EACCES: PortState.Filtered,
  EPERM: PortState.Filtered,
  EMFILE: 'retry',
  ENFILE: 'retry',
  ENOBUFS: 'retry',
  ENOMEM: 'retry',
  EAGAIN: 'retry',
  EADDRNOTAVAIL: 'retry',
  EADDRINUSE: 'retry',
  ECANCELED: 'ignore',
};
const OUTCOME_BY_STATUS = new Map<number, Outcome>();
for (const [name, outcome] of Object.entries(OUTCOME_BY_CODE)) if (ERRNO[name] !== undefined) OUTCOME_BY_STATUS.set(-ERRNO[name]!, outcome);
const MAX_RETRIES = 8;
/** Answers slower than QUEUE_FACTOR × the fastest (and by more than QUEUE_MIN_MS) are queueing on us. */
const QUEUE_FACTOR = 3;
const QUEUE_MIN_MS = 0.5;
/** Starting window. */
const INITIAL_WINDOW = 64;

// ---- the raw dialer: libuv TCP handles through Node's internal tcp_wrap binding ----------------

interface SockName {
  address?: string;
  port?: number;
}
interface TcpHandle {
  connect(req: ConnectReq, address: string, port: number): number;
  connect6(req: ConnectReq, address: string, port: number): number;
  bind(address: string, port: number): number;
  bind6(address: string, port: number, flags: number): number;
  getsockname(out: SockName): number;
  close(): void;
}
interface ConnectReq {
  oncomplete: (status: number, handle: TcpHandle) => void;
  attempt: number;
}
interface TcpBinding {
  TCP: new (type: number) => TcpHandle;
  TCPConnectWrap: new () => ConnectReq;
  constants: { SOCKET: number };
}

let rawBinding: TcpBinding | null | undefined;
/** The internal binding, or null where this Node does not expose it (then the net dialer is used). */
export function tcpBinding(): TcpBinding | null {
  if (rawBinding === undefined) {
    try {
      const b = (process as unknown as { binding(name: string): TcpBinding }).binding('tcp_wrap');
      rawBinding = b && typeof b.TCP === 'function' && typeof b.TCPConnectWrap === 'function' && typeof b.TCP.prototype.connect === 'function' ? b : null;
    } catch (_) {
      rawBinding = null;
    }
  }
  return rawBinding;
}

// ---- the scheduler --------------------------------------------------------------------------------

class Scan {
  readonly states: Uint8Array[];
  readonly latency: Float32Array[];
  readonly stats: EngineStats;
  private readonly total: number;
  /** Attempt index → job index, and → port index within the job. */
  private readonly jobOf: Uint32Array;
  private readonly portOf: Uint32Array;
  private next = 0;
  private done = 0;
  private inflight = 0;
  private limit: number;
  private readonly min: number;
  private readonly max: number;
  private readonly started: Float64Array;
  private readonly handles: Array<TcpHandle | Socket | undefined>;
  private readonly retriesLeft: Uint8Array;
  private readonly retryQueue: number[] = [];
  /** Attempt indices in launch order; deadlines are started[i] + timeout, so the head expires first. */
  private fifo: Int32Array;
  private fifoHead = 0;
  private fifoTail = 0;
  private lastDecrease = 0;
  /** Smoothed and fastest answer latency (ms) of non-filtered attempts. */
  private ewmaMs = 0;
  private baseMs = Number.POSITIVE_INFINITY;
  private lastSweep = performance.now();
  private progressStep: number;
  private nextProgress: number;
  private timer: NodeJS.Timeout | undefined;
  private resolve!: () => void;
  private reject!: (e: unknown) => void;
  private failed = false;
  private onAbort: (() => void) | undefined;
  /** Open attempts: local port, for the cross-connect check. */
  private readonly openLocal = new Map<number, number>();
  private readonly binding: TcpBinding | null;
  private readonly onRawComplete: (status: number, handle: TcpHandle) => void;

  constructor(
    private readonly jobs: readonly ScanJob[],
    private readonly opts: EngineOptions,
  ) {
    this.total = jobs.reduce((n, j) => n + j.ports.length, 0);
    this.jobOf = new Uint32Array(this.total);
    this.portOf = new Uint32Array(this.total);
    // Interleave jobs (host 1 port 1, host 2 port 1, ...) so no single host takes the whole burst.
    let k = 0;
    const longest = jobs.reduce((n, j) => Math.max(n, j.ports.length), 0);
    for (let p = 0; p < longest; p++) {
      for (let j = 0; j < jobs.length; j++) {
        if (p < jobs[j]!.ports.length) {
          this.jobOf[k] = j;
          this.portOf[k++] = p;
        }
      }
    }
    this.states = jobs.map((j) => new Uint8Array(j.ports.length));
    this.latency = jobs.map((j) => new Float32Array(j.ports.length));
    this.started = new Float64Array(this.total);
    this.handles = new Array(this.total);
    this.retriesLeft = new Uint8Array(this.total).fill(MAX_RETRIES);
    this.fifo = new Int32Array(Math.min(this.total, 1 << 16) + 16);
    const single = opts.sourcePort !== undefined;
    this.max = single ? 1 : Math.max(1, opts.maxConcurrency);
    this.min = single ? 1 : Math.max(1, Math.min(opts.minConcurrency ?? 8, this.max));
    this.limit = single ? 1 : Math.max(this.min, Math.min(opts.initialConcurrency ?? INITIAL_WINDOW, this.max));
    this.binding = opts.dialer === 'net' ? null : tcpBinding();
    this.stats = { dialer: this.binding ? 'raw' : 'net', attempts: 0, retries: 0, selfConnects: 0, peakConcurrency: 0, finalConcurrency: this.limit };
    this.progressStep = Math.max(1, Math.floor(this.total / 100));
    this.nextProgress = this.progressStep;
    // One callback for every request (no closure per attempt); libuv calls it with the request as `this`.
    const complete = (i: number, status: number, handle: TcpHandle): void => this.rawComplete(i, status, handle);
    this.onRawComplete = function (this: ConnectReq, status: number, handle: TcpHandle) {
      complete(this.attempt, status, handle);
    };
  }

  run(): Promise<void> {
    if (this.total === 0) return Promise.resolve();
    return new Promise<void>((resolve, reject) => {
      this.resolve = resolve;
      this.reject = reject;
      const signal = this.opts.signal;
      if (signal) {
        if (signal.aborted) return this.fail(new ProbeError('PROBE_ABORTED', 'the scan was aborted', {}));
        this.onAbort = () => this.fail(new ProbeError('PROBE_ABORTED', 'the scan was aborted', {}));
        signal.addEventListener('abort', this.onAbort, { once: true });
      }
      const tick = Math.max(5, Math.min(50, Math.floor(this.opts.timeoutMs / 4)));
      this.timer = setInterval(() => this.sweep(), tick);
      this.pump();
    });
  }

  private fail(err: unknown): void {
    if (this.failed) return;
    this.failed = true;
    this.finish();
    for (let i = 0; i < this.handles.length; i++) if (this.handles[i]) this.closeHandle(i);
    this.reject(err);
  }

  private finish(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    // A long-lived signal (a server's) must not keep a listener per finished scan.
    if (this.onAbort) this.opts.signal?.removeEventListener('abort', this.onAbort);
    this.onAbort = undefined;
    this.stats.finalConcurrency = this.limit;
  }

  private pump(): void {
    while (this.inflight < this.limit && !this.failed) {
      let i: number;
      if (this.retryQueue.length > 0) i = this.retryQueue.pop()!;
      else if (this.next < this.total) i = this.next++;
      else break;
      this.launch(i);
    }
    if (this.inflight > this.stats.peakConcurrency) this.stats.peakConcurrency = this.inflight;
  }

  private launch(i: number): void {
    const a = this.jobs[this.jobOf[i]!]!;
    const port = a.ports[this.portOf[i]!]!;
    this.inflight++;
    this.stats.attempts++;
    this.started[i] = performance.now();
    this.pushFifo(i);
    if (this.binding) {
      const h = new this.binding.TCP(this.binding.constants.SOCKET);
      let err = 0;
      if (this.opts.sourcePort !== undefined) err = a.family === 4 ? h.bind('0.0.0.0', this.opts.sourcePort) : h.bind6('::', this.opts.sourcePort, 0);
      if (err === 0) {
        const req = new this.binding.TCPConnectWrap();
        req.oncomplete = this.onRawComplete;
        req.attempt = i;
        err = a.family === 4 ? h.connect(req, a.address, port) : h.connect6(req, a.address, port);
      }
      if (err !== 0) {
        h.close();
        // Settle on a later turn: a synchronous failure (EMFILE...) must not recurse into pump().
        setImmediate(() => this.settle(i, OUTCOME_BY_STATUS.get(err) ?? PortState.Filtered));
        return;
      }
      this.handles[i] = h;
    } else {
      const s = new Socket();
      this.handles[i] = s;
      s.once('connect', () => this.netConnected(i, s));
      s.once('error', (e: NodeJS.ErrnoException) => {
        if (this.handles[i] === s) {
          this.handles[i] = undefined;
          this.settle(i, OUTCOME_BY_CODE[e.code ?? ''] ?? PortState.Filtered);
        }
      });
      s.connect(this.opts.sourcePort !== undefined
        ? { host: a.address, port, family: a.family, localPort: this.opts.sourcePort, localAddress: a.family === 4 ? '0.0.0.0' : '::' }
        : { host: a.address, port, family: a.family });
    }
  }

  private rawComplete(i: number, status: number, handle: TcpHandle): void {
    if (this.handles[i] !== handle) return; // timed out or aborted already; the handle is closed
    this.handles[i] = undefined;
    if (status === 0) {
      const out: SockName = {};
      handle.getsockname(out);
      handle.close();
      this.connected(i, out.address, out.port);
      return;
    }
    handle.close();
    this.settle(i, OUTCOME_BY_STATUS.get(status) ?? PortState.Filtered);
  }

  private netConnected(i: number, s: Socket): void {
    if (this.handles[i] !== s) return;
    this.handles[i] = undefined;
    const localAddress = s.localAddress;
    const localPort = s.localPort;
    s.resetAndDestroy();
    this.connected(i, localAddress, localPort);
  }

  private connected(i: number, localAddress: string | undefined, localPort: number | undefined): void {
    const a = this.jobs[this.jobOf[i]!]!;
    const port = a.ports[this.portOf[i]!]!;
    if (localPort === port && localAddress !== undefined && sameAddress(localAddress, a.address)) {
      this.stats.selfConnects++;
      this.settle(i, PortState.Closed);
      return;
    }
    if (localPort !== undefined) this.openLocal.set(i, localPort);
    this.settle(i, PortState.Open);
  }

  private settle(i: number, outcome: Outcome): void {
    if (outcome === 'ignore') return;
    this.inflight--;
    if (outcome === 'retry') {
      if (this.retriesLeft[i]! > 0) {
        this.retriesLeft[i]!--;
        this.stats.retries++;
        this.retryQueue.push(i);
        this.decrease(0.5, true);
        // Give the kernel a moment to release what it ran out of.
        setTimeout(() => this.pump(), 5);
        return;
      }
      outcome = PortState.Filtered;
    }
    this.record(i, outcome);
    if (outcome !== PortState.Filtered) this.adapt(this.latency[this.jobOf[i]!]![this.portOf[i]!]!);
    this.pump();
  }

  private record(i: number, state: PortState): void {
    const ai = this.jobOf[i]!;
    const pi = this.portOf[i]!;
    this.states[ai]![pi] = state;
    this.latency[ai]![pi] = performance.now() - this.started[i]!;
    this.done++;
    if (this.done >= this.nextProgress || this.done === this.total) {
      this.nextProgress += this.progressStep;
      this.opts.onProgress?.(this.done, this.total);
    }
    if (this.done === this.total) {
      this.finish();
      this.rejectCrossConnects();
      this.resolve();
    }
  }

  /**
   * Additive change per answer, after TCP Vegas: compare the smoothed answer time with the fastest
   * seen. Near it, answers wait on the network, and more attempts in flight raise throughput: grow
   * (a WAN scan climbs to the ceiling). Well above it, answers wait on us — the CPU is the
   * bottleneck (loopback, a LAN, a loaded machine) and every extra attempt in flight only adds
   * latency and work: shrink.
   */
  private adapt(latencyMs: number): void {
    if (latencyMs < this.baseMs) this.baseMs = latencyMs;
    this.ewmaMs = this.ewmaMs === 0 ? latencyMs : this.ewmaMs * 0.9 + latencyMs * 0.1;
    const queued = this.ewmaMs > QUEUE_FACTOR * this.baseMs && this.ewmaMs - this.baseMs > QUEUE_MIN_MS;
    if (!queued) {
      if (this.limit < this.max) this.limit++;
    } else if (this.limit > this.min) this.limit--;
  }

  /** Multiplicative decrease, at most once per timeout period unless `force` (a resource error). */
  private decrease(factor: number, force: boolean): void {
    const now = performance.now();
    if (!force && now - this.lastDecrease < this.opts.timeoutMs) return;
    this.lastDecrease = now;
    this.limit = Math.max(this.min, Math.floor(this.limit * factor));
  }

  private pushFifo(i: number): void {
    if (this.fifoTail === this.fifo.length) {
      // Compact, or grow when the live part fills the buffer.
      const live = this.fifo.subarray(this.fifoHead, this.fifoTail);
      const next = live.length * 2 > this.fifo.length ? new Int32Array(this.fifo.length * 2) : this.fifo;
      next.set(live, 0);
      this.fifo = next;
      this.fifoTail = live.length;
      this.fifoHead = 0;
    }
    this.fifo[this.fifoTail++] = i;
  }

  private sweep(): void {
    // Expire against the time of the *previous* sweep: every answer that arrived before then has
    // been through a poll phase since, so a busy event loop never turns a late read into "filtered".
    const now = this.lastSweep;
    this.lastSweep = performance.now();
    const timeout = this.opts.timeoutMs;
    let expired = false;
    while (this.fifoHead < this.fifoTail) {
      const i = this.fifo[this.fifoHead]!;
      if (this.handles[i] === undefined) {
        this.fifoHead++; // finished already
        continue;
      }
      if (this.started[i]! + timeout > now) break;
      this.fifoHead++;
      this.closeHandle(i);
      this.inflight--;
      expired = true;
      this.record(i, PortState.Filtered);
      if (this.failed || this.done === this.total) return;
    }
    if (expired) {
      this.decrease(0.75, false);
      this.pump();
    }
  }

  private closeHandle(i: number): void {
    const h = this.handles[i];
    this.handles[i] = undefined;
    if (!h) return;
    if (h instanceof Socket) h.destroy();
    else h.close();
  }

  /** Two of our own sockets that connected to each other (A: L→R, B: R→L on one address) are not open ports. */
  private rejectCrossConnects(): void {
    if (this.openLocal.size < 2) return;
    const key = (i: number, a: number, b: number): string => `${this.jobs[this.jobOf[i]!]!.address}|${a}|${b}`;
    const byKey = new Set<string>();
    for (const [i, local] of this.openLocal) byKey.add(key(i, local, this.jobs[this.jobOf[i]!]!.ports[this.portOf[i]!]!));
    for (const [i, local] of this.openLocal) {
      const remote = this.jobs[this.jobOf[i]!]!.ports[this.portOf[i]!]!;
      if (byKey.has(key(i, remote, local))) {
        this.states[this.jobOf[i]!]![this.portOf[i]!] = PortState.Closed;
        this.stats.selfConnects++;
      }
    }
  }
}

function sameAddress(a: string, b: string): boolean {
  if (a === b) return true;
  const strip = (x: string): string => (x.startsWith('::ffff:') ? x.slice(7) : x).toLowerCase();
  return strip(a) === strip(b);
}

/** Tries every port of every job. Resolves when each attempt has an answer or timed out. */
export async function connectScan(jobs: readonly ScanJob[], opts: EngineOptions): Promise<EngineResult> {
  const scan = new Scan(jobs, opts);
  await scan.run();
  return { states: scan.states, latency: scan.latency, stats: scan.stats };
}
