/**
 * Load shedding for the whole app: the app's onRequest hook asks the memory monitor's LoadShedder
 * whether this request may run, and answers 503 problem+json with Retry-After when it may not.
 * Low-priority routes go first (shed mode `low`), then everything but the exempt routes (`all`).
 *
 * A route picks its priority with `config: { shed: 'low' | 'normal' | 'exempt' }`; otherwise the
 * path lists decide (memory.exemptRoutes, memory.lowPriorityRoutes). When nothing is being shed the
 * gate costs one property read.
 */
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { Engine } from '../engine.js';
import type { LoadShedder, RequestPriority } from '../../platform/memory/shedder.js';
import { problemFor, sendProblem } from './problem.js';

declare module 'fastify' {
  interface FastifyContextConfig {
    /** Load-shedding priority of the route (see src/runtime/server/shedding.ts). */
    shed?: RequestPriority;
  }
}

export interface SheddingOptions {
  shedder: LoadShedder;
  /** Paths never shed: an entry matches itself and everything under it (`/health`, `/health/x`). A function is read per shed decision (live config). */
  exempt?: readonly string[] | (() => readonly string[]);
  /** Paths shed first, matched the same way. */
  lowPriority?: readonly string[] | (() => readonly string[]);
}

export const DEFAULT_EXEMPT = ['/health', '/metrics'] as const;

function matches(path: string, entries: readonly string[]): boolean {
  for (const e of entries) if (path === e || (path.startsWith(e) && (e.endsWith('/') || path.charCodeAt(e.length) === 47))) return true;
  return false;
}

/** The priority of a request: the route's own `config.shed`, else the path lists, else normal. */
export function priorityOf(req: FastifyRequest, exempt: readonly string[], lowPriority: readonly string[]): RequestPriority {
  const own = req.routeOptions.config?.shed;
  if (own) return own;
  const path = req.routeOptions.url ?? req.url.split('?')[0]!;
  if (matches(path, exempt)) return 'exempt';
  if (matches(path, lowPriority)) return 'low';
  return 'normal';
}

/** Answers a request with 503 when the shedder says so; true when it did (the caller stops there). */
export type SheddingGate = (req: FastifyRequest, reply: FastifyReply) => boolean;

/**
 * The shedding decision for the app's onRequest hook (src/runtime/server/app.ts), which calls it
 * after auth: one hook per request instead of two.
 */
export function sheddingGate(opts: SheddingOptions): SheddingGate {
  const { shedder } = opts;
  const list = (v: readonly string[] | (() => readonly string[]) | undefined, def: readonly string[]): (() => readonly string[]) => {
    if (typeof v === 'function') return v;
    const fixed = [...(v ?? def)];
    return () => fixed;
  };
  const exempt = list(opts.exempt, DEFAULT_EXEMPT);
  const low = list(opts.lowPriority, []);
  return (req, reply) => {
    if (shedder.mode === 'off') return false;
    const priority = priorityOf(req, exempt(), low());
    if (shedder.admits(priority)) return false;
    shedder.recordShed(priority === 'low' ? 'low' : 'normal');
    const detail =
      shedder.mode === 'all'
        ? `the server is under critical memory pressure and sheds all but health and metrics; retry after ${shedder.retryAfterSeconds} s`
        : `the server is under memory pressure and sheds low-priority routes; retry after ${shedder.retryAfterSeconds} s`;
    void sendProblem(reply.header('retry-after', String(shedder.retryAfterSeconds)), problemFor('SERVER_OVERLOADED', detail, req));
    return true;
  };
}

/** The engine's shedding: its shedder and the live route lists from `memory.shed`. */
export function engineSheddingGate(engine: Engine): SheddingGate {
  return sheddingGate({ shedder: engine.memory.shedder, exempt: () => engine.settings.memory.shed.exemptRoutes, lowPriority: () => engine.settings.memory.shed.lowPriorityRoutes });
}
