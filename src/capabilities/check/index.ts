/**
 * The check flow: validate a spec, probe every declared port and health check, read the declared
 * logs, and say for each service whether it is up, down or degraded.
 *
 *   const checker = createChecker({ prober, analyzeLogs: logs.analyze });
 *   const report = await checker.check({ text, file: 'deploy.yaml' });
 *   process.exitCode = report.ok ? 0 : 1;
 *
 * Stages are injected (the prober, the log analyzer), so the runtime decides which analyzer (confined
 * to roots for input from the network, or not) and which HTTP client serve.
 */
import { randomUUID } from 'node:crypto';
import { hasCode } from '../../platform/errors.js';
import type { Prober, ProbeReport, ProbeRequest, ProbeResult, ScanOptions } from '../probe/index.js';
import { formatPath, locatePath, validateSpec, type Finding, type ServiceSpec, type SpecFormat, type SpecLimits, type SpecReport } from '../spec/index.js';

export { CheckError, type CheckErrorCode } from './errors.js';

export type ServiceStatus = 'up' | 'down' | 'degraded' | 'unknown';

/** The part of a log analysis a check reports; the logs capability's LogReport fits. */
export interface LogSummarySource {
  lines: number;
  levels: Readonly<Record<string, number>>;
  topProblems: ReadonlyArray<{ message: string; count: number; level: string }>;
}
export type LogAnalyzer = (paths: readonly string[], opts: { signal?: AbortSignal }) => Promise<LogSummarySource>;

export interface PortCheck {
  port: number;
  state: 'open' | 'closed' | 'filtered' | 'not-probed';
  latencyMs: number | null;
  service: string | null;
}

export interface HealthResult {
  kind: 'tcp' | 'http';
  port: number;
  path?: string;
  ok: boolean;
  status?: number | null;
  latencyMs: number | null;
  error?: string;
}

export type ServiceLogs = { lines: number; errors: number; warnings: number; topProblems: Array<{ message: string; count: number; level: string }> } | { error: string };

export interface ServiceCheck {
  name: string;
  host: string;
  status: ServiceStatus;
  /** Why, in a few words: "2/2 ports open, health ok". */
  reason: string;
  /** The health check's latency when there is one, else the slowest open port's. */
  latencyMs: number | null;
  ports: PortCheck[];
  health?: HealthResult;
  logs?: ServiceLogs;
  /** The spec findings under services.NAME, and probe findings about this service. */
  findings: Finding[];
}

export interface CheckReport {
  id: string;
  file: string;
  format: SpecFormat;
  startedAt: number;
  durationMs: number;
  /** False when a finding is an error or a declared service is down. */
  ok: boolean;
  /** The spec itself has no error finding. */
  valid: boolean;
  findings: Finding[];
  services: ServiceCheck[];
  summary: { services: number; up: number; down: number; degraded: number; unknown: number; errors: number; warnings: number };
}

export interface CheckInput {
  text: string;
  /** Shown in findings; also picks the format from its extension. */
  file?: string;
  format?: SpecFormat;
}

export interface CheckOptions {
  signal?: AbortSignal;
  /** Read the logs the spec declares (default true when an analyzer is configured). */
  logs?: boolean;
  /** Save the report in the history (default true when one is configured). */
  record?: boolean;
  /** The analyzer for this call, instead of the checker's (the CLI reads any path; the API only logs.roots). */
  analyzeLogs?: LogAnalyzer;
}

/** Where reports go once made (the runtime's checks repository). */
export interface CheckHistory {
  save(report: CheckReport): Promise<void>;
}

/** A prober, or the engine's probe service (told not to record the check's scans as probes). */
export interface CheckProber {
  scan(req: ProbeRequest, opts?: ScanOptions & { record?: boolean }): Promise<ProbeReport>;
  httpCheck: Prober['httpCheck'];
}

export interface CheckerDeps {
  prober: CheckProber;
  history?: CheckHistory;
  /** A failed history write does not fail the check; it is reported here. */
  onHistoryError?: (err: unknown) => void;
  analyzeLogs?: LogAnalyzer;
  specLimits?: Partial<SpecLimits>;
  /** Above this latency an up service is reported degraded. Default 1,000 ms. */
  degradedLatencyMs?: number;
  /** Per-attempt timeout when the spec sets no global.timeoutMs. Default: the prober's. */
  timeoutMs?: number;
  now?: () => number;
}

