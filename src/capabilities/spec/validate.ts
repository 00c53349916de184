/**
 * The rules, in one walk over the parsed documents. Findings carry a path (not a position): the
 * caller turns paths into lines only when there is something to report, so a valid spec costs a
 * parse and this walk, nothing more.
 */
import { isIP } from 'node:net';
import type * as Levenshtein from 'fastest-levenshtein';
import { lazyRequire } from '../../platform/lazy.js';
import type { Segment } from './limits.js';
import { RULES, type RuleId } from './rules.js';
import { secretReason } from './secrets.js';
import type { DeploymentSpec, GlobalSpec, HealthCheck, ServiceSpec } from './types.js';
import { formatCpu, formatMemory, parseCpu, parseMemory } from './units.js';

const levenshtein = lazyRequire<typeof Levenshtein>('fastest-levenshtein');

/** A finding before it is located: which document, which path, and whether it points at the key or the value. */
export interface RawFinding {
  doc: number;
  path: Segment[];
  at: 'key' | 'value';
  rule: RuleId;
  message: string;
}

const TOP_KEYS = ['version', 'name', 'global', 'services'];
const GLOBAL_KEYS = ['host', 'replicas', 'cpu', 'memory', 'environment', 'timeoutMs'];
const SERVICE_KEYS = ['host', 'replicas', 'cpu', 'memory', 'ports', 'environment', 'health', 'logs'];
const HEALTH_KEYS = ['tcp', 'http', 'port'];
const PORT_OBJECT_KEYS = ['port', 'name', 'protocol'];
const UNSAFE_KEYS = new Set(['__proto__', 'constructor', 'prototype']);

const MIN_CPU = 0.1;
const MIN_MEMORY = 128 * 1024 * 1024;
const SERVICE_NAME_RE = /^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$/;
const ENV_NAME_RE = /^[A-Za-z_][A-Za-z0-9_]*$/;
const HOST_LABEL_RE = /^(?!-)[A-Za-z0-9-]{1,63}(?<!-)$/;
const DEFAULT_HOST = '127.0.0.1';

type Obj = Record<string, unknown>;

/** A path as a linked list: extending it is one small allocation; it becomes an array only when reported. */
interface Path {
  readonly up: Path | undefined;
  readonly key: Segment;
}
const ROOT: Path | undefined = undefined;
function at(up: Path | undefined, key: Segment): Path {
  return { up, key };
}
const SERVICES = at(undefined, 'services');
const GLOBAL = at(undefined, 'global');
function toArray(p: Path | undefined): Segment[] {
  const out: Segment[] = [];
  for (let n = p; n; n = n.up) out.push(n.key);
  return out.reverse();
}

function isObj(v: unknown): v is Obj {
  return typeof v === 'object' && v !== null && !Array.isArray(v) && !(v instanceof Date);
}

function typeName(v: unknown): string {
  if (v === null || v === undefined) return 'nothing';
  if (Array.isArray(v)) return 'a list';
  if (v instanceof Date) return 'a date';
  if (typeof v === 'object') return 'a mapping';
  return `${typeof v === 'string' ? 'text' : typeof v} ${JSON.stringify(v)?.slice(0, 40)}`;
}

// Hosts repeat across services: remember verdicts, within a bound.
const hostCache = new Map<string, boolean>();
function validHost(h: string): boolean {
  let ok = hostCache.get(h);
  if (ok === undefined) {
    ok = checkHost(h);
    if (hostCache.size >= 1024) hostCache.clear();
    hostCache.set(h, ok);
  }
  return ok;
}

function checkHost(h: string): boolean {
  if (h.length === 0 || h.length > 253) return false;
  if (isIP(h)) return true;
  const labels = (h.endsWith('.') ? h.slice(0, -1) : h).split('.');
  return labels.every((l) => HOST_LABEL_RE.test(l));
}

interface PortUse {
  service: string;
}

class Walker {
  readonly findings: RawFinding[] = [];
  private doc = 0;

  report(path: Path | undefined, rule: RuleId, message: string, where: 'key' | 'value' = 'value'): void {
    this.findings.push({ doc: this.doc, path: toArray(path), at: where, rule, message });
  }

