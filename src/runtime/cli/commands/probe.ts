import type { Command } from 'commander';
import type { ProbeRequest, ProbeResult } from '../../../capabilities/probe/index.js';
import { parseInteger, type CliContext } from '../context.js';
import { table } from '../format.js';

/** A progress bar on stderr, redrawn at most every 100 ms; nothing at all when stderr is not a TTY. */
export function progressBar(stream: CliContext['stderr']): { update(done: number, total: number): void; end(): void } {
  if (!stream.isTTY) return { update() {}, end() {} };
  let last = 0;
  let drawn = false;
  const draw = (done: number, total: number): void => {
    const width = Math.max(10, Math.min(40, (stream.columns ?? 80) - 40));
    const filled = total > 0 ? Math.round((width * done) / total) : 0;
    stream.write(`\r[${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${String(Math.floor((100 * done) / Math.max(1, total))).padStart(3)}% ${done}/${total}`);
    drawn = true;
  };
  return {
    update(done, total) {
      const now = Date.now();
      if (now - last < 100 && done < total) return;
      last = now;
      draw(done, total);
    },
    end() {
      if (drawn) stream.write('\r\x1b[2K');
    },
  };
}

export function renderProbe(results: readonly ProbeResult[], summary: { open: number; closed: number; filtered: number; durationMs: number; addresses?: number; ports?: number }, openOnly: boolean): string {
  const shown = openOnly ? results : results.filter((r) => r.state !== 'closed');
  const out: string[] = [];
  if (shown.length > 0) {
    out.push(table(['HOST', 'ADDRESS', 'PORT', 'STATE', 'SERVICE', 'MS', 'DETAIL'], shown.map((r) => [
      r.host,
      r.address,
      r.port,
      r.state,
      r.service ?? '',
      r.latencyMs.toFixed(1),
      [r.banner ? `banner: ${r.banner.slice(0, 60)}` : '', r.http ? `http ${r.http.status ?? r.http.error}` : ''].filter(Boolean).join(' · '),
    ])));
  }
  out.push(`${summary.open} open, ${summary.closed} closed${openOnly || shown.length === results.length ? '' : ' (not listed)'}, ${summary.filtered} filtered on ${summary.addresses ?? '?'} address(es) × ${summary.ports ?? '?'} port(s) in ${Math.round(summary.durationMs)} ms`);
  return out.join('\n');
}

export function register(program: Command, ctx: CliContext): void {
  program
    .command('probe')
    .description('TCP connect scan: open, closed or filtered ports, with service labels (targets inside probe.allowlist only)')
    .argument('<targets...>', 'addresses, names, CIDR blocks (127.0.0.0/30), host:port, [::1]:port')
    .option('-p, --ports <ports>', 'ports: 22,80,1000-2000, all (1-65535) or well-known (default)')
    .option('--concurrency <n>', 'connects in flight at most (default probe.maxConcurrency)', parseInteger(1, 8192))
    .option('--timeout <ms>', 'per-attempt timeout; no answer = filtered (default probe.timeoutMs)', parseInteger(1, 60_000))
    .option('--open', 'list open ports only')
    .option('--banner', 'read what each open port says first')
    .option('--http <path>', 'GET this path on every open port')
    .option('--fresh', 'ignore cached results')
    .addHelpText(
      'after',
      '\nExamples:\n  $ codectl probe 127.0.0.1 -p all --open\n  $ codectl probe localhost ::1 -p 22,80,443,5432,6379 --banner\n  $ codectl probe 127.0.0.1:8080 --http /health --json\n\nOnly probe.allowlist may be scanned (loopback by default); anything else fails with PROBE_TARGET_DENIED\nbefore a packet is sent. Exit codes: 0 scanned, 2 bad input or a denied target.',
    )
    .action(ctx.run(async (targets: string[], opts: { ports?: string; concurrency?: number; timeout?: number; open?: boolean; banner?: boolean; http?: string; fresh?: boolean }, cmd: Command) => {
      const engine = await ctx.engine(cmd);
      const req: ProbeRequest = {
        targets,
        ...(opts.ports !== undefined ? { ports: opts.ports } : {}),
        ...(opts.concurrency !== undefined ? { concurrency: opts.concurrency } : {}),
        ...(opts.timeout !== undefined ? { timeoutMs: opts.timeout } : {}),
        ...(opts.open ? { openOnly: true } : {}),
        ...(opts.banner ? { banner: true } : {}),
        ...(opts.http ? { http: { path: opts.http } } : {}),
        ...(opts.fresh ? { fresh: true } : {}),
      };
      const bar = progressBar(ctx.stderr);
      let r;
      try {
        r = await engine.probes.scan(req, { onProgress: (done, total) => bar.update(done, total) });
      } finally {
        bar.end();
      }
      ctx.print(cmd, { results: r.results, summary: r.summary }, () => renderProbe(r.results, r.summary, !!opts.open));
    }));
}
