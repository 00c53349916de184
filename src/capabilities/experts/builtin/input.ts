/**
 * What the built-in experts read: a deployment review made of the spec, the validator's findings,
 * the probe results and the log analysis. The shapes are loose on purpose (each part optional, a few
 * spellings accepted) and normalised here once, so a half-filled or odd context never crashes an
 * expert: what cannot be read is left out, and the expert says how much it could inspect.
 */

export interface ReviewPort {
  port: number;
  public: boolean;
  protocol: string | null;
  tls: boolean | null;
}

export interface ReviewService {
  name: string;
  image: string | null;
  /** null when the spec does not say. */
  replicas: number | null;
  ports: ReviewPort[];
  healthcheck: boolean;
  /** CPU cores per replica, null when unset. */
  cpu: number | null;
  /** Memory per replica in MiB, null when unset. */
  memoryMb: number | null;
  env: Record<string, string>;
  privileged: boolean;
  user: string | null;
}

export interface ReviewFinding {
  rule: string;
  severity: 'error' | 'warning' | 'info';
  message: string;
  path: string | null;
  line: number | null;
}

export interface ReviewProbe {
  host: string;
  port: number;
  state: 'open' | 'closed' | 'filtered' | 'error';
  latencyMs: number | null;
  service: string | null;
  health: { ok: boolean; status: number | null; latencyMs: number | null; error: string | null } | null;
}

export interface ReviewLogs {
  lines: number;
  levels: Record<string, number>;
  top: Array<{ message: string; count: number; level: string | null }>;
}

export interface ReviewInput {
  spec: { name: string | null; services: ReviewService[] } | null;
  findings: ReviewFinding[] | null;
  probes: ReviewProbe[] | null;
  logs: ReviewLogs | null;
}

export const REVIEW_LIMITS = { services: 1_000, ports: 1_000, env: 1_000, findings: 10_000, probes: 100_000, top: 1_000 } as const;

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);
const str = (v: unknown): string | null => (typeof v === 'string' ? v : typeof v === 'number' ? String(v) : null);
const nonNeg = (v: unknown): number | null => (typeof v === 'number' && Number.isFinite(v) && v >= 0 ? v : null);

/** CPU as cores: 2, "2", "500m", "0.5". */
export function parseCpu(v: unknown): number | null {
  if (typeof v === 'number') return nonNeg(v);
  if (typeof v !== 'string') return null;
  const m = /^\s*(\d+(?:\.\d+)?)\s*(m)?\s*$/i.exec(v);
  if (!m) return null;
  const x = Number(m[1]);
  return m[2] ? x / 1000 : x;
}

/**
 * Memory in MiB from "512Mi", "1Gi", "1G", "256M", "1048576k", or a bare number of bytes (as the
 * spec capability normalises it, and as docker-compose's mem_limit means it).
 */
export function parseMemoryMb(v: unknown): number | null {
  if (typeof v === 'number') {
    const b = nonNeg(v);
    return b === null ? null : b / 1048576;
  }
  if (typeof v !== 'string') return null;
  const m = /^\s*(\d+(?:\.\d+)?)\s*([kmgt]i?b?|b)?\s*$/i.exec(v);
  if (!m) return null;
  const x = Number(m[1]);
  const unit = (m[2] ?? 'b').toLowerCase().replace(/b$/, '') || 'b';
  const factor: Record<string, number> = { b: 1 / 1048576, k: 1000 / 1048576, ki: 1 / 1024, m: 1e6 / 1048576, mi: 1, g: 1e9 / 1048576, gi: 1024, t: 1e12 / 1048576, ti: 1048576 };
  const f = factor[unit];
  return f === undefined ? null : x * f;
}

function ports(v: unknown): ReviewPort[] {
  if (!Array.isArray(v)) return [];
  const out: ReviewPort[] = [];
  for (const p of v.slice(0, REVIEW_LIMITS.ports)) {
    if (typeof p === 'number' || typeof p === 'string') {
      // "8080", "80:8080" (published:target), "127.0.0.1:80:8080"
      const parts = String(p).split(':');
      const published = Number(parts.length > 1 ? parts[parts.length - 2] : parts[0]);
      if (Number.isInteger(published) && published > 0 && published < 65536) {
        const boundLocal = parts.length === 3 && /^(127\.|localhost|::1)/.test(parts[0]!);
        out.push({ port: published, public: parts.length > 1 && !boundLocal, protocol: null, tls: null });
      }
    } else if (isObj(p)) {
      const port = Number(p.port ?? p.published ?? p.containerPort ?? p.target);
      if (!Number.isInteger(port) || port <= 0 || port >= 65536) continue;
      out.push({
        port,
        public: p.public === true || p.exposed === true || p.expose === true,
        protocol: str(p.protocol) ?? str(p.scheme),
        tls: typeof p.tls === 'boolean' ? p.tls : null,
      });
    }
  }
  return out;
}

function env(v: unknown): Record<string, string> {
  const out: Record<string, string> = {};
  let n = 0;
  if (Array.isArray(v)) {
    for (const e of v) {
      if (n++ >= REVIEW_LIMITS.env) break;
      if (typeof e === 'string') {
        const i = e.indexOf('=');
        if (i > 0) out[e.slice(0, i)] = e.slice(i + 1);
      } else if (isObj(e) && typeof e.name === 'string') {
        const val = str(e.value);
        if (val !== null) out[e.name] = val;
      }
    }
  } else if (isObj(v)) {
    for (const [k, val] of Object.entries(v)) {
      if (n++ >= REVIEW_LIMITS.env) break;
      const s = str(val);
      if (s !== null) out[k] = s;
    }
  }
  return out;
}

