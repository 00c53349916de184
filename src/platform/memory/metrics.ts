/**
 * Exports the monitor to a MetricsRegistry (Prometheus /metrics and the KPI page read it). Gauges are
 * callbacks read at scrape time, so the monitor costs nothing extra when nobody scrapes.
 */
import type { KpiDefinition } from '../metrics/kpis.js';
import type { MetricsRegistry } from '../metrics/types.js';
import type { MemoryMonitor } from './monitor.js';
import type { LoadShedder } from './shedder.js';
import { LEVEL_RANK, type ActionRecord } from './types.js';

export function registerMemoryMetrics(registry: MetricsRegistry, monitor: MemoryMonitor, shedder?: LoadShedder): void {
  const snap = () => monitor.snapshot();
  const sample = () => monitor.snapshot().sample;
  registry.gaugeCallback({ name: 'code_memory_pressure_level', help: 'Memory pressure level: 0 normal, 1 moderate, 2 high, 3 critical', collect: () => LEVEL_RANK[monitor.level] });
  registry.gaugeCallback({
    name: 'code_memory_pressure_ratio',
    help: 'Used fraction of each watched memory limit (heap, cgroup, constrained, cap, system, swap)',
    labelNames: ['dimension'],
    collect: () => Object.entries(snap().ratios).map(([dimension, value]) => ({ labels: { dimension }, value })),
  });
  registry.gaugeCallback({ name: 'code_memory_effective_limit_bytes', help: 'Smallest real memory limit (old-space, cgroup, constrained, cap)', collect: () => snap().effectiveLimitBytes ?? 0 });
  registry.gaugeCallback({
    name: 'code_memory_time_to_critical_seconds',
    help: 'Predicted seconds until the critical pressure level; -1 when memory is not rising',
    collect: () => {
      const ms = snap().timeToCriticalMs;
      return ms === null ? -1 : ms / 1000;
    },
  });
  registry.gaugeCallback({ name: 'code_memory_heap_growth_mb_per_hour', help: 'Growth of the heap after GC over the leak windows, MiB per hour', collect: () => snap().growthMbPerHour ?? 0 });
  registry.gaugeCallback({ name: 'code_memory_leak_suspected', help: '1 when the heap after GC has risen over every leak window', collect: () => (snap().leakSuspected ? 1 : 0) });
  registry.gaugeCallback({ name: 'code_memory_rss_bytes', help: 'Resident set size at the last sample', collect: () => sample()?.rss ?? 0 });
  registry.gaugeCallback({ name: 'code_memory_heap_used_bytes', help: 'V8 heap used at the last sample', collect: () => sample()?.heapUsed ?? 0 });
  registry.gaugeCallback({ name: 'code_memory_old_space_used_bytes', help: 'V8 old generation used at the last sample', collect: () => sample()?.oldUsed ?? 0 });
  registry.gaugeCallback({ name: 'code_memory_old_space_committed_bytes', help: 'V8 old generation committed (what its limit bounds) at the last sample', collect: () => sample()?.oldCommitted ?? 0 });
  registry.gaugeCallback({ name: 'code_memory_old_space_limit_bytes', help: 'V8 old generation limit', collect: () => sample()?.oldLimit ?? 0 });
  registry.gaugeCallback({ name: 'code_memory_external_bytes', help: 'Memory of C++ objects bound to JS (Buffers included)', collect: () => sample()?.external ?? 0 });
  registry.gaugeCallback({ name: 'code_memory_cgroup_usage_bytes', help: 'cgroup working set (usage minus inactive file cache); 0 without a cgroup', collect: () => sample()?.cgroup?.workingSet ?? 0 });
  registry.gaugeCallback({ name: 'code_memory_cgroup_limit_bytes', help: 'cgroup memory limit; 0 when unlimited or absent', collect: () => sample()?.cgroup?.limit ?? 0 });
  registry.gaugeCallback({ name: 'code_memory_system_available_bytes', help: 'MemAvailable of the machine', collect: () => sample()?.system?.memAvailable ?? 0 });
  registry.gaugeCallback({
    name: 'code_memory_swap_used_bytes',
    help: 'Swap in use on the machine',
    collect: () => {
      const s = sample()?.system;
      return s ? s.swapTotal - s.swapFree : 0;
    },
  });
  registry.gaugeCallback({ name: 'code_eventloop_delay_p99_ms', help: 'Event-loop delay p99 over the last sampling interval', collect: () => sample()?.eventLoop.delayP99Ms ?? 0 });
  registry.gaugeCallback({ name: 'code_eventloop_utilization', help: 'Event-loop utilisation over the last sampling interval, 0..1', collect: () => sample()?.eventLoop.utilization ?? 0 });
  registry.gaugeCallback({ name: 'code_memory_young_generation_bytes', help: 'V8 young generation committed at the last sample (grows under load, trimmed when idle)', collect: () => sample()?.youngCommitted ?? 0 });
  const trims = registry.counter({ name: 'code_memory_idle_trims_total', help: 'Scavenges run by the idle trimmer to give the young generation back' });
  monitor.on((e) => {
    if (e.type === 'trim') trims.inc();
  });
  const actions = registry.counter({ name: 'code_memory_actions_total', help: 'Memory responder actions', labelNames: ['responder', 'action'] });
  let last: ActionRecord | null = null;
  monitor.on((e) => {
    if (e.type !== 'action') return;
    actions.inc({ responder: e.responder, action: e.action });
    last = e;
  });
  registry.gaugeCallback({
    name: 'code_memory_last_action_timestamp_seconds',
    help: 'When the last memory responder action happened, with what it was',
    labelNames: ['responder', 'action'],
    collect: () => (last ? [{ labels: { responder: last.responder, action: last.action }, value: last.at / 1000 }] : []),
  });
  if (shedder) {
    const shed = registry.counter({ name: 'code_http_shed_total', help: 'Requests answered 503 by load shedding', labelNames: ['priority'] });
    shedder.onShed = (priority) => shed.inc({ priority });
    registry.gaugeCallback({ name: 'code_http_shedding_mode', help: 'Load shedding: 0 off, 1 low-priority routes, 2 all but exempt routes', collect: () => ({ off: 0, low: 1, all: 2 })[shedder.mode] });
  }
}

