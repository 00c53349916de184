import type { Static, TObject } from '@sinclair/typebox';
import { Type } from './schema-builder.js';
import { alertsSection } from './sections/alerts.js';
import { cacheSection } from './sections/cache.js';
import { dataSection } from './sections/data.js';
import { expertsSection } from './sections/experts.js';
import { logSection } from './sections/log.js';
import { netSection } from './sections/net.js';
import { logsSection } from './sections/logs.js';
import { memorySection } from './sections/memory.js';
import { probeSection } from './sections/probe.js';
import { redisSection } from './sections/redis.js';
import { serverSection } from './sections/server.js';
import { storeSection } from './sections/store.js';

/**
 * The whole configuration: one TypeBox section per part (src/runtime/config/sections/NAME.ts).
 * Every key has a default and a description; `live: true` marks keys that change at run time
 * (everything else needs a restart). The README's config reference is generated from this.
 */
export const sections = {
  server: serverSection,
  data: dataSection,
  store: storeSection,
  redis: redisSection,
  cache: cacheSection,
  log: logSection,
  memory: memorySection,
  alerts: alertsSection,
  experts: expertsSection,
  net: netSection,
  logs: logsSection,
  probe: probeSection,
} satisfies Record<string, TObject>;

export const ConfigSchema = Type.Object(sections, { additionalProperties: false });

export type Config = Static<typeof ConfigSchema>;
