import type { Command } from 'commander';
import { isCodeError } from '../../../platform/errors.js';
import { HttpClient, NetError } from '../../../platform/net/index.js';
import type { ActiveAlert } from '../../../platform/metrics/alerts.js';
import type { KpiValue } from '../../../platform/metrics/kpis.js';
import { loadConfig } from '../../config/loader.js';
import { parseInteger, type CliContext } from '../context.js';
import { table } from '../format.js';

/** One `top` frame: what GET /v1/kpis and GET /v1/alerts say at one moment. */
export interface TopSample {
  url: string;
  at: number;
  kpis: KpiValue[];
  alerts: ActiveAlert[];
}

const ESC = '\x1b[';
const COLORS: Record<string, string> = { ok: '32', warning: '33', critical: '31', unknown: '90', firing: '31', pending: '33' };
const paint = (on: boolean, state: string, text: string): string => (on ? `${ESC}${COLORS[state] ?? '0'}m${text}${ESC}0m` : text);

function fmt(v: number | null): string {
  if (v === null) return '—';
  const a = Math.abs(v);
  return a >= 100 ? v.toFixed(0) : a >= 10 ? v.toFixed(1) : v.toFixed(2);
}

/** Renders a sample as text; `color` adds ANSI colours for a terminal. */
export function renderTop(s: TopSample, color = false): string {
  const firing = s.alerts.filter((a) => a.state === 'firing').length;
  const head = `CODE top · ${s.url} · ${new Date(s.at).toLocaleTimeString()} · ${s.alerts.length === 0 ? 'no alerts' : `${s.alerts.length} alert${s.alerts.length > 1 ? 's' : ''} (${firing} firing)`}`;
  const rows = s.kpis.map((k) => {
    const t = k.thresholds;
    const limits = t ? [t.warning !== undefined ? `warn ${t.comparison} ${t.warning}` : '', t.critical !== undefined ? `crit ${t.comparison} ${t.critical}` : ''].filter(Boolean).join(', ') : '';
    return [k.title, `${fmt(k.value)} ${k.value === null ? '' : k.unit}`.trim(), k.state, limits, k.name];
  });
  // Colour after padding, so ANSI codes never skew the columns.
  const lines = table(['KPI', 'VALUE', 'STATE', 'THRESHOLDS', 'NAME'], rows).split('\n');
  const body = lines.map((line, i) => {
    if (i < 2 || !color) return line;
    const state = s.kpis[i - 2]!.state;
    return line.replace(new RegExp(`(?<=\\s)${state}(?=\\s|$)`), paint(true, state, state));
  });
  const alerts = s.alerts.map((a) => `${paint(color, a.state, a.state === 'firing' ? '●' : '○')} ${a.severity.padEnd(8)} ${a.rule}: ${a.message}`);
  return [head, '', ...body, '', 'ALERTS', ...(alerts.length ? alerts : ['none pending or firing'])].join('\n');
}

async function fetchSample(http: HttpClient, base: string, headers: Record<string, string>): Promise<TopSample> {
  try {
    const [kpis, alerts] = await Promise.all([
      http.getJson<{ at: number; kpis: KpiValue[] }>(`${base}/v1/kpis`, { headers, timeoutMs: 5_000 }),
      http.getJson<{ active: ActiveAlert[] }>(`${base}/v1/alerts?limit=1`, { headers, timeoutMs: 5_000 }),
    ]);
    return { url: base, at: kpis.at, kpis: kpis.kpis, alerts: alerts.active };
  } catch (err) {
    if (isCodeError(err) && err.code.startsWith('NET_')) {
      throw new NetError(err.code as NetError['code'], `cannot read KPIs from ${base} (is \`codectl serve\` running there?): ${err.message}`, err.details, { cause: err });
    }
    throw err;
  }
}

export function register(program: Command, ctx: CliContext): void {
  program
    .command('top')
    .description('the KPIs and alerts of a running server, refreshed in place on a terminal')
    .option('--url <url>', 'server base URL (default: server.host and server.port from the config)')
    .option('--interval <ms>', 'refresh period in ms', parseInteger(200, 60_000), 1000)
    .option('--count <n>', 'frames to show, then exit (default: until Ctrl-C on a terminal, 1 otherwise)', parseInteger(1, 1_000_000))
    .addHelpText('after', '\nExamples:\n  $ codectl top\n  $ codectl top --url http://127.0.0.1:9090 --interval 2000\n  $ codectl top --json          # one sample as JSON\n  $ codectl top --json --count 5  # five samples, one JSON line each')
    .action(ctx.run(async (opts: { url?: string; interval: number; count?: number }, cmd: Command) => {
      const g = ctx.globals(cmd);
      let base = opts.url;
      if (base === undefined) {
        const { server } = loadConfig(g.config ? { path: g.config } : {}).config;
        const host = server.host === '0.0.0.0' ? '127.0.0.1' : server.host === '::' ? '::1' : server.host;
        base = `http://${host.includes(':') ? `[${host}]` : host}:${server.port}`;
      }
      base = base.replace(/\/+$/, '');
      const headers: Record<string, string> = process.env.CODE_API_TOKEN ? { authorization: `Bearer ${process.env.CODE_API_TOKEN}` } : {};
      const http = new HttpClient({ maxConnections: 2, retry: { maxAttempts: 1 } });
      const tty = ctx.stdout.isTTY === true && !g.json;
      const count = opts.count ?? (tty ? Infinity : 1);
      let stopped = false;
      let wake: (() => void) | undefined;
      const onSigint = (): void => {
        stopped = true;
        wake?.();
      };
      process.once('SIGINT', onSigint);
      if (tty) ctx.stdout.write(`${ESC}?25l${ESC}2J`);
      try {
        for (let i = 0; i < count && !stopped; i++) {
          const sample = await fetchSample(http, base, headers);
          if (g.json) {
            ctx.stdout.write(opts.count === undefined ? `${JSON.stringify(sample, null, 2)}\n` : `${JSON.stringify(sample)}\n`);
          } else if (tty) {
            // Home, each line cleared to its end, then everything below: no flicker, no scroll.
            const frame = renderTop(sample, true).split('\n').map((l) => `${l}${ESC}K`).join('\n');
            ctx.stdout.write(`${ESC}H${frame}\n${ESC}J`);
          } else {
            ctx.stdout.write(`${renderTop(sample)}\n${i + 1 < count ? '\n' : ''}`);
          }
          if (i + 1 < count && !stopped) await new Promise<void>((r) => setTimeout((wake = r), opts.interval));
        }
      } finally {
        process.removeListener('SIGINT', onSigint);
        if (tty) ctx.stdout.write(`${ESC}?25h`);
        await http.close();
      }
    }));
}
