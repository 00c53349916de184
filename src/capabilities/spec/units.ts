/**
 * Kubernetes-style resource quantities. CPU: `250m` (millicores), `2`, `0.5`, `1.5` (cores).
 * Memory: `512Mi`, `1Gi`, `1Ki`... (powers of 1024), `1G`, `500M`, `1k`... (powers of 1000), bare bytes.
 * Both return undefined for anything else, so the validator can report the raw value.
 */
const CPU_RE = /^(\d+(?:\.\d+)?)(m?)$/;
const MEM_RE = /^(\d+(?:\.\d+)?)(Ki|Mi|Gi|Ti|Pi|Ei|k|K|M|G|T|P|E)?$/;

const MEM_FACTORS: Record<string, number> = {
  '': 1,
  Ki: 1024, Mi: 1024 ** 2, Gi: 1024 ** 3, Ti: 1024 ** 4, Pi: 1024 ** 5, Ei: 1024 ** 6,
  k: 1e3, K: 1e3, M: 1e6, G: 1e9, T: 1e12, P: 1e15, E: 1e18,
};

// Specs repeat a handful of quantities ("250m", "512Mi") many times: remember them, within a bound.
const cpuCache = new Map<string, number | undefined>();
const memCache = new Map<string, number | undefined>();
function cached(cache: Map<string, number | undefined>, key: string, parse: (s: string) => number | undefined): number | undefined {
  if (cache.has(key)) return cache.get(key);
  const v = parse(key);
  if (cache.size >= 1024) cache.clear();
  cache.set(key, v);
  return v;
}

function cpuText(s: string): number | undefined {
  const m = CPU_RE.exec(s.trim());
  if (!m) return undefined;
  const n = Number(m[1]);
  return m[2] === 'm' ? n / 1000 : n;
}

function memoryText(s: string): number | undefined {
  const m = MEM_RE.exec(s.trim());
  return m ? Number(m[1]) * MEM_FACTORS[m[2] ?? '']! : undefined;
}

/** Cores, e.g. parseCpu('250m') === 0.25, parseCpu(2) === 2. */
export function parseCpu(value: unknown): number | undefined {
  if (typeof value === 'number') return Number.isFinite(value) && value >= 0 ? value : undefined;
  if (typeof value !== 'string' || value.length > 32) return undefined;
  return cached(cpuCache, value, cpuText);
}

/** Bytes, e.g. parseMemory('512Mi') === 536870912, parseMemory('1G') === 1e9. */
export function parseMemory(value: unknown): number | undefined {
  if (typeof value === 'number') return Number.isFinite(value) && value >= 0 ? value : undefined;
  if (typeof value !== 'string' || value.length > 32) return undefined;
  return cached(memCache, value, memoryText);
}

/** `0.25` → `250m`; for messages. */
export function formatCpu(cores: number): string {
  return Number.isInteger(cores) ? String(cores) : `${Math.round(cores * 1000)}m`;
}

/** `134217728` → `128Mi`; for messages. */
export function formatMemory(bytes: number): string {
  for (const [unit, f] of [['Gi', 1024 ** 3], ['Mi', 1024 ** 2], ['Ki', 1024]] as const) {
    if (bytes >= f && bytes % f === 0) return `${bytes / f}${unit}`;
  }
  return `${bytes} bytes`;
}