  /** Reports unknown and unsafe keys of `obj`; returns false when obj is not a mapping. */
  keys(obj: Obj, known: readonly string[], path: Path | undefined, where: string): void {
    for (const key of Object.keys(obj)) {
      if (known.includes(key) || key.startsWith('x-')) continue;
      if (UNSAFE_KEYS.has(key)) this.report(at(path, key), 'schema.unsafe-key', `the key "${key}" is not allowed`, 'key');
      else {
        const { closest, distance } = levenshtein();
        const guess = closest(key.toLowerCase(), known as string[]);
        const near = guess !== undefined && distance(key.toLowerCase(), guess.toLowerCase()) <= Math.max(2, Math.floor(guess.length / 3));
        this.report(at(path, key), 'schema.unknown-key', `unknown key "${key}" in ${where}${near ? `; did you mean "${guess}"?` : ` (known: ${known.join(', ')})`}`, 'key');
      }
    }
  }

  run(docs: readonly unknown[]): DeploymentSpec {
    const global: GlobalSpec = { host: DEFAULT_HOST, replicas: 1, cpu: undefined, memory: undefined, environment: {}, timeoutMs: undefined };
    const globalSet = new Set<string>();
    let name: string | undefined;
    let sawServices = false;
    const tops: Array<{ doc: number; obj: Obj }> = [];

    // Pass 1: document shape, name, global (services need the global defaults, which may come later).
    for (let d = 0; d < docs.length; d++) {
      this.doc = d;
      const doc = docs[d];
      if (doc === null || doc === undefined) continue;
      if (!isObj(doc)) {
        this.report(ROOT, 'schema.type', `a spec document must be a mapping, found ${typeName(doc)}`);
        continue;
      }
      tops.push({ doc: d, obj: doc });
      this.keys(doc, TOP_KEYS, ROOT, 'the spec');
      if (doc.version !== undefined && typeof doc.version !== 'number' && typeof doc.version !== 'string') this.report(at(ROOT, 'version'), 'schema.type', `version must be a number or text, found ${typeName(doc.version)}`);
      if (doc.name !== undefined) {
        if (typeof doc.name === 'string') name = doc.name;
        else this.report(at(ROOT, 'name'), 'schema.type', `name must be text, found ${typeName(doc.name)}`);
      }
      if (doc.global !== undefined) this.global(doc.global, global, globalSet);
      if (doc.services !== undefined) sawServices = true;
    }

    // Pass 2: services.
    const services: ServiceSpec[] = [];
    const seen = new Map<string, number>();
    const ports = new Map<string, Map<number, PortUse>>();
    for (const { doc: d, obj } of tops) {
      this.doc = d;
      const raw = obj.services;
      if (raw === undefined || raw === null) continue;
      if (!isObj(raw)) {
        this.report(at(ROOT, 'services'), 'schema.type', `services must be a mapping of name to service, found ${typeName(raw)}`);
        continue;
      }
      for (const svcName of Object.keys(raw)) {
        const path = at(SERVICES, svcName);
        if (UNSAFE_KEYS.has(svcName)) {
          this.report(path, 'schema.unsafe-key', `the key "${svcName}" is not allowed`, 'key');
          continue;
        }
        if (!SERVICE_NAME_RE.test(svcName)) this.report(path, 'service.name', `service name "${svcName.slice(0, 80)}" must be 1-63 letters, digits, ".", "-" or "_", starting with a letter or digit`, 'key');
        const earlier = seen.get(svcName);
        if (earlier !== undefined) {
          this.report(path, 'service.duplicate', `service "${svcName}" is already declared in document ${earlier + 1}`, 'key');
          continue;
        }
        seen.set(svcName, d);
        const svc = this.service(svcName, raw[svcName], path, global, ports);
        if (svc) services.push(svc);
      }
    }
    if (!sawServices) {
      this.doc = 0;
      this.report(ROOT, 'schema.required', 'the spec declares no services (a top-level "services" mapping is required)');
    }
    return { name, global, services };
  }

