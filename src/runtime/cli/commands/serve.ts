import type { Command } from 'commander';
import { handleSignals, startServer } from '../../server/start.js';
import { parseInteger, type CliContext } from '../context.js';

export function register(program: Command, ctx: CliContext): void {
  program
    .command('serve')
    .description('run the HTTP API and the dashboard')
    .option('--host <host>', 'address to bind (server.host; non-loopback needs CODE_API_TOKEN)')
    .option('--port <port>', 'TCP port (server.port)', parseInteger(0, 65535))
    .addHelpText('after', '\nExamples:\n  $ codectl serve\n  $ codectl serve --port 9090\n  $ CODE_API_TOKEN=s3cret codectl serve --host 0.0.0.0')
    .action(async (opts: { host?: string; port?: number }, cmd: Command) => {
      const g = ctx.globals(cmd);
      const { createEngine } = await import('../../engine.js');
      let engine;
      try {
        engine = await createEngine({
          ...(g.config ? { path: g.config } : {}),
          logTo: 'stdout',
          syncIntervalMs: 2000,
          overrides: { server: { host: opts.host, port: opts.port } },
        });
      } catch (err) {
        await ctx.run(async () => {
          throw err;
        })();
        return;
      }
      try {
        const server = await startServer(engine, { ...(process.env.CODE_API_TOKEN ? { token: process.env.CODE_API_TOKEN } : {}) });
        engine.log.info({ url: server.url }, `CODE listening on ${server.url}`);
        handleSignals(engine, server);
        // Start-up garbage (module loading, config and schema compilation) out of the committed heap,
        // once the server is up: two full collections, since V8 gives a page back to the system only
        // at the collection after the one that emptied it.
        setTimeout(() => {
          const first = engine.memory.collectNow();
          if (first === null) return; // no --expose-gc
          const freed = first + (engine.memory.collectNow() ?? 0);
          engine.log.debug({ freedMb: Math.round(freed / 10485.76) / 100 }, 'start-up garbage collected');
        }, 250).unref();
      } catch (err) {
        await engine.close();
        await ctx.run(async () => {
          throw err;
        })();
      }
    });
}
