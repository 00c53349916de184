import { isLoopback } from './input.js';
import type { ReviewFinding, ReviewInput, ReviewLogs } from './input.js';

export type Severity = 'critical' | 'high' | 'medium' | 'low';
export type InputKind = 'spec' | 'findings' | 'probes' | 'logs';

/** One thing a rule found, with the action it recommends. */
export interface Hit {
  rule: string;
  severity: Severity;
  /** What was seen. */
  finding: string;
  /** What to do about it. */
  recommendation: string;
}

export interface Rule {
  id: string;
  /** One line: what the rule checks and why. */
  description: string;
  check(input: ReviewInput): Hit[];
}

/** Thresholds the rules use; exported so the docs and tests quote the same numbers. */
export const THRESHOLDS = {
  slowConnectMs: 200,
  verySlowConnectMs: 1_000,
  slowHealthMs: 500,
  verySlowHealthMs: 2_000,
  errorRateMedium: 0.01,
  errorRateHigh: 0.05,
  authFailuresMedium: 10,
  timeoutMessagesMedium: 5,
  timeoutShareHigh: 0.01,
  manyReplicasLow: 10,
  manyReplicasMedium: 50,
  largeCpu: 16,
  largeMemoryMb: 64 * 1024,
  totalCpu: 64,
  totalMemoryMb: 256 * 1024,
  debugShareMedium: 0.5,
  debugMinLines: 1_000,
  tightMemoryMb: 128,
} as const;

const CLEARTEXT: Record<number, [string, string]> = {
  21: ['ftp', 'SFTP or FTPS'],
  23: ['telnet', 'SSH'],
  110: ['pop3', 'POP3S (995)'],
  143: ['imap', 'IMAPS (993)'],
  513: ['rlogin', 'SSH'],
  514: ['rsh', 'SSH'],
};

const DATASTORES: Record<number, string> = {
  3306: 'mysql',
  5432: 'postgresql',
  6379: 'redis',
  27017: 'mongodb',
  9200: 'elasticsearch',
  11211: 'memcached',
  5984: 'couchdb',
  9042: 'cassandra',
};

const SECRET_NAME = /(pass(word|wd)?|secret|token|api[_-]?key|private[_-]?key|credential|access[_-]?key)/i;
const REFERENCE = /^\s*(\$\{[^}]+\}|\$[A-Z_][A-Z0-9_]*|<[^>]+>|secretref:|vault:|ref\+|\{\{.*\}\})/i;

function where(host: string, port: number): string {
  return `${host || 'the target'}:${port}`;
}

function findingHits(findings: readonly ReviewFinding[] | null, rule: string, pattern: RegExp | null, what: string): Hit[] {
  if (!findings) return [];
  const out: Hit[] = [];
  for (const f of findings) {
    if (pattern && !pattern.test(`${f.rule} ${f.message}`)) continue;
    const severity: Severity = f.severity === 'error' ? 'high' : f.severity === 'warning' ? 'medium' : 'low';
    const at = f.line !== null ? ` (line ${f.line})` : f.path ? ` (${f.path})` : '';
    out.push({ rule, severity, finding: `spec ${f.severity} ${f.rule}${at}: ${f.message}`, recommendation: `Fix the ${what} finding ${f.rule}${at}: ${f.message}` });
  }
  return out;
}

function logMatches(logs: ReviewLogs | null, pattern: RegExp): { count: number; samples: string[] } {
  if (!logs) return { count: 0, samples: [] };
  let count = 0;
  const samples: string[] = [];
  for (const t of logs.top) {
    if (pattern.test(t.message)) {
      count += t.count;
      if (samples.length < 3) samples.push(t.message.slice(0, 120));
    }
  }
  return { count, samples };
}