  private global(raw: unknown, global: GlobalSpec, set: Set<string>): void {
    const path = GLOBAL;
    if (!isObj(raw)) {
      this.report(path, 'schema.type', `global must be a mapping, found ${typeName(raw)}`);
      return;
    }
    this.keys(raw, GLOBAL_KEYS, path, 'global');
    for (const key of GLOBAL_KEYS) {
      if (raw[key] === undefined) continue;
      if (set.has(key)) this.report(at(GLOBAL, key), 'global.duplicate', `global.${key} is set in an earlier document too; this value wins`, 'key');
      set.add(key);
    }
    if (raw.host !== undefined) global.host = this.host(raw.host, at(GLOBAL, 'host')) ?? global.host;
    if (raw.replicas !== undefined) global.replicas = this.replicas(raw.replicas, at(GLOBAL, 'replicas')) ?? global.replicas;
    if (raw.cpu !== undefined) global.cpu = this.cpu(raw.cpu, at(GLOBAL, 'cpu'));
    if (raw.memory !== undefined) global.memory = this.memory(raw.memory, at(GLOBAL, 'memory'));
    if (raw.environment !== undefined) global.environment = this.environment(raw.environment, at(GLOBAL, 'environment'), global.environment);
    if (raw.timeoutMs !== undefined) {
      const t = raw.timeoutMs;
      if (typeof t === 'number' && Number.isInteger(t) && t >= 1 && t <= 60_000) global.timeoutMs = t;
      else this.report(at(GLOBAL, 'timeoutMs'), 'schema.type', `global.timeoutMs must be an integer from 1 to 60000, found ${typeName(t)}`);
    }
  }

  private service(name: string, raw: unknown, path: Path, global: GlobalSpec, ports: Map<string, Map<number, PortUse>>): ServiceSpec | undefined {
    if (raw === null || raw === undefined) raw = {};
    if (!isObj(raw)) {
      this.report(path, 'schema.type', `service "${name}" must be a mapping, found ${typeName(raw)}`);
      return undefined;
    }
    this.keys(raw, SERVICE_KEYS, path, `service "${name}"`);
    const host = raw.host !== undefined ? (this.host(raw.host, at(path, 'host')) ?? global.host) : global.host;
    const replicas = raw.replicas !== undefined ? (this.replicas(raw.replicas, at(path, 'replicas')) ?? global.replicas) : global.replicas;
    const cpu = raw.cpu !== undefined ? this.cpu(raw.cpu, at(path, 'cpu')) : global.cpu;
    const memory = raw.memory !== undefined ? this.memory(raw.memory, at(path, 'memory')) : global.memory;
    const environment = raw.environment !== undefined ? this.environment(raw.environment, at(path, 'environment'), global.environment) : Object.assign({}, global.environment);
    const portList = raw.ports !== undefined ? this.ports(name, host, raw.ports, at(path, 'ports'), ports) : [];
    const health = raw.health !== undefined ? this.health(raw.health, at(path, 'health'), portList) : undefined;
    const logs = raw.logs !== undefined ? this.logs(raw.logs, at(path, 'logs')) : [];
    return { name, host, replicas, cpu, memory, ports: portList, environment, health, logs };
  }

  private host(v: unknown, path: Path): string | undefined {
    if (typeof v !== 'string') {
      this.report(path, 'schema.type', `host must be text, found ${typeName(v)}`);
      return undefined;
    }
    const h = v.trim();
    const bare = h.startsWith('[') && h.endsWith(']') ? h.slice(1, -1) : h;
    if (!validHost(bare)) {
      this.report(path, 'host.invalid', `host "${h.slice(0, 80)}" is neither an IP address nor a valid host name`);
      return undefined;
    }
    return bare.toLowerCase();
  }

  private replicas(v: unknown, path: Path): number | undefined {
    if (typeof v === 'number' && Number.isInteger(v) && v >= 1 && v <= 1_000_000) return v;
    this.report(path, 'replicas.positive', `replicas must be a positive integer, found ${typeName(v)}`);
    return undefined;
  }

