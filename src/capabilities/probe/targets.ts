/**
 * Reading targets and port lists, and the allowlist that keeps the prober pointed at networks the
 * operator named. Everything here runs before a single packet: a denied target is refused while
 * the scan is still a plan.
 */
import { BlockList, isIP, isIPv4, isIPv6 } from 'node:net';
import { ProbeError } from './errors.js';
import { wellKnownPorts } from './services.js';

export type ParsedTarget =
  | { kind: 'ip'; input: string; address: string; family: 4 | 6; port?: number }
  | { kind: 'cidr'; input: string; network: string; prefix: number; family: 4 | 6 }
  | { kind: 'name'; input: string; name: string; port?: number };

const HOSTNAME_RE = /^(?=.{1,253}$)(?!-)[A-Za-z0-9-]{1,63}(?<!-)(\.(?!-)[A-Za-z0-9-]{1,63}(?<!-))*\.?$/;

/**
 * `127.0.0.1`, `::1`, `[::1]`, `localhost`, `10.0.0.0/30`, `fd00::/126`, and the same with a port:
 * `127.0.0.1:8080`, `[::1]:8080`, `localhost:8080`.
 */
export function parseTarget(input: string): ParsedTarget {
  const t = typeof input === 'string' ? input.trim() : '';
  if (t.length === 0 || t.length > 300) throw new ProbeError('PROBE_TARGET_INVALID', `target ${JSON.stringify(String(input).slice(0, 80))} is empty or too long`, { target: String(input).slice(0, 80) });
  const slash = t.indexOf('/');
  if (slash > 0) {
    const network = normalizeAddress(t.slice(0, slash));
    const prefixText = t.slice(slash + 1);
    const family = isIPv4(network) ? 4 : isIPv6(network) ? 6 : 0;
    const prefix = /^\d{1,3}$/.test(prefixText) ? Number(prefixText) : NaN;
    if (family === 0 || !(prefix >= 0 && prefix <= (family === 4 ? 32 : 128))) {
      throw new ProbeError('PROBE_TARGET_INVALID', `target "${t}" is not a CIDR block (e.g. 127.0.0.0/30 or ::1/128)`, { target: t });
    }
    return { kind: 'cidr', input: t, network, prefix, family: family as 4 | 6 };
  }
  let host = t;
  let port: number | undefined;
  const bracket = /^\[([^\]]+)\](?::(\d+))?$/.exec(t);
  if (bracket) {
    host = bracket[1]!;
    if (bracket[2] !== undefined) port = parsePortNumber(bracket[2], t);
  } else if (!isIPv6(t)) {
    const colon = t.lastIndexOf(':');
    if (colon > 0 && t.indexOf(':') === colon) {
      host = t.slice(0, colon);
      port = parsePortNumber(t.slice(colon + 1), t);
    }
  }
  const address = normalizeAddress(host);
  const fam = isIP(address);
  if (fam === 4 || fam === 6) return port === undefined ? { kind: 'ip', input: t, address, family: fam } : { kind: 'ip', input: t, address, family: fam, port };
  if (HOSTNAME_RE.test(host)) {
    const name = host.toLowerCase().replace(/\.$/, '');
    return port === undefined ? { kind: 'name', input: t, name } : { kind: 'name', input: t, name, port };
  }
  throw new ProbeError('PROBE_TARGET_INVALID', `target "${t.slice(0, 80)}" is neither an IP address, a CIDR block nor a host name`, { target: t.slice(0, 80) });
}

function parsePortNumber(text: string, target: string): number {
  const n = /^\d{1,5}$/.test(text) ? Number(text) : NaN;
  if (!(n >= 1 && n <= 65535)) throw new ProbeError('PROBE_PORTS_INVALID', `port "${text}" in target "${target}" is not from 1 to 65535`, { target });
  return n;
}

/** IPv4-mapped IPv6 (`::ffff:10.0.0.1`) becomes plain IPv4, so the allowlist sees the real destination. */
export function normalizeAddress(address: string): string {
  const a = address.startsWith('[') && address.endsWith(']') ? address.slice(1, -1) : address;
  if (isIPv6(a)) {
    const mapped = /^(?:(?:0{1,4}:){5}|::|(?:0{1,4}:){1,4}:)ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(a);
    if (mapped && isIPv4(mapped[1]!)) return mapped[1]!;
    const hex = /^::ffff:([0-9a-f]{1,4}):([0-9a-f]{1,4})$/i.exec(a);
    if (hex) {
      const hi = parseInt(hex[1]!, 16);
      const lo = parseInt(hex[2]!, 16);
      return `${hi >> 8}.${hi & 255}.${lo >> 8}.${lo & 255}`;
    }
    return a.toLowerCase();
  }
  return a;
}

/**
 * `22`, `22,80,443`, `1-1024`, `-` or `all` (1-65535), `well-known` (the labelled ports), or any
 * comma-separated mix. Returns ascending unique ports.
 */