export const SECURITY_RULES: Rule[] = [
  {
    id: 'security/cleartext-protocol',
    description: 'ftp, telnet, pop3, imap, rlogin or rsh open: credentials cross the network in clear text',
    check(input) {
      const hits: Hit[] = [];
      for (const p of input.probes ?? []) {
        const c = CLEARTEXT[p.port];
        if (c && p.state === 'open') hits.push({ rule: this.id, severity: 'high', finding: `${c[0]} open on ${where(p.host, p.port)}`, recommendation: `Close ${c[0]} (port ${p.port}) on ${p.host || 'the target'}; use ${c[1]} instead` });
      }
      for (const s of input.spec?.services ?? []) {
        for (const p of s.ports) {
          const c = CLEARTEXT[p.port];
          if (c) hits.push({ rule: this.id, severity: 'high', finding: `service ${s.name} declares ${c[0]} port ${p.port}`, recommendation: `Remove ${c[0]} (port ${p.port}) from service ${s.name}; use ${c[1]} instead` });
        }
      }
      return hits;
    },
  },
  {
    id: 'security/datastore-exposed',
    description: 'a database or cache port reachable beyond loopback or published publicly',
    check(input) {
      const hits: Hit[] = [];
      for (const p of input.probes ?? []) {
        const d = DATASTORES[p.port];
        if (d && p.state === 'open' && !isLoopback(p.host)) hits.push({ rule: this.id, severity: 'high', finding: `${d} reachable on ${where(p.host, p.port)}`, recommendation: `Keep ${d} (port ${p.port}) on ${p.host} off shared networks: bind it to a private interface or firewall it` });
      }
      for (const s of input.spec?.services ?? []) {
        for (const p of s.ports) {
          const d = DATASTORES[p.port];
          if (d && p.public) hits.push({ rule: this.id, severity: 'high', finding: `service ${s.name} publishes ${d} port ${p.port}`, recommendation: `Do not publish ${d} port ${p.port} of service ${s.name}; reach it over the private network` });
        }
      }
      return hits;
    },
  },
  {
    id: 'security/secret-in-spec',
    description: 'a password, token or key written as a literal value in the spec',
    check(input) {
      const hits: Hit[] = [];
      for (const s of input.spec?.services ?? []) {
        for (const [k, v] of Object.entries(s.env)) {
          if (SECRET_NAME.test(k) && v.trim() !== '' && !REFERENCE.test(v)) {
            hits.push({ rule: this.id, severity: 'critical', finding: `service ${s.name} sets ${k} to a literal value`, recommendation: `Move ${k} of service ${s.name} out of the spec into a secret store and reference it` });
          }
        }
      }
      return hits;
    },
  },
  {
    id: 'security/privileged-container',
    description: 'a service runs privileged: a compromise reaches the host',
    check(input) {
      return (input.spec?.services ?? []).filter((s) => s.privileged).map((s) => ({ rule: this.id, severity: 'high' as const, finding: `service ${s.name} runs privileged`, recommendation: `Drop privileged mode from service ${s.name}; grant only the capabilities it needs` }));
    },
  },
  {
    id: 'security/runs-as-root',
    description: 'a service explicitly runs as root',
    check(input) {
      return (input.spec?.services ?? []).filter((s) => s.user === 'root' || s.user === '0').map((s) => ({ rule: this.id, severity: 'medium' as const, finding: `service ${s.name} runs as root`, recommendation: `Run service ${s.name} as an unprivileged user` }));
    },
  },
  {
    id: 'security/public-without-tls',
    description: 'a public HTTP port without TLS',
    check(input) {
      const hits: Hit[] = [];
      for (const s of input.spec?.services ?? []) {
        for (const p of s.ports) {
          if (p.public && (p.tls === false || (p.tls === null && p.protocol?.toLowerCase() === 'http'))) {
            hits.push({ rule: this.id, severity: 'medium', finding: `service ${s.name} publishes port ${p.port} without TLS`, recommendation: `Serve port ${p.port} of service ${s.name} over TLS (or behind a TLS-terminating proxy)` });
          }
        }
      }
      return hits;
    },
  },
  {
    id: 'security/spec-finding',
    description: 'spec validator findings about secrets, TLS, privileges, exposure or authentication',
    check(input) {
      return findingHits(input.findings, this.id, /secret|password|token|tls|ssl|privileg|root|expos|auth|credential|cve|insecure/i, 'security');
    },
  },
  {
    id: 'security/auth-failures',
    description: 'authentication or authorisation failures in the logs',
    check(input) {
      const m = logMatches(input.logs, /unauthori[sz]ed|authentication failed|auth(entication)? error|permission denied|forbidden|invalid (token|credentials|password)|\b40[13]\b/i);
      if (m.count < THRESHOLDS.authFailuresMedium) return [];
      return [{ rule: this.id, severity: 'medium', finding: `${m.count} authentication/authorisation failures in the logs (e.g. "${m.samples[0]}")`, recommendation: 'Investigate the authentication failures in the logs: brute force, an expired credential or a misconfigured client' }];
    },
  },
];

