import type { FastifyInstance, FastifyReply } from 'fastify';
import type { ServerResponse } from 'node:http';
import type { MonitorSample } from '../../../platform/metrics/monitor.js';
import { dashboardAssets } from '../../dashboard/assets.js';
import { DashboardError } from '../../dashboard/errors.js';
import type { RouteOptions } from './index.js';

/** Viewers of the live stream at once; one more gets 503. */
const MAX_STREAMS = 32;
/** A viewer that has not read its stream for this long is cut (its socket buffer is full). */
const STALL_MS = 30_000;

/**
 * The dashboard: the static page at `/` (assets under /dashboard/), and its live feed at
 * /v1/dashboard/stream as Server-Sent Events — a `hello` event with the KPI history and the flags,
 * then a `sample` event per KPI sample (every alerts.intervalMs).
 */
export default async function dashboardRoutes(app: FastifyInstance, { engine }: RouteOptions): Promise<void> {
  const monitor = engine.observability.monitor;

  const send = (path: string, ifNoneMatch: string | undefined, reply: FastifyReply) => {
    const asset = dashboardAssets().get(path);
    if (asset === undefined) throw new DashboardError('DASHBOARD_NOT_BUILT', `no dashboard asset ${path}`, { path });
    void reply.header('content-type', asset.type).header('etag', asset.etag).header('cache-control', path === 'index.html' ? 'no-cache' : 'public, max-age=3600');
    if (ifNoneMatch === asset.etag) return reply.code(304).send();
    return reply.send(asset.body);
  };

  app.get('/', { schema: { hide: true } }, async (req, reply) => send('index.html', req.headers['if-none-match'], reply));
  app.get<{ Params: { '*': string } }>('/dashboard/*', { schema: { hide: true } }, async (req, reply) => {
    const path = req.params['*'];
    if (path.length > 200 || !dashboardAssets().has(path)) return reply.callNotFound();
    return send(path, req.headers['if-none-match'], reply);
  });

  const streams = new Set<ServerResponse>();
  app.addHook('preClose', async () => {
    for (const res of streams) res.end();
    streams.clear();
  });

  const payload = (s: MonitorSample) => ({ at: s.at, kpis: s.kpis, alerts: s.alerts, baselines: s.baselines, flags: engine.flags.list() });

  app.get('/v1/dashboard/stream', {
    config: { metrics: false },
    schema: { tags: ['observability'], summary: 'Live KPI samples, alerts and flags as Server-Sent Events (text/event-stream): `hello`, then one `sample` per interval.' },
  }, async (req, reply) => {
    if (streams.size >= MAX_STREAMS) throw new DashboardError('DASHBOARD_STREAMS_FULL', `the dashboard stream has ${MAX_STREAMS} viewers already`, { limit: MAX_STREAMS });
    const res = reply.raw;
    reply.hijack();
    res.writeHead(200, {
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-cache, no-transform',
      connection: 'keep-alive',
      'x-accel-buffering': 'no',
      'x-request-id': req.id,
    });
    streams.add(res);
    let stalledSince = 0;
    const write = (event: string, data: unknown): void => {
      if (res.writableNeedDrain) {
        // A slow viewer misses samples rather than growing our buffers; a stuck one is cut.
        if (stalledSince === 0) stalledSince = Date.now();
        else if (Date.now() - stalledSince > STALL_MS) res.destroy();
        return;
      }
      stalledSince = 0;
      res.write(`event: ${event}\ndata: ${JSON.stringify(data)}\n\n`);
    };
    const first = monitor.latest() ?? monitor.view();
    write('hello', { intervalMs: monitor.intervalMs, history: monitor.history(), ...payload(first) });
    const unsubscribe = monitor.onSample((s) => write('sample', payload(s)));
    res.on('close', () => {
      unsubscribe();
      streams.delete(res);
    });
  });
}
