import type { CheckReport } from '../check/index.js';
import type { DeploymentSpec } from '../spec/index.js';
import { secretReason } from '../spec/secrets.js';

/** What a literal secret is replaced by: still a literal (the security expert flags it), never the value. */
export const REDACTED = '[literal value redacted]';

function redactEnv(env: Readonly<Record<string, string>>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(env)) out[k] = secretReason(k, v) ? REDACTED : v;
  return out;
}

/**
 * The spec as experts may see it: environment values that look like secrets are replaced, so a
 * review never ships a password to an LLM provider (the finding that flags it stays).
 */
export function redactSpec(spec: DeploymentSpec): DeploymentSpec {
  return {
    ...spec,
    global: { ...spec.global, environment: redactEnv(spec.global.environment) },
    services: spec.services.map((s) => ({ ...s, environment: redactEnv(s.environment) })),
  };
}

/** At most this many probe entries and log messages go into one review context. */
const MAX_PROBES = 2_000;
const MAX_MESSAGES = 50;

/**
 * The context of a deployment review (`kind: 'review'`) from a check report: the normalised spec
 * (secrets redacted), the findings, one probe entry per probed port (with the service's health check on its port) and
 * the log analysis summed over the services. What the built-in experts read (builtin/input.ts), and
 * what LLM experts are shown as JSON.
 *
 *   const report = await engine.checks.check({ text, file });
 *   await engine.experts.consult({ kind: 'review', question, context: reviewContext(report, validateSpec(text).spec) });
 */
export function reviewContext(check: CheckReport, spec?: DeploymentSpec | null): Record<string, unknown> {
  const probes: Array<Record<string, unknown>> = [];
  let lines = 0;
  let errors = 0;
  let warnings = 0;
  let withLogs = 0;
  const messages = new Map<string, { message: string; count: number; level: string }>();
  for (const s of check.services) {
    const health = s.health ? { ok: s.health.ok, status: s.health.status ?? null, latencyMs: s.health.latencyMs, error: s.health.error ?? null } : null;
    let healthPlaced = false;
    for (const p of s.ports) {
      if (p.state === 'not-probed' || probes.length >= MAX_PROBES) continue;
      const onHealthPort = health !== null && s.health!.port === p.port;
      healthPlaced ||= onHealthPort;
      probes.push({ host: s.host, port: p.port, state: p.state, latencyMs: p.latencyMs, service: p.service ?? s.name, ...(onHealthPort ? { health } : {}) });
    }
    if (health && !healthPlaced && probes.length < MAX_PROBES) {
      // A health check on a port the service does not list: its own entry, open when it answered.
      probes.push({ host: s.host, port: s.health!.port, state: health.ok ? 'open' : 'closed', latencyMs: health.latencyMs, service: s.name, health });
    }
    if (s.logs && !('error' in s.logs)) {
      withLogs++;
      lines += s.logs.lines;
      errors += s.logs.errors;
      warnings += s.logs.warnings;
      for (const t of s.logs.topProblems) {
        const m = messages.get(t.message);
        if (m) m.count += t.count;
        else messages.set(t.message, { ...t });
      }
    }
  }
  const topProblems = [...messages.values()].sort((a, b) => b.count - a.count || (a.message < b.message ? -1 : 1)).slice(0, MAX_MESSAGES);
  return {
    spec: spec ? redactSpec(spec) : null,
    findings: check.findings,
    probes: check.services.length > 0 ? probes : null,
    logs: withLogs > 0 ? { lines, levels: { error: errors, warn: warnings, info: Math.max(0, lines - errors - warnings) }, topProblems } : null,
    services: check.services.map((s) => ({ name: s.name, host: s.host, status: s.status, reason: s.reason })),
  };
}