export const RELIABILITY_RULES: Rule[] = [
  {
    id: 'reliability/spec-invalid',
    description: 'the spec has validation errors: it should not be deployed as is',
    check(input) {
      return findingHits((input.findings ?? []).filter((f) => f.severity === 'error'), this.id, null, 'spec');
    },
  },
  {
    id: 'reliability/spec-finding',
    description: 'spec warnings about replicas, health checks, restarts or dependencies',
    check(input) {
      return findingHits((input.findings ?? []).filter((f) => f.severity !== 'error'), this.id, /replica|health|restart|probe|depend|redundan|single|availability/i, 'reliability');
    },
  },
  {
    id: 'reliability/single-replica',
    description: 'a service with fewer than two replicas has no redundancy',
    check(input) {
      return (input.spec?.services ?? [])
        .filter((s) => (s.replicas ?? 1) < 2)
        .map((s) => ({ rule: this.id, severity: 'medium' as const, finding: `service ${s.name} has ${s.replicas ?? 'no declared'} replica${s.replicas === 1 ? '' : 's'}`, recommendation: `Run at least 2 replicas of service ${s.name}` }));
    },
  },
  {
    id: 'reliability/no-healthcheck',
    description: 'a service without a health check cannot be restarted or drained when it hangs',
    check(input) {
      return (input.spec?.services ?? []).filter((s) => !s.healthcheck).map((s) => ({ rule: this.id, severity: 'medium' as const, finding: `service ${s.name} has no health check`, recommendation: `Add a health check to service ${s.name}` }));
    },
  },
  {
    id: 'reliability/unpinned-image',
    description: 'an image without a tag or tagged latest: redeploys are not reproducible',
    check(input) {
      const hits: Hit[] = [];
      for (const s of input.spec?.services ?? []) {
        if (!s.image || s.image.includes('@sha256:')) continue;
        const last = s.image.split('/').pop() ?? s.image;
        if (!last.includes(':') || last.endsWith(':latest')) hits.push({ rule: this.id, severity: 'low', finding: `service ${s.name} uses image ${s.image}`, recommendation: `Pin the image of service ${s.name} to a version tag or digest` });
      }
      return hits;
    },
  },
  {
    id: 'reliability/port-unreachable',
    description: 'a declared target did not accept a connection',
    check(input) {
      return (input.probes ?? [])
        .filter((p) => p.state !== 'open')
        .map((p) => ({ rule: this.id, severity: 'high' as const, finding: `${where(p.host, p.port)} is ${p.state}`, recommendation: `Make ${where(p.host, p.port)}${p.service ? ` (${p.service})` : ''} reachable: the port is ${p.state}` }));
    },
  },
  {
    id: 'reliability/health-failing',
    description: 'a health check answered unhealthy or not at all',
    check(input) {
      return (input.probes ?? [])
        .filter((p) => p.health && !p.health.ok)
        .map((p) => ({
          rule: this.id,
          severity: 'high' as const,
          finding: `health check of ${where(p.host, p.port)} failed${p.health!.status !== null ? ` with status ${p.health!.status}` : ''}${p.health!.error ? `: ${p.health!.error}` : ''}`,
          recommendation: `Fix the failing health check of ${where(p.host, p.port)} before the rollout`,
        }));
    },
  },
  {
    id: 'reliability/error-rate',
    description: `error lines above ${THRESHOLDS.errorRateMedium * 100}% (medium) or ${THRESHOLDS.errorRateHigh * 100}% (high) of the log`,
    check(input) {
      const l = input.logs;
      if (!l || l.lines <= 0) return [];
      const errors = (l.levels.error ?? 0) + (l.levels.fatal ?? 0) + (l.levels.critical ?? 0) + (l.levels.crit ?? 0) + (l.levels.emerg ?? 0) + (l.levels.alert ?? 0) + (l.levels.panic ?? 0);
      const rate = errors / l.lines;
      if (rate < THRESHOLDS.errorRateMedium) return [];
      return [{ rule: this.id, severity: rate >= THRESHOLDS.errorRateHigh ? 'high' : 'medium', finding: `${errors} of ${l.lines} log lines are errors (${(rate * 100).toFixed(1)}%)`, recommendation: `Bring the error rate (${(rate * 100).toFixed(1)}% of log lines) below ${THRESHOLDS.errorRateMedium * 100}% before the rollout` }];
    },
  },
  {
    id: 'reliability/crash-signs',
    description: 'panics, fatal errors, out-of-memory kills or crashes in the logs',
    check(input) {
      const m = logMatches(input.logs, /panic|fatal|segfault|segmentation fault|out of memory|oom[- ]?kill|\boom\b|core dumped|unhandled (exception|rejection)|traceback|crashloop/i);
      if (m.count === 0) return [];
      return [{ rule: this.id, severity: 'high', finding: `${m.count} crash-like log lines (e.g. "${m.samples[0]}")`, recommendation: `Find and fix the cause of the crash-like log lines ("${m.samples[0]}")` }];
    },
  },
];

