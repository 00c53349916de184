import type { Static } from '@sinclair/typebox';
import { Type } from '../schema-builder.js';
import type { MemoryControlOptions } from '../../../platform/memory/control.js';
import { StringEnum } from '../types.js';

const level = (def: 'moderate' | 'high' | 'critical', description: string) => StringEnum(['moderate', 'high', 'critical'], { default: def, description });
const fraction = (def: number, description: string, live = false) => Type.Number({ default: def, exclusiveMinimum: 0, maximum: 1, description, ...(live ? { live: true } : {}) });
const cooldown = (def: number, description: string) => Type.Integer({ default: def, minimum: 0, maximum: 3_600_000, description });
const group = <T extends Parameters<typeof Type.Object>[0]>(props: T, description: string) => Type.Object(props, { additionalProperties: false, default: {}, description });

/** The memory monitor and overload control (src/platform/memory, README "Memory monitor"). */
export const memorySection = Type.Object(
  {
    enabled: Type.Boolean({ default: true, description: 'Run the memory monitor in the server (sampling, levels, responders, load shedding).' }),
    intervalMs: Type.Integer({ default: 1000, minimum: 10, maximum: 60_000, description: 'Time between two samples (the next one is scheduled when the previous one is done).' }),
    thresholds: group(
      {
        moderate: fraction(0.7, 'Pressure ratio (used / limit) from which the level is moderate.', true),
        high: fraction(0.85, 'Pressure ratio from which the level is high.', true),
        critical: fraction(0.95, 'Pressure ratio from which the level is critical.', true),
      },
      'Level thresholds as fractions of each real limit; must rise moderate < high < critical.',
    ),
    hysteresis: Type.Number({ default: 0.05, minimum: 0, maximum: 0.5, live: true, description: 'A level steps down only once the ratio is this far below its threshold (no flapping).' }),
    stepDownSamples: Type.Integer({ default: 3, minimum: 1, maximum: 1000, description: 'Samples in a row below (threshold − hysteresis) before the level steps down.' }),
    capMb: Type.Number({ default: 0, minimum: 0, maximum: 1_048_576, live: true, description: 'A cap on the process RSS in MiB, counted as one more limit; 0 = none.' }),
    dimensions: Type.Array(StringEnum(['heap', 'cgroup', 'constrained', 'cap', 'system', 'swap']), {
      default: ['heap', 'cgroup', 'constrained', 'cap', 'system'],
      uniqueItems: true,
      maxItems: 6,
      description: 'Which ratios set the level: V8 old space, cgroup working set, process.constrainedMemory(), the RSS cap, machine MemAvailable, machine swap.',
    }),
    predictor: group(
      {
        windowMs: Type.Integer({ default: 60_000, minimum: 1000, maximum: 86_400_000, description: 'Sliding window of the trend regression.' }),
        minSamples: Type.Integer({ default: 10, minimum: 3, maximum: 4096, description: 'Samples in the window before predicting.' }),
        warnBeforeCriticalMs: Type.Integer({ default: 300_000, minimum: 0, maximum: 86_400_000, description: 'Raise the memory.critical-soon alert when the predicted time to critical is under this.' }),
      },
      'Trend predictor: time until the critical level.',
    ),
    leak: group(
      {
        windowMs: Type.Integer({ default: 300_000, minimum: 100, maximum: 86_400_000, description: 'Length of one leak window; its baseline is the lowest heap after GC in it.' }),
        windows: Type.Integer({ default: 3, minimum: 2, maximum: 100, description: 'Rising windows in a row before a leak is suspected.' }),
        minGrowthMbPerHour: Type.Number({ default: 10, minimum: 0, maximum: 1_000_000, description: 'Slowest growth (MiB/h) that counts as a leak.' }),
      },
      'Leak detection on the heap after GC.',
    ),
    caches: group(
      {
        enabled: Type.Boolean({ default: true, description: 'Shrink L1 caches under pressure.' }),
        level: level('moderate', 'Level from which L1 caches shrink.'),
        moderate: fraction(0.5, 'Fraction of L1 capacity kept at moderate pressure.'),
        high: fraction(0.25, 'Fraction kept at high pressure.'),
        critical: fraction(0.1, 'Fraction kept at critical pressure.'),
        cooldownMs: cooldown(30_000, 'Least time between two cache actions that give capacity back.'),
      },
      'Responder: shrink L1 caches.',
    ),
    gc: group(
      {
        enabled: Type.Boolean({ default: true, description: 'Run a full GC under pressure when node runs with --expose-gc.' }),
        level: level('high', 'Level from which the GC runs.'),
        cooldownMs: cooldown(10_000, 'Least time between two forced GCs.'),
      },
      'Responder: forced garbage collection.',
    ),
    concurrency: group(
      {
        enabled: Type.Boolean({ default: true, description: 'Lower the adaptive concurrency limits under pressure.' }),
        level: level('high', 'Level from which the limits are lowered.'),
        high: fraction(0.5, 'Fraction of the limit in force kept at high pressure.'),
        critical: fraction(0.25, 'Fraction kept at critical pressure.'),
        cooldownMs: cooldown(15_000, 'Least time between two limit actions that raise the ceiling again.'),
      },
      'Responder: adaptive concurrency ceilings.',
    ),
    breakers: group(
      {
        enabled: Type.Boolean({ default: true, description: 'Isolate (open by hand) the breakers of optional work under pressure.' }),
        level: level('high', 'Level from which optional work is isolated.'),
        cooldownMs: cooldown(30_000, 'Least time before isolated breakers are released.'),
      },
      'Responder: isolate breakers of optional work.',
    ),
    shed: group(
      {
        enabled: Type.Boolean({ default: true, description: 'Answer 503 with Retry-After instead of running requests under pressure.' }),
        level: level('high', 'Level from which low-priority routes are shed.'),
        allFrom: level('critical', 'Level from which every route but the exempt ones is shed.'),
        cooldownMs: cooldown(5_000, 'Least time before shedding eases.'),
        retryAfterSeconds: Type.Integer({ default: 5, minimum: 1, maximum: 3600, description: 'Retry-After of a shed request.' }),
        exemptRoutes: Type.Array(Type.String({ pattern: '^/', maxLength: 200 }), { default: ['/health', '/metrics'], maxItems: 100, live: true, description: 'Routes never shed (a path matches itself and what is under it).' }),
        lowPriorityRoutes: Type.Array(Type.String({ pattern: '^/', maxLength: 200 }), { default: ['/openapi.json', '/v1/consultations/batch', '/v1/kpis/history'], maxItems: 100, live: true, description: 'Routes shed first, from the high level (a route may also set config.shed: low | normal | exempt).' }),
      },
      'Responder: load shedding in the server.',
    ),
    idleTrim: group(
      {
        enabled: Type.Boolean({ default: true, description: 'Give the V8 young generation (up to 32 MiB, grown under load) back once the process idles; needs --expose-gc, as npm start runs it. Flag memory.idleTrim turns it off at run time.' }),
        afterMs: Type.Integer({ default: 6000, minimum: 1000, maximum: 3_600_000, description: 'Idle time before the trim (V8 shrinks only after 5 s of low allocation).' }),
        maxUtilization: Type.Number({ default: 0.05, exclusiveMinimum: 0, maximum: 1, description: 'Event-loop utilisation under which a sample counts as idle.' }),
      },
      'Idle trim of the young generation (src/platform/memory/idle-trim.ts).',
    ),
    sources: group(
      {
        cgroupV2Root: Type.String({ default: '/sys/fs/cgroup', minLength: 1, description: 'Mount point of the cgroup v2 hierarchy.' }),
        cgroupV1MemoryRoot: Type.String({ default: '/sys/fs/cgroup/memory', minLength: 1, description: 'Mount point of the cgroup v1 memory controller.' }),
        procSelfCgroup: Type.String({ default: '/proc/self/cgroup', minLength: 1, description: "The process's cgroup membership file." }),
        meminfo: Type.String({ default: '/proc/meminfo', minLength: 1, description: 'The machine memory file (MemAvailable, swap).' }),
      },
      'Kernel files read by the sampler (point them elsewhere to test).',
    ),
  },
  { additionalProperties: false, default: {} },
);