export interface Checker {
  check(input: CheckInput, opts?: CheckOptions): Promise<CheckReport>;
}

interface HostProbe {
  results: Map<number, ProbeResult>;
  error?: { code: string; message: string };
}

export function createChecker(deps: CheckerDeps): Checker {
  const now = deps.now ?? Date.now;

  return {
    async check(input, opts = {}) {
      const startedAt = now();
      const degradedMs = deps.degradedLatencyMs ?? 1000; // read per check: the engine passes a live getter
      const t0 = performance.now();
      const file = input.file ?? '<input>';
      const report: SpecReport = validateSpec(input.text, { file, ...(input.format ? { format: input.format } : {}), ...(deps.specLimits ? { limits: deps.specLimits } : {}) });
      const findings = [...report.findings];
      const services: ServiceCheck[] = [];

      if (report.spec) {
        const spec = report.spec;
        const timeoutMs = spec.global.timeoutMs ?? deps.timeoutMs;
        // One scan per host, over the union of the ports its services declare (health ports included).
        const byHost = new Map<string, Set<number>>();
        for (const s of spec.services) {
          const set = byHost.get(s.host) ?? new Set<number>();
          for (const p of s.ports) set.add(p);
          if (s.health) set.add(s.health.port);
          byHost.set(s.host, set);
        }
        const probes = new Map<string, HostProbe>();
        await Promise.all(
          [...byHost].map(async ([host, set]) => {
            if (set.size === 0) return;
            try {
              const r = await deps.prober.scan(
                { targets: [host], ports: [...set], fresh: true, ...(timeoutMs ? { timeoutMs } : {}) },
                { record: false, ...(opts.signal ? { signal: opts.signal } : {}) },
              );
              const results = new Map<number, ProbeResult>();
              // A name with several addresses: a port counts as open when any address answers.
              for (const res of r.results) {
                const prev = results.get(res.port);
                if (!prev || rank(res.state) > rank(prev.state)) results.set(res.port, res);
              }
              probes.set(host, { results });
            } catch (err) {
              if (hasCode(err, 'PROBE_ABORTED')) throw err;
              const e = err as { code?: string; message?: string };
              probes.set(host, { results: new Map(), error: { code: e.code ?? 'PROBE_FAILED', message: e.message ?? String(err) } });
            }
          }),
        );

        const analyzer = opts.logs === false ? undefined : (opts.analyzeLogs ?? deps.analyzeLogs);
        await Promise.all(
          spec.services.map(async (s, idx) => {
            services[idx] = await checkService(s, probes.get(s.host), analyzer, deps.prober, timeoutMs, degradedMs, opts.signal);
          }),
        );

        // Probe problems become findings, located on the service's host (or the service itself).
        for (const svc of services) {
          const probe = probes.get(svc.host);
          if (!probe?.error) continue;
          const denied = probe.error.code === 'PROBE_TARGET_DENIED';
          const declared = spec.services.find((x) => x.name === svc.name)!;
          const path = ['services', svc.name, ...(hostDeclared(report, declared) ? ['host'] : [])];
          const pos = locatePath(input.text, report.format, path, 'value');
          const f: Finding = {
            file,
            ...pos,
            path: formatPath(path),
            rule: denied ? 'probe.denied' : 'probe.failed',
            severity: denied ? 'error' : 'warning',
            message: probe.error.message,
          };
          svc.findings.push(f);
          findings.push(f);
        }
        // Spec findings under each service.
        for (const svc of services) {
          const prefix = formatPath(['services', svc.name]);
          for (const f of report.findings) if (f.path === prefix || f.path.startsWith(`${prefix}.`) || f.path.startsWith(`${prefix}[`)) svc.findings.push(f);
        }
      }

      const summary = { services: services.length, up: 0, down: 0, degraded: 0, unknown: 0, errors: 0, warnings: 0 };
      for (const s of services) summary[s.status]++;
      for (const f of findings) {
        if (f.severity === 'error') summary.errors++;
        else summary.warnings++;
      }
      findings.sort((a, b) => a.line - b.line || a.column - b.column);
      const result: CheckReport = {
        id: randomUUID(),
        file,
        format: report.format,
        startedAt,
        durationMs: Math.round((performance.now() - t0) * 1000) / 1000,
        ok: summary.errors === 0 && summary.down === 0,
        valid: report.valid,
        findings,
        services,
        summary,
      };
      if (deps.history && opts.record !== false) {
        try {
          await deps.history.save(result);
        } catch (err) {
          deps.onHistoryError?.(err);
        }
      }
      return result;
    },
  };
}