  private cpu(v: unknown, path: Path): number | undefined {
    const cores = parseCpu(v);
    if (cores === undefined) {
      this.report(path, 'units.cpu', `cannot read cpu ${typeName(v)}; use millicores (250m) or cores (0.5, 2)`);
      return undefined;
    }
    if (cores < MIN_CPU) this.report(path, 'resources.cpu-min', `cpu ${formatCpu(cores)} is below the minimum of 100m`);
    return cores;
  }

  private memory(v: unknown, path: Path): number | undefined {
    const bytes = parseMemory(v);
    if (bytes === undefined) {
      this.report(path, 'units.memory', `cannot read memory ${typeName(v)}; use 512Mi, 1Gi, 1G, 128M or a number of bytes`);
      return undefined;
    }
    if (bytes < MIN_MEMORY) this.report(path, 'resources.memory-min', `memory ${typeof v === 'string' ? v : formatMemory(bytes)} is below the minimum of 128Mi`);
    return bytes;
  }

  private port(v: unknown, path: Path, what: string): number | undefined {
    const n = typeof v === 'string' && /^\d{1,6}$/.test(v.trim()) ? Number(v) : v;
    if (typeof n === 'number' && Number.isInteger(n) && n >= 1 && n <= 65535) return n;
    if (typeof n === 'number') this.report(path, 'ports.range', `${what} ${n} is outside 1-65535`);
    else this.report(path, 'schema.type', `${what} must be an integer from 1 to 65535, found ${typeName(v)}`);
    return undefined;
  }

  private ports(service: string, host: string, raw: unknown, path: Path, uses: Map<string, Map<number, PortUse>>): number[] {
    if (!Array.isArray(raw)) {
      this.report(path, 'schema.type', `ports must be a list, found ${typeName(raw)}`);
      return [];
    }
    const out: number[] = [];
    for (let i = 0; i < raw.length; i++) {
      const item = raw[i];
      const ip: Path = at(path, i);
      let port: number | undefined;
      if (isObj(item)) {
        this.keys(item, PORT_OBJECT_KEYS, ip, 'a port');
        if (item.port === undefined) this.report(ip, 'schema.required', 'a port entry needs "port"');
        else port = this.port(item.port, at(ip, 'port'), 'port');
        if (item.protocol !== undefined && item.protocol !== 'tcp') this.report(at(ip, 'protocol'), 'schema.type', `protocol must be "tcp" (the only protocol probed), found ${typeName(item.protocol)}`);
      } else port = this.port(item, ip, 'port');
      if (port === undefined) continue;
      if (out.includes(port)) {
        this.report(ip, 'ports.duplicate', `port ${port} is listed twice in service "${service}"`);
        continue;
      }
      out.push(port);
      let onHost = uses.get(host);
      if (!onHost) uses.set(host, (onHost = new Map()));
      const other = onHost.get(port);
      if (other) this.report(ip, 'ports.conflict', `port ${port} on host ${host} is already used by service "${other.service}"`);
      else onHost.set(port, { service });
    }
    return out;
  }

  /** Reads an environment mapping into a copy of `base` (the global environment, for a service). */
  private environment(raw: unknown, path: Path, base?: Record<string, string>): Record<string, string> {
    if (!isObj(raw)) {
      this.report(path, 'schema.type', `environment must be a mapping of NAME to value, found ${typeName(raw)}`);
      return Object.assign({}, base);
    }
    // Check every entry first; the common case (all text, no unsafe key) is then one Object.assign.
    let clean = true;
    for (const key in raw) {
      const v = raw[key];
      if (UNSAFE_KEYS.has(key)) {
        this.report(at(path, key), 'schema.unsafe-key', `the key "${key}" is not allowed`, 'key');
        clean = false;
        continue;
      }
      if (!ENV_NAME_RE.test(key)) this.envReport(path, key, 'environment.name', `environment name "${key.slice(0, 80)}" should be letters, digits and underscores, not starting with a digit`, 'key');
      if (typeof v === 'string') {
        const reason = secretReason(key, v);
        if (reason) this.envReport(path, key, 'environment.secret', `${key} looks like a secret in clear text (${reason}); use a reference such as \${${ENV_NAME_RE.test(key) ? key : 'NAME'}}`, 'value');
        continue;
      }
      clean = false;
      if (typeof v !== 'number' && typeof v !== 'boolean' && v !== null) this.envReport(path, key, 'schema.type', `environment value must be text, a number or a boolean, found ${typeName(v)}`, 'value');
    }
    if (clean) return base ? Object.assign({}, base, raw) as Record<string, string> : Object.assign({}, raw) as Record<string, string>;
    // Object.assign, not a spread: V8 makes keyed stores into a spread copy ~40x slower.
    const out: Record<string, string> = Object.assign({}, base);
    for (const key of Object.keys(raw)) {
      if (UNSAFE_KEYS.has(key)) continue;
      const v = raw[key];
      if (typeof v === 'string') out[key] = v;
      else if (typeof v === 'number' || typeof v === 'boolean') out[key] = String(v);
      else if (v === null) out[key] = '';
    }
    return out;
  }