export const PERFORMANCE_RULES: Rule[] = [
  {
    id: 'performance/slow-connect',
    description: `TCP connect slower than ${THRESHOLDS.slowConnectMs} ms (medium) or ${THRESHOLDS.verySlowConnectMs} ms (high)`,
    check(input) {
      return (input.probes ?? [])
        .filter((p) => p.state === 'open' && p.latencyMs !== null && p.latencyMs > THRESHOLDS.slowConnectMs)
        .map((p) => ({ rule: this.id, severity: p.latencyMs! > THRESHOLDS.verySlowConnectMs ? ('high' as const) : ('medium' as const), finding: `connect to ${where(p.host, p.port)} took ${Math.round(p.latencyMs!)} ms`, recommendation: `Find why connecting to ${where(p.host, p.port)} takes ${Math.round(p.latencyMs!)} ms (network path, accept backlog, overload)` }));
    },
  },
  {
    id: 'performance/slow-health',
    description: `health check slower than ${THRESHOLDS.slowHealthMs} ms (medium) or ${THRESHOLDS.verySlowHealthMs} ms (high)`,
    check(input) {
      return (input.probes ?? [])
        .filter((p) => p.health?.ok && p.health.latencyMs !== null && p.health.latencyMs > THRESHOLDS.slowHealthMs)
        .map((p) => ({ rule: this.id, severity: p.health!.latencyMs! > THRESHOLDS.verySlowHealthMs ? ('high' as const) : ('medium' as const), finding: `health check of ${where(p.host, p.port)} took ${Math.round(p.health!.latencyMs!)} ms`, recommendation: `Speed up the health endpoint of ${where(p.host, p.port)} (${Math.round(p.health!.latencyMs!)} ms)` }));
    },
  },
  {
    id: 'performance/no-resource-limits',
    description: 'a service without CPU or memory limits can starve its neighbours',
    check(input) {
      return (input.spec?.services ?? [])
        .filter((s) => s.cpu === null || s.memoryMb === null)
        .map((s) => ({ rule: this.id, severity: 'medium' as const, finding: `service ${s.name} has no ${s.cpu === null && s.memoryMb === null ? 'CPU or memory' : s.cpu === null ? 'CPU' : 'memory'} limit`, recommendation: `Set CPU and memory limits on service ${s.name}` }));
    },
  },
  {
    id: 'performance/tight-memory',
    description: `a memory limit under ${THRESHOLDS.tightMemoryMb} MiB`,
    check(input) {
      return (input.spec?.services ?? [])
        .filter((s) => s.memoryMb !== null && s.memoryMb < THRESHOLDS.tightMemoryMb)
        .map((s) => ({ rule: this.id, severity: 'low' as const, finding: `service ${s.name} is limited to ${Math.round(s.memoryMb!)} MiB`, recommendation: `Check that ${Math.round(s.memoryMb!)} MiB is enough for service ${s.name} under load` }));
    },
  },
  {
    id: 'performance/timeouts-in-logs',
    description: 'timeouts and slow operations in the logs',
    check(input) {
      const m = logMatches(input.logs, /timed? ?out|timeout|deadline exceeded|slow (query|request)|took \d{4,} ?ms/i);
      if (m.count < THRESHOLDS.timeoutMessagesMedium) return [];
      const share = input.logs && input.logs.lines > 0 ? m.count / input.logs.lines : 0;
      return [{ rule: this.id, severity: share >= THRESHOLDS.timeoutShareHigh ? 'high' : 'medium', finding: `${m.count} timeout/slow-operation log lines (e.g. "${m.samples[0]}")`, recommendation: `Find the slow dependency behind the timeouts in the logs ("${m.samples[0]}")` }];
    },
  },
  {
    id: 'performance/spec-finding',
    description: 'spec findings about resources, limits, latency, timeouts, caches or pools',
    check(input) {
      return findingHits(input.findings, this.id, /resource|limit|cpu|memory|latency|timeout|cache|pool|performance/i, 'performance');
    },
  },
];

