import { Type } from '../schema-builder.js';

export const redisSection = Type.Object(
  {
    url: Type.String({ default: '', description: 'Redis URL (redis://…) for the L2 cache, the invalidation bus and jobs. Empty: no Redis. REDIS_URL sets it too.' }),
  },
  { additionalProperties: false, default: {} },
);
