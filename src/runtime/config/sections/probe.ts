import type { Static } from '@sinclair/typebox';
import { Type } from '../schema-builder.js';
import { createDnsLookup, type HttpGet, type ProberOptions } from '../../../capabilities/probe/index.js';
import type { MetricsRegistry } from '../../../platform/metrics/types.js';

/**
 * The prober and the checks (src/capabilities/probe, src/capabilities/check, README "Deployment specs").
 *
 * `allowlist` defaults to loopback only: POST /v1/probes and POST /v1/checks connect wherever the
 * request says, so any other network must be named here by an operator. Every key is live: a change
 * builds a new prober (its cache starts empty).
 */
export const probeSection = Type.Object(
  {
    allowlist: Type.Array(Type.String({ minLength: 1, maxLength: 64 }), {
      default: ['127.0.0.0/8', '::1/128'],
      maxItems: 256,
      live: true,
      description: 'Addresses and CIDR blocks the prober may connect to (names are checked after resolution). Anything else is refused with PROBE_TARGET_DENIED before a packet is sent.',
    }),
    timeoutMs: Type.Integer({ default: 1000, minimum: 1, maximum: 60_000, live: true, description: 'Per-attempt connect timeout; an attempt without an answer is reported filtered. A spec\'s global.timeoutMs overrides it for a check.' }),
    maxConcurrency: Type.Integer({ default: 512, minimum: 1, maximum: 8192, live: true, description: 'Ceiling of the adaptive concurrency limit (connects in flight); a request may ask for fewer.' }),
    cacheTtlMs: Type.Integer({ default: 30_000, minimum: 0, maximum: 86_400_000, live: true, description: 'How long a probe result is reused (checks always probe afresh); 0 disables the cache. Sweeps of more than 4,096 attempts cache their open and filtered results only.' }),
    cacheMaxEntries: Type.Integer({ default: 100_000, minimum: 1, maximum: 10_000_000, live: true, description: 'Most cached results (address × port), least recently used evicted first.' }),
    maxAddresses: Type.Integer({ default: 256, minimum: 1, maximum: 65_536, live: true, description: 'Most addresses one request may expand to (CIDR blocks, names with several addresses).' }),
    maxAttempts: Type.Integer({ default: 262_144, minimum: 1, maximum: 16_777_216, live: true, description: 'Most address × port attempts in one request (262,144: four full hosts).' }),
    dnsServers: Type.Array(Type.String({ minLength: 1, maxLength: 64 }), {
      default: [],
      maxItems: 8,
      live: true,
      description: 'DNS servers (ip or ip:port) asked for A and AAAA records of target names; empty: the system resolver (hosts file, then DNS).',
    }),
    degradedLatencyMs: Type.Integer({ default: 1000, minimum: 1, maximum: 600_000, live: true, description: 'A check reports an up service as degraded when its health check (or slowest port) takes longer.' }),
  },
  { additionalProperties: false, default: {} },
);

export type ProbeSettings = Static<typeof probeSection>;

/** The Prober options of the `probe` section; the HTTP client, dialer switch and metrics come from the engine. */
export function proberOptions(cfg: ProbeSettings, parts: { httpGet: HttpGet; dialer: () => 'raw' | 'net'; metrics: MetricsRegistry }): ProberOptions {
  return {
    allowlist: cfg.allowlist,
    timeoutMs: cfg.timeoutMs,
    maxConcurrency: cfg.maxConcurrency,
    cacheTtlMs: cfg.cacheTtlMs,
    cacheMaxEntries: cfg.cacheMaxEntries,
    maxAddresses: cfg.maxAddresses,
    maxAttempts: cfg.maxAttempts,
    ...(cfg.dnsServers.length > 0 ? { lookup: createDnsLookup(cfg.dnsServers) } : {}),
    ...parts,
  };
}