function service(name: string, s: Obj): ReviewService {
  const resources = isObj(s.resources) ? s.resources : {};
  const limits = isObj(resources.limits) ? resources.limits : resources;
  const replicasRaw = s.replicas ?? (isObj(s.deploy) ? s.deploy.replicas : undefined);
  const hc = s.healthcheck ?? s.healthCheck ?? s.health ?? s.readinessProbe ?? s.livenessProbe;
  return {
    name,
    image: str(s.image),
    replicas: typeof replicasRaw === 'number' && Number.isInteger(replicasRaw) && replicasRaw >= 0 ? replicasRaw : null,
    ports: ports(s.ports),
    healthcheck: hc !== undefined && hc !== null && hc !== false && !(isObj(hc) && hc.disable === true),
    cpu: parseCpu(limits.cpu ?? limits.cpus ?? s.cpu ?? s.cpus),
    memoryMb: parseMemoryMb(limits.memory ?? limits.mem ?? s.memory ?? s.mem_limit),
    env: env(s.env ?? s.environment),
    privileged: s.privileged === true,
    user: str(s.user),
  };
}

function spec(v: unknown): ReviewInput['spec'] {
  if (!isObj(v)) return null;
  const services: ReviewService[] = [];
  if (Array.isArray(v.services)) {
    for (const [i, s] of v.services.slice(0, REVIEW_LIMITS.services).entries()) {
      if (isObj(s)) services.push(service(str(s.name) ?? `service-${i + 1}`, s));
    }
  } else if (isObj(v.services)) {
    for (const [name, s] of Object.entries(v.services).slice(0, REVIEW_LIMITS.services)) if (isObj(s)) services.push(service(name, s));
  } else return null;
  return { name: str(v.name), services };
}

function findings(v: unknown): ReviewFinding[] | null {
  if (!Array.isArray(v)) return null;
  const out: ReviewFinding[] = [];
  for (const f of v.slice(0, REVIEW_LIMITS.findings)) {
    if (!isObj(f)) continue;
    const sev = str(f.severity ?? f.level)?.toLowerCase();
    const severity = sev === 'error' || sev === 'fatal' || sev === 'critical' ? 'error' : sev === 'warning' || sev === 'warn' ? 'warning' : 'info';
    out.push({ rule: str(f.rule ?? f.code ?? f.id) ?? 'unnamed', severity, message: str(f.message) ?? '', path: str(f.path ?? f.key), line: nonNeg(f.line) });
  }
  return out;
}

function probes(v: unknown): ReviewProbe[] | null {
  const list = Array.isArray(v) ? v : isObj(v) && Array.isArray(v.results) ? v.results : null;
  if (!list) return null;
  const out: ReviewProbe[] = [];
  for (const p of list.slice(0, REVIEW_LIMITS.probes)) {
    if (!isObj(p)) continue;
    const port = Number(p.port);
    if (!Number.isInteger(port) || port <= 0 || port >= 65536) continue;
    const st = str(p.state ?? p.status)?.toLowerCase();
    const state = st === 'open' || st === 'closed' || st === 'filtered' ? st : p.open === true ? 'open' : p.open === false ? 'closed' : 'error';
    const h = isObj(p.health) ? p.health : null;
    out.push({
      host: str(p.host) ?? '',
      port,
      state,
      latencyMs: nonNeg(p.latencyMs ?? p.rttMs),
      service: str(p.service),
      health: h ? { ok: h.ok === true, status: nonNeg(h.status), latencyMs: nonNeg(h.latencyMs), error: str(h.error) } : null,
    });
  }
  return out;
}

function logs(v: unknown): ReviewLogs | null {
  if (!isObj(v)) return null;
  const levels: Record<string, number> = {};
  if (isObj(v.levels)) for (const [k, n] of Object.entries(v.levels)) if (typeof n === 'number' && n >= 0) levels[k.toLowerCase()] = n;
  const counted = Object.values(levels).reduce((a, b) => a + b, 0);
  const lines = nonNeg(v.lines ?? v.total ?? v.totalLines) ?? counted;
  // `top` (all lines) and `topProblems` (warn and worse) of the log analysis, each message once.
  const top: ReviewLogs['top'] = [];
  const seen = new Set<string>();
  for (const list of [v.topProblems, v.top ?? v.topMessages]) {
    if (!Array.isArray(list)) continue;
    for (const t of list.slice(0, REVIEW_LIMITS.top)) {
      if (!isObj(t) || typeof t.message !== 'string' || seen.has(t.message) || top.length >= REVIEW_LIMITS.top) continue;
      seen.add(t.message);
      top.push({ message: t.message, count: nonNeg(t.count) ?? 1, level: str(t.level)?.toLowerCase() ?? null });
    }
  }
  return { lines, levels, top };
}

/** Reads a review context; null when it holds none of spec, findings, probes or logs. */
export function readReviewInput(context: unknown): ReviewInput | null {
  if (!isObj(context)) return null;
  const input: ReviewInput = {
    spec: spec(context.spec),
    findings: findings(context.findings),
    probes: probes(context.probes ?? context.probe),
    logs: logs(context.logs),
  };
  return input.spec || input.findings || input.probes || input.logs ? input : null;
}

export function isLoopback(host: string): boolean {
  return host === 'localhost' || host === '::1' || host === '[::1]' || /^127\./.test(host);
}