export function parsePorts(spec: string | readonly number[] | undefined): number[] {
  if (spec === undefined) return wellKnownPorts();
  if (Array.isArray(spec)) {
    for (const p of spec) if (!Number.isInteger(p) || p < 1 || p > 65535) throw new ProbeError('PROBE_PORTS_INVALID', `port ${String(p)} is not an integer from 1 to 65535`, { port: p });
    return [...new Set(spec)].sort((a, b) => a - b);
  }
  const text = String(spec).trim();
  if (text.length === 0 || text.length > 10_000) throw new ProbeError('PROBE_PORTS_INVALID', 'the port list is empty or longer than 10,000 characters', {});
  if (text === '-' || text === 'all') return range(1, 65535);
  const seen = new Uint8Array(65536);
  for (const part of text.split(',')) {
    const p = part.trim();
    if (p === 'well-known') {
      for (const w of wellKnownPorts()) seen[w] = 1;
      continue;
    }
    const m = /^(\d{1,5})?(?:(-)(\d{1,5})?)?$/.exec(p);
    if (!m || p === '' || (m[1] === undefined && m[2] === undefined)) throw new ProbeError('PROBE_PORTS_INVALID', `cannot read port "${p.slice(0, 40)}"; use 22, 22,80 or 1-1024`, { ports: p.slice(0, 40) });
    const lo = m[1] !== undefined ? Number(m[1]) : 1;
    const hi = m[2] ? (m[3] !== undefined ? Number(m[3]) : 65535) : lo;
    if (lo < 1 || hi > 65535 || lo > hi) throw new ProbeError('PROBE_PORTS_INVALID', `port range "${p}" is not within 1-65535 (low to high)`, { ports: p });
    for (let x = lo; x <= hi; x++) seen[x] = 1;
  }
  const out: number[] = [];
  for (let x = 1; x <= 65535; x++) if (seen[x]) out.push(x);
  return out;
}

function range(lo: number, hi: number): number[] {
  const out = new Array<number>(hi - lo + 1);
  for (let i = 0; i < out.length; i++) out[i] = lo + i;
  return out;
}

/** Addresses of a CIDR block, at most `max` (else PROBE_LIMIT_EXCEEDED). Network and broadcast included. */
export function expandCidr(t: Extract<ParsedTarget, { kind: 'cidr' }>, max: number): string[] {
  const bits = t.family === 4 ? 32 : 128;
  const count = 2n ** BigInt(bits - t.prefix);
  if (count > BigInt(max)) throw new ProbeError('PROBE_LIMIT_EXCEEDED', `${t.input} holds ${count} addresses, more than the limit of ${max}`, { target: t.input, limit: max });
  const base = toBigInt(t.network, t.family) & ~(count - 1n);
  const out: string[] = [];
  for (let i = 0n; i < count; i++) out.push(fromBigInt(base + i, t.family));
  return out;
}

function toBigInt(address: string, family: 4 | 6): bigint {
  if (family === 4) return address.split('.').reduce((acc, o) => (acc << 8n) + BigInt(Number(o)), 0n);
  const [head, tail] = address.includes('::') ? address.split('::') : [address, undefined];
  const h = head ? head.split(':') : [];
  const tl = tail !== undefined && tail !== '' ? tail.split(':') : [];
  const groups = tail === undefined ? h : [...h, ...new Array(8 - h.length - tl.length).fill('0'), ...tl];
  return groups.reduce((acc, g) => (acc << 16n) + BigInt(parseInt(g || '0', 16)), 0n);
}

function fromBigInt(n: bigint, family: 4 | 6): string {
  if (family === 4) return [24n, 16n, 8n, 0n].map((s) => String((n >> s) & 255n)).join('.');
  const groups: string[] = [];
  for (let s = 112n; s >= 0n; s -= 16n) groups.push(((n >> s) & 0xffffn).toString(16));
  // Compress the longest run of zero groups, as every tool prints IPv6.
  let best = -1;
  let bestLen = 0;
  for (let i = 0; i < 8; ) {
    if (groups[i] !== '0') {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && groups[j] === '0') j++;
    if (j - i > bestLen && j - i > 1) {
      best = i;
      bestLen = j - i;
    }
    i = j;
  }
  if (best < 0) return groups.join(':');
  return `${groups.slice(0, best).join(':')}::${groups.slice(best + bestLen).join(':')}`;
}

/**
 * Which destinations may be probed. Loopback only unless the operator lists more:
 *   const allow = new Allowlist(['127.0.0.0/8', '::1/128', '10.1.2.0/24']);
 *   allow.allows('10.1.2.7') === true
 */
export class Allowlist {
  private readonly list = new BlockList();
  readonly entries: readonly string[];

  constructor(entries: readonly string[] = DEFAULT_ALLOWLIST) {
    const clean: string[] = [];
    for (const e of entries) {
      const t = parseTarget(e);
      if (t.kind === 'cidr') this.list.addSubnet(t.network, t.prefix, t.family === 4 ? 'ipv4' : 'ipv6');
      else if (t.kind === 'ip') this.list.addAddress(t.address, t.family === 4 ? 'ipv4' : 'ipv6');
      else throw new ProbeError('PROBE_TARGET_INVALID', `allowlist entry "${e}" must be an IP address or a CIDR block, not a name`, { entry: e });
      clean.push(t.input);
    }
    this.entries = clean;
  }

  allows(address: string): boolean {
    const a = normalizeAddress(address);
    const fam = isIP(a);
    if (fam === 0) return false;
    return this.list.check(a, fam === 4 ? 'ipv4' : 'ipv6');
  }
}

export const DEFAULT_ALLOWLIST: readonly string[] = Object.freeze(['127.0.0.0/8', '::1/128']);
