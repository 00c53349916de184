import type { Command } from 'commander';
import { LOG_FORMATS, LOG_LEVELS } from '../../../capabilities/logs/index.js';
import type { LogReport, TopMessage } from '../../../capabilities/logs/index.js';
import { parseInteger, type CliContext } from '../context.js';
import { table } from '../format.js';

const n = (x: number): string => x.toLocaleString('en-US');
const minute = (iso: string): string => iso.replace('T', ' ').replace(/:\d\d\.\d+Z$/, 'Z');

function topTable(title: string, rows: TopMessage[]): string[] {
  if (rows.length === 0) return [];
  return ['', title, table(['COUNT', 'LEVEL', 'MESSAGE'], rows.map((t) => [t.maxError > 0 ? `${n(t.count)} (+≤${n(t.maxError)})` : n(t.count), t.level, t.message.length > 120 ? `${t.message.slice(0, 119)}…` : t.message]))];
}

/** The text rendering of a report. */
export function renderLogReport(r: LogReport): string {
  const mbps = r.durationMs > 0 ? r.bytes / 1048576 / (r.durationMs / 1000) : 0;
  const out = [
    `${r.files.length} file${r.files.length === 1 ? '' : 's'}, ${n(r.bytes)} bytes, ${n(r.lines)} lines in ${n(Math.round(r.durationMs))} ms (${mbps.toFixed(0)} MB/s, ${r.kernel} line splitter)`,
    '',
    table(['LEVEL', 'LINES', 'SHARE'], LOG_LEVELS.map((l) => [l, n(r.levels[l]), r.lines ? `${((100 * r.levels[l]) / r.lines).toFixed(1)}%` : '-'])),
    '',
    `formats: ${LOG_FORMATS.filter((f) => r.formats[f] > 0).map((f) => `${f} ${n(r.formats[f])}`).join(' · ') || 'none'}`,
    `malformed ${n(r.malformed)} · blank ${n(r.blank)} · truncated ${n(r.truncated)}${r.mode === 'full' ? ` · without timestamp ${n(r.untimed)}` : ''}`,
  ];
  if (r.mode === 'levels') return out.join('\n');
  if (r.firstTimestamp) out.push(`time: ${r.firstTimestamp} → ${r.lastTimestamp}`);
  const e = r.errorRate;
  out.push(`errors per minute: ${e.perMinute.toFixed(2)} on average over ${e.minutes.toFixed(0)} min${e.peak ? `, peak ${n(e.peak.errors)} at ${minute(e.peak.minute)}` : ''}`);
  if (r.hourly.length > 0) {
    const shown = r.hourly.slice(-48);
    const max = Math.max(...shown.map((h) => h.lines));
    out.push('', r.hourly.length > shown.length ? `HOURLY (last 48 of ${r.hourly.length} hours)` : 'HOURLY');
    out.push(table(['HOUR', 'LINES', 'ERRORS', 'WARNINGS', ''], shown.map((h) => [minute(h.hour), n(h.lines), n(h.errors), n(h.warnings), '█'.repeat(Math.max(1, Math.round((20 * h.lines) / max)))])));
    if (r.hoursDropped > 0) out.push(`(${n(r.hoursDropped)} lines in hours beyond logs.maxHours not bucketed)`);
  }
  out.push(...topTable('TOP MESSAGES, WARN AND ABOVE', r.topProblems), ...topTable('TOP MESSAGES', r.top));
  return out.join('\n');
}

export function register(program: Command, ctx: CliContext): void {
  program
    .command('logs')
    .description('analyse log files: counts per level, hourly histogram, error rate per minute, top messages')
    .argument('<paths...>', 'files, globs (quote them) or - for stdin; gzip is detected by content')
    .option('--top <n>', 'how many top messages (default logs.top)', parseInteger(0, 1000))
    .option('--levels', 'level counts only (the fast path)')
    .option('--year <year>', 'year of syslog lines, which carry none (default: this year)', parseInteger(1970, 9999))
    .addHelpText(
      'after',
      '\nFormats: ISO 8601 / RFC 3339 timestamps (log4j, python logging...), syslog (RFC 3164 / 5424), JSON lines\n(pino, bunyan, zap, ECS), logfmt, nginx/apache access logs (5xx error, 4xx warn).\n\nExamples:\n  $ codectl logs /var/log/app/app.log\n  $ codectl logs \'/var/log/nginx/access.log*\' --top 20\n  $ journalctl -o short | codectl logs - --levels\n  $ codectl logs app.log.gz --json',
    )
    .action(ctx.run(async (paths: string[], opts: { top?: number; levels?: boolean; year?: number }, cmd: Command) => {
      const engine = await ctx.engine(cmd);
      const report = await engine.logs.analyze(paths, {
        mode: opts.levels ? 'levels' : 'full',
        ...(opts.top !== undefined ? { top: opts.top } : {}),
        ...(opts.year !== undefined ? { year: opts.year } : {}),
        stdin: process.stdin,
      });
      ctx.print(cmd, report, () => renderLogReport(report));
    }));
}
