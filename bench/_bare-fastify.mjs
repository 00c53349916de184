// The limit for the server benchmark: a bare fastify app with one JSON route and no logger.
import Fastify from 'fastify';

const app = Fastify({ logger: false });
app.get('/health', async () => ({ status: 'ok', uptimeS: 0 }));
await app.listen({ host: '127.0.0.1', port: 0 });
console.log(`BARE listening on http://127.0.0.1:${app.server.address().port}`);
process.on('SIGTERM', () => app.close().then(() => process.exit(0)));
