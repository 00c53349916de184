// One fastify server with some of CODE's per-request features, for `npm run bench -- server-features`.
// argv[2] lists the features, comma-separated:
//   logger-identity  pino as loggerInstance + setChildLoggerFactory((l) => l)   (CODE before session 4)
//   logger-self      pino through Object.create, child() returns itself         (CODE now)
//   reqid            requestIdHeader + genReqId (base-36 counter)
//   reqid-header     + an onRequest hook that sets x-request-id
//   metrics-labels   an app-wide onResponse hook: request.routeOptions + a labels object per request
//   metrics-bound    a per-route onResponse hook with series bound once (responseMeter)
//   second-hook      one more onRequest hook that returns at once
//   schema           the /health response schema (fast-json-stringify)
import Fastify, { LogController, type FastifyBaseLogger, type FastifyServerOptions, type onResponseHookHandler } from 'fastify';
import { pino } from 'pino';
import { httpInstruments, responseMeter } from '../src/platform/metrics/builtin.js';
import { createMetricsRegistry } from '../src/platform/metrics/registry.js';
import { requestLogger } from '../src/runtime/server/logger.js';

const features = new Set((process.argv[2] ?? '').split(',').filter(Boolean));
const has = (f: string): boolean => features.has(f);
const opts: FastifyServerOptions & { loggerInstance?: FastifyBaseLogger } = { logger: false };
if (has('logger-identity') || has('logger-self')) {
  const base = pino({ level: 'warn' });
  delete opts.logger;
  opts.logController = new LogController({ disableRequestLogging: true });
  if (has('logger-identity')) opts.loggerInstance = base;
  else opts.loggerInstance = requestLogger(base); // what the server uses
}
if (has('reqid')) {
  let seq = 0;
  opts.requestIdHeader = 'x-request-id';
  opts.genReqId = () => `1a2b3c4d-${(++seq).toString(36)}`;
}
const app = Fastify(opts);
if (has('logger-identity')) app.setChildLoggerFactory((l) => l);
if (has('reqid-header')) {
  app.addHook('onRequest', (req, reply, done) => {
    void reply.header('x-request-id', req.id);
    done();
  });
}
if (has('second-hook')) app.addHook('onRequest', (_req, _reply, done) => done());
const http = httpInstruments(createMetricsRegistry());
if (has('metrics-labels')) {
  app.addHook('onResponse', (req, reply, done) => {
    const labels = { method: req.method, route: req.routeOptions.url ?? '(unmatched)', status: String(reply.statusCode) };
    http.duration.record(reply.elapsedTime, labels);
    http.requests.inc(labels);
    done();
  });
}
if (has('metrics-bound')) {
  app.addHook('onRoute', (route) => {
    const meter = responseMeter(http, route.url);
    const hook: onResponseHookHandler = (req, reply, done) => {
      meter(req.method, reply.statusCode, reply.elapsedTime);
      done();
    };
    route.onResponse = [hook];
  });
}
const schema = { response: { 200: { type: 'object', properties: { status: { type: 'string' }, uptimeS: { type: 'number' } }, required: ['status', 'uptimeS'] } } };
app.get('/health', has('schema') ? { schema } : {}, async () => ({ status: 'ok', uptimeS: 0 }));
await app.listen({ host: '127.0.0.1', port: 0 });
console.log(`VARIANT listening on http://127.0.0.1:${(app.server.address() as { port: number }).port}`);
process.on('SIGTERM', () => void app.close().then(() => process.exit(0)));