type MemorySettings = Static<typeof memorySection>;

/** The monitor's options from the config section. */
export function memoryOptions(cfg: MemorySettings): MemoryControlOptions {
  return {
    intervalMs: cfg.intervalMs,
    thresholds: cfg.thresholds,
    hysteresis: cfg.hysteresis,
    stepDownSamples: cfg.stepDownSamples,
    capBytes: Math.round(cfg.capMb * 1024 * 1024),
    dimensions: cfg.dimensions,
    predictor: { windowMs: cfg.predictor.windowMs, minSamples: cfg.predictor.minSamples, warnBelowMs: cfg.predictor.warnBeforeCriticalMs },
    leak: cfg.leak,
    sampler: { paths: cfg.sources },
    caches: { enabled: cfg.caches.enabled, level: cfg.caches.level, fractions: { moderate: cfg.caches.moderate, high: cfg.caches.high, critical: cfg.caches.critical }, cooldownMs: cfg.caches.cooldownMs },
    gc: cfg.gc,
    concurrency: { enabled: cfg.concurrency.enabled, level: cfg.concurrency.level, fractions: { high: cfg.concurrency.high, critical: cfg.concurrency.critical }, cooldownMs: cfg.concurrency.cooldownMs },
    breakers: cfg.breakers,
    idleTrim: { on: cfg.idleTrim.enabled, afterMs: cfg.idleTrim.afterMs, maxUtilization: cfg.idleTrim.maxUtilization },
    shed: { enabled: cfg.shed.enabled, level: cfg.shed.level, allFrom: cfg.shed.allFrom, cooldownMs: cfg.shed.cooldownMs, retryAfterSeconds: cfg.shed.retryAfterSeconds },
  };
}

/** The live keys' part of the monitor's options (thresholds, hysteresis, cap). */
export function memoryLiveOptions(cfg: MemorySettings): { thresholds: MemorySettings['thresholds']; hysteresis: number; capBytes: number } {
  return { thresholds: cfg.thresholds, hysteresis: cfg.hysteresis, capBytes: Math.round(cfg.capMb * 1024 * 1024) };
}