  private envReport(path: Path, key: string, rule: RuleId, message: string, where: 'key' | 'value'): void {
    this.report(at(path, key), rule, message, where);
  }


  private health(raw: unknown, path: Path, ports: readonly number[]): HealthCheck | undefined {
    if (!isObj(raw)) {
      this.report(path, 'health.invalid', `health must be { tcp: PORT } or { http: PATH, port: PORT }, found ${typeName(raw)}`);
      return undefined;
    }
    this.keys(raw, HEALTH_KEYS, path, 'health');
    const hasTcp = raw.tcp !== undefined;
    const hasHttp = raw.http !== undefined;
    if (hasTcp === hasHttp) {
      this.report(path, 'health.invalid', hasTcp ? 'health has both tcp and http; choose one' : 'health needs either tcp: PORT or http: PATH with port: PORT');
      return undefined;
    }
    let check: HealthCheck | undefined;
    let portPath: Path;
    if (hasTcp) {
      portPath = at(path, 'tcp');
      if (raw.port !== undefined) this.report(at(path, 'port'), 'health.invalid', 'a tcp health check takes its port in tcp: PORT; remove port', 'key');
      const port = this.port(raw.tcp, portPath, 'health.tcp port');
      if (port !== undefined) check = { kind: 'tcp', port };
    } else {
      portPath = at(path, 'port');
      const p = raw.http;
      let okPath: string | undefined;
      if (typeof p !== 'string' || !p.startsWith('/') || p.length > 2048 || /\s/.test(p)) this.report(at(path, 'http'), 'health.invalid', `health.http must be a path starting with "/", found ${typeName(p)}`);
      else okPath = p;
      let port: number | undefined;
      if (raw.port === undefined) this.report(path, 'schema.required', 'an http health check needs port: PORT', 'key');
      else port = this.port(raw.port, portPath, 'health.port');
      if (okPath !== undefined && port !== undefined) check = { kind: 'http', path: okPath, port };
    }
    if (check && ports.length > 0 && !ports.includes(check.port)) {
      this.report(portPath, 'health.port-undeclared', `health check port ${check.port} is not among the service ports (${ports.join(', ')})`);
    }
    return check;
  }

  private logs(raw: unknown, path: Path): string[] {
    if (!Array.isArray(raw)) {
      this.report(path, 'schema.type', `logs must be a list of file paths, found ${typeName(raw)}`);
      return [];
    }
    const out: string[] = [];
    for (let i = 0; i < raw.length; i++) {
      const p = raw[i];
      if (typeof p === 'string' && p.trim().length > 0 && p.length <= 4096 && !p.includes('\0')) out.push(p);
      else this.report(at(path, i), 'logs.path', `a log path must be non-empty text, found ${typeName(p)}`);
    }
    return out;
  }
}

/** Runs every rule over the documents; returns the normalized spec and the unlocated findings. */
export function validateDocuments(docs: readonly unknown[]): { spec: DeploymentSpec; findings: RawFinding[] } {
  const w = new Walker();
  const spec = w.run(docs);
  return { spec, findings: w.findings };
}

export function severityOf(rule: RuleId): 'error' | 'warning' {
  return RULES[rule].severity;
}