/** The part of the KPI registry this needs (src/platform/metrics/kpis.ts KpiRegistry). */
export interface KpiSink {
  register(def: KpiDefinition): () => void;
}

/** KPI names the memory monitor registers (alert rules and the dashboard refer to them). */
export const MEMORY_KPIS = {
  level: 'memory.level',
  pressure: 'memory.pressure',
  timeToCritical: 'memory.time_to_critical',
  growth: 'memory.growth',
  lastActionAge: 'memory.last_action_age',
} as const;

/**
 * Registers the memory KPIs: level, pressure, predicted time to critical, heap growth and the age of
 * the last responder action. Their thresholds become the default alert rules (critical-soon under
 * `warnBelowS`, growth over `leakMbPerHour`). Returns a function that removes them.
 */
export function registerMemoryKpis(kpis: KpiSink, monitor: MemoryMonitor, opts: { warnBelowS: number; leakMbPerHour: number; now?: () => number }): () => void {
  const now = opts.now ?? Date.now;
  const removers = [
    kpis.register({
      name: MEMORY_KPIS.level,
      title: 'Memory pressure level',
      unit: 'level',
      group: 'memory',
      description: '0 normal, 1 moderate, 2 high (low-priority routes shed), 3 critical (all but health and metrics shed)',
      read: () => LEVEL_RANK[monitor.level],
      thresholds: { comparison: '>=', warning: 2, critical: 3 },
    }),
    kpis.register({
      name: MEMORY_KPIS.pressure,
      title: 'Memory pressure',
      unit: '%',
      group: 'memory',
      description: 'Highest used share of a real limit (old space, cgroup, constrained memory, RSS cap, machine)',
      read: () => {
        const snap = monitor.snapshot();
        return snap.samples === 0 ? NaN : snap.ratio * 100;
      },
    }),
    kpis.register({
      name: MEMORY_KPIS.timeToCritical,
      title: 'Time to critical memory',
      unit: 's',
      group: 'memory',
      description: 'Predicted from the trend over the sliding window; no data while memory is not rising',
      read: () => {
        const ms = monitor.snapshot().timeToCriticalMs;
        return ms === null ? NaN : ms / 1000;
      },
      thresholds: { comparison: '<', warning: opts.warnBelowS },
    }),
    kpis.register({
      name: MEMORY_KPIS.growth,
      title: 'Heap growth after GC',
      unit: 'MB/h',
      group: 'memory',
      description: 'Slope of the heap after GC over the leak windows, MiB per hour',
      read: () => monitor.snapshot().growthMbPerHour ?? NaN,
      thresholds: { comparison: '>', warning: opts.leakMbPerHour },
    }),
    kpis.register({
      name: MEMORY_KPIS.lastActionAge,
      title: 'Last memory action',
      unit: 's',
      group: 'memory',
      description: 'Seconds since a responder last acted (shrink, gc, limit, isolate, shed); the monitor snapshot says which',
      read: () => {
        const last = monitor.snapshot().lastAction;
        return last ? Math.max(0, (now() - last.at) / 1000) : NaN;
      },
    }),
  ];
  return () => removers.forEach((r) => r());
}
