import type { FastifyInstance } from 'fastify';
import type { Engine } from '../engine.js';
import { buildApp } from './app.js';
import type { RoutePlugin } from './routes/index.js';

export interface RunningServer {
  app: FastifyInstance;
  /** `http://127.0.0.1:8080` */
  url: string;
  port: number;
  /** Graceful stop: refuse new work, let in-flight requests finish up to the deadline, then cut. */
  stop(): Promise<void>;
}

export interface StartOptions {
  host?: string;
  port?: number;
  token?: string;
  /** Extra route plugins (embedding, tests), registered after the engine's own. */
  plugins?: RoutePlugin[];
}

export async function startServer(engine: Engine, opts: StartOptions = {}): Promise<RunningServer> {
  const cfg = engine.settings.server;
  const host = opts.host ?? cfg.host;
  const app = await buildApp({ engine, host, ...(opts.token ? { token: opts.token } : {}), ...(opts.plugins ? { plugins: opts.plugins } : {}) });
  await app.listen({ host, port: opts.port ?? cfg.port });
  const address = app.server.address();
  const port = typeof address === 'object' && address ? address.port : (opts.port ?? cfg.port);
  const url = `http://${host.includes(':') ? `[${host}]` : host}:${port}`;
  let stopping: Promise<void> | undefined;
  const stop = (): Promise<void> =>
    (stopping ??= (async () => {
      const deadline = engine.settings.server.shutdownTimeoutMs;
      const timer = setTimeout(() => {
        engine.log.warn({ deadlineMs: deadline }, 'shutdown deadline passed; closing the remaining connections');
        app.server.closeAllConnections();
      }, deadline);
      try {
        await app.close();
      } finally {
        clearTimeout(timer);
      }
    })());
  return { app, url, port, stop };
}

/**
 * SIGTERM/SIGINT: stop the server gracefully, close the engine (store last), exit 0.
 * A second signal exits at once.
 */
export function handleSignals(engine: Engine, server: RunningServer, exit: (code: number) => void = (c) => process.exit(c)): void {
  let received = false;
  const onSignal = (signal: NodeJS.Signals): void => {
    if (received) {
      engine.log.warn({ signal }, 'second signal: exiting now');
      exit(1);
      return;
    }
    received = true;
    engine.log.info({ signal }, 'shutting down: finishing in-flight requests');
    void (async () => {
      let code = 0;
      try {
        await server.stop();
      } catch (err) {
        engine.log.error({ err: (err as Error).message }, 'error while stopping the server');
        code = 1;
      }
      await engine.close();
      engine.log.info('stopped');
      exit(code);
    })();
  };
  process.once('SIGTERM', onSignal);
  process.once('SIGINT', onSignal);
}
