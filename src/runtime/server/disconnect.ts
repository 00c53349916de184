import type { FastifyReply } from 'fastify';

/**
 * Aborted when the client goes away before the reply is written: long work a route starts (a scan,
 * a check, a log analysis, a consultation) stops instead of finishing for nobody.
 */
export function disconnectSignal(reply: FastifyReply): AbortSignal {
  const controller = new AbortController();
  reply.raw.once('close', () => {
    if (!reply.raw.writableEnded) controller.abort();
  });
  return controller.signal;
}