export const COST_RULES: Rule[] = [
  {
    id: 'cost/many-replicas',
    description: `more than ${THRESHOLDS.manyReplicasLow} (low) or ${THRESHOLDS.manyReplicasMedium} (medium) replicas of one service`,
    check(input) {
      return (input.spec?.services ?? [])
        .filter((s) => s.replicas !== null && s.replicas > THRESHOLDS.manyReplicasLow)
        .map((s) => ({ rule: this.id, severity: s.replicas! > THRESHOLDS.manyReplicasMedium ? ('medium' as const) : ('low' as const), finding: `service ${s.name} runs ${s.replicas} replicas`, recommendation: `Check that service ${s.name} needs ${s.replicas} replicas; autoscale on load instead of a fixed count` }));
    },
  },
  {
    id: 'cost/large-replica',
    description: `more than ${THRESHOLDS.largeCpu} cores or ${THRESHOLDS.largeMemoryMb / 1024} GiB per replica`,
    check(input) {
      return (input.spec?.services ?? [])
        .filter((s) => (s.cpu ?? 0) > THRESHOLDS.largeCpu || (s.memoryMb ?? 0) > THRESHOLDS.largeMemoryMb)
        .map((s) => ({ rule: this.id, severity: 'medium' as const, finding: `service ${s.name} asks ${s.cpu ?? '?'} cores and ${s.memoryMb !== null ? Math.round(s.memoryMb / 1024) : '?'} GiB per replica`, recommendation: `Right-size service ${s.name}: measure its peak use and lower its CPU/memory` }));
    },
  },
  {
    id: 'cost/total-footprint',
    description: `more than ${THRESHOLDS.totalCpu} cores or ${THRESHOLDS.totalMemoryMb / 1024} GiB in total`,
    check(input) {
      const services = input.spec?.services ?? [];
      let cpu = 0;
      let mem = 0;
      for (const s of services) {
        const r = s.replicas ?? 1;
        cpu += (s.cpu ?? 0) * r;
        mem += (s.memoryMb ?? 0) * r;
      }
      if (cpu <= THRESHOLDS.totalCpu && mem <= THRESHOLDS.totalMemoryMb) return [];
      return [{ rule: this.id, severity: 'low', finding: `the deployment asks ${cpu} cores and ${Math.round(mem / 1024)} GiB in total`, recommendation: `Review the total footprint (${cpu} cores, ${Math.round(mem / 1024)} GiB) against the budget` }];
    },
  },
  {
    id: 'cost/unbounded-resources',
    description: 'a service without limits can grow the bill without bound',
    check(input) {
      return (input.spec?.services ?? []).filter((s) => s.cpu === null && s.memoryMb === null).map((s) => ({ rule: this.id, severity: 'low' as const, finding: `service ${s.name} has no resource limits`, recommendation: `Bound the resources of service ${s.name} so its cost is predictable` }));
    },
  },
  {
    id: 'cost/debug-logging',
    description: `debug/trace lines above ${THRESHOLDS.debugShareMedium * 100}% of at least ${THRESHOLDS.debugMinLines} log lines: log storage cost`,
    check(input) {
      const l = input.logs;
      if (!l || l.lines < THRESHOLDS.debugMinLines) return [];
      const debug = (l.levels.debug ?? 0) + (l.levels.trace ?? 0);
      const share = debug / l.lines;
      if (share <= THRESHOLDS.debugShareMedium) return [];
      return [{ rule: this.id, severity: 'medium', finding: `${(share * 100).toFixed(0)}% of ${l.lines} log lines are debug/trace`, recommendation: 'Lower the log level to info in production to cut log volume and storage cost' }];
    },
  },
  {
    id: 'cost/spec-finding',
    description: 'spec findings about cost, budget, sizes or storage',
    check(input) {
      return findingHits(input.findings, this.id, /cost|budget|oversiz|storage|volume size|instance type/i, 'cost');
    },
  },
];