function rank(state: string): number {
  return state === 'open' ? 3 : state === 'closed' ? 2 : 1;
}

/** True when the service names its own host (so a probe finding can point at it), not only global.host. */
function hostDeclared(report: SpecReport, s: ServiceSpec): boolean {
  return report.spec !== undefined && s.host !== report.spec.global.host;
}

async function checkService(
  s: ServiceSpec,
  probe: HostProbe | undefined,
  analyzeLogs: LogAnalyzer | undefined,
  prober: Pick<CheckProber, 'httpCheck'>,
  timeoutMs: number | undefined,
  degradedMs: number,
  signal: AbortSignal | undefined,
): Promise<ServiceCheck> {
  const ports: PortCheck[] = s.ports.map((port) => {
    const r = probe?.results.get(port);
    return r ? { port, state: r.state, latencyMs: r.latencyMs, service: r.service } : { port, state: 'not-probed', latencyMs: null, service: null };
  });
  let health: HealthResult | undefined;
  if (s.health && probe && !probe.error) {
    const tcp = probe.results.get(s.health.port);
    const open = tcp?.state === 'open';
    if (s.health.kind === 'tcp') {
      health = { kind: 'tcp', port: s.health.port, ok: open, latencyMs: tcp?.latencyMs ?? null, ...(open ? {} : { error: `port ${s.health.port} is ${tcp?.state ?? 'not probed'}` }) };
    } else if (!open) {
      health = { kind: 'http', port: s.health.port, path: s.health.path, ok: false, status: null, latencyMs: null, error: `port ${s.health.port} is ${tcp?.state ?? 'not probed'}` };
    } else {
      const h = await prober.httpCheck(tcp.address, s.health.port, s.health.path, timeoutMs ?? 2000, signal);
      health = { kind: 'http', port: s.health.port, path: s.health.path, ok: h.ok, status: h.status, latencyMs: h.latencyMs, ...(h.error ? { error: h.error } : {}) };
    }
  }

  let logs: ServiceLogs | undefined;
  if (analyzeLogs && s.logs.length > 0) {
    try {
      const r = await analyzeLogs(s.logs, signal ? { signal } : {});
      logs = {
        lines: r.lines,
        errors: (r.levels.error ?? 0) + (r.levels.fatal ?? 0),
        warnings: r.levels.warn ?? 0,
        topProblems: r.topProblems.slice(0, 3).map((t) => ({ message: t.message, count: t.count, level: t.level })),
      };
    } catch (err) {
      logs = { error: String((err as Error).message ?? err).slice(0, 300) };
    }
  }

  const openPorts = ports.filter((p) => p.state === 'open');
  const slowest = openPorts.reduce<number | null>((m, p) => (p.latencyMs !== null && (m === null || p.latencyMs > m) ? p.latencyMs : m), null);
  const latencyMs = health?.latencyMs ?? slowest;
  let status: ServiceStatus;
  let reason: string;
  if (probe?.error) {
    status = probe.error.code === 'PROBE_DNS_FAILED' ? 'down' : 'unknown';
    reason = probe.error.code === 'PROBE_TARGET_DENIED' ? 'not probed: host outside the probe allowlist' : probe.error.message;
  } else if (ports.length === 0 && !health) {
    status = 'unknown';
    reason = 'nothing to probe (declare ports or a health check)';
  } else {
    const parts: string[] = [];
    if (ports.length > 0) parts.push(`${openPorts.length}/${ports.length} ports open`);
    if (health) parts.push(health.ok ? 'health ok' : `health failed (${health.error ?? `status ${health.status}`})`);
    const allOpen = openPorts.length === ports.length;
    const noneOpen = openPorts.length === 0;
    if (health ? !health.ok && (noneOpen || ports.length === 0) : noneOpen) status = 'down';
    else if (!allOpen || (health && !health.ok)) status = 'degraded';
    else if (latencyMs !== null && latencyMs > degradedMs) {
      status = 'degraded';
      parts.push(`slow: ${Math.round(latencyMs)} ms > ${degradedMs} ms`);
    } else status = 'up';
    reason = parts.join(', ');
  }
  return { name: s.name, host: s.host, status, reason, latencyMs, ports, ...(health ? { health } : {}), ...(logs ? { logs } : {}), findings: [] };
}
