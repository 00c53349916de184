import { createHash } from 'node:crypto';
import type { Store } from '../../platform/store/types.js';
import {
  appendConfigVersion,
  getConfigVersion,
  latestConfigVersion,
  listConfigVersions,
  type ConfigChange,
  type ConfigVersion,
} from '../repositories/config-versions.js';
import { ConfigError } from './errors.js';
import { configKeys } from './keys.js';
import { defaultConfig, validateConfig, type LoadedConfig } from './loader.js';
import type { Config } from './schema.js';

function getIn(obj: unknown, path: string[]): unknown {
  let node = obj;
  for (const seg of path) node = (node as Record<string, unknown> | undefined)?.[seg];
  return node;
}

function setIn(obj: Record<string, unknown>, path: string[], value: unknown): void {
  let node = obj;
  for (const seg of path.slice(0, -1)) node = (node[seg] ??= {}) as Record<string, unknown>;
  node[path[path.length - 1]!] = value;
}

const same = (a: unknown, b: unknown): boolean => JSON.stringify(a) === JSON.stringify(b);

/** Key-by-key changes from `a` to `b`, in schema order. */
export function diffConfigs(a: unknown, b: unknown): ConfigChange[] {
  const out: ConfigChange[] = [];
  for (const key of configKeys()) {
    const before = getIn(a, key.segments);
    const after = getIn(b, key.segments);
    if (!same(before, after)) out.push({ path: key.path, old: before ?? null, new: after ?? null });
  }
  return out;
}

function stableHash(value: unknown): string {
  return createHash('sha256').update(JSON.stringify(value)).digest('hex').slice(0, 16);
}

export interface RollbackResult {
  version: ConfigVersion;
  /** Keys now in force in this process. */
  applied: string[];
  /** Keys that take effect at the next restart. */
  restartRequired: string[];
}

export type ConfigListener = (changes: ConfigChange[], config: Config) => void;

/**
 * The running configuration and its history. Every accepted config is a numbered version; a rollback
 * is a new version whose content is an old one's. A rollback stays in force across restarts until the
 * file or the environment changes (then what they say wins and becomes the next version).
 */
export class ConfigManager {
  private running: Config;
  private known = 0;
  private readonly inputHash: string;
  private readonly listeners = new Set<ConfigListener>();
  /** Keys changed in the store but not yet in force here (need a restart). */
  readonly pendingRestart = new Set<string>();

  constructor(private readonly store: Store, private readonly loaded: LoadedConfig) {
    this.running = loaded.config;
    this.inputHash = stableHash(loaded.config);
  }

  get current(): Config {
    return this.running;
  }

  /** Records the loaded config as a version when it differs from the latest, or resumes a rollback. */
  async init(): Promise<ConfigVersion> {
    const latest = await latestConfigVersion(this.store);
    if (latest && latest.inputHash === this.inputHash) {
      try {
        this.running = validateConfig(structuredClone(latest.config));
        this.known = latest.version;
        return latest;
      } catch {
        // The stored version no longer fits the schema (an upgrade): the loaded config wins below.
      }
    }
    const version = await appendConfigVersion(this.store, {
      createdAt: Date.now(),
      source: this.loaded.source,
      config: this.loaded.config as unknown as Record<string, unknown>,
      inputHash: this.inputHash,
      diff: diffConfigs(latest?.config ?? defaultConfig(), this.loaded.config),
    });
    this.running = this.loaded.config;
    this.known = version.version;
    return version;
  }

  history(limit = 100): Promise<ConfigVersion[]> {
    return listConfigVersions(this.store, limit);
  }

  async version(n: number): Promise<ConfigVersion> {
    const v = await getConfigVersion(this.store, n);
    if (!v) throw new ConfigError('CONFIG_VERSION_NOT_FOUND', `no config version ${n}`, { version: n });
    return v;
  }

  async diff(a: number, b: number): Promise<ConfigChange[]> {
    const [va, vb] = await Promise.all([this.version(a), this.version(b)]);
    return diffConfigs(va.config, vb.config);
  }

  async rollback(n: number): Promise<RollbackResult> {
    const target = await this.version(n);
    const config = validateConfig(structuredClone(target.config));
    const latest = await latestConfigVersion(this.store);
    const version = await appendConfigVersion(this.store, {
      createdAt: Date.now(),
      source: `rollback to ${n}`,
      config: config as unknown as Record<string, unknown>,
      inputHash: this.inputHash,
      diff: diffConfigs(latest?.config ?? this.running, config),
    });
    return { version, ...this.apply(version) };
  }

  /** Picks up versions written by another process (the CLI, another instance). Cheap: one indexed query. */
  async sync(): Promise<RollbackResult | undefined> {
    const latest = await latestConfigVersion(this.store);
    if (!latest || latest.version <= this.known) return undefined;
    return { version: latest, ...this.apply(latest) };
  }

  onChange(fn: ConfigListener): () => void {
    this.listeners.add(fn);
    return () => this.listeners.delete(fn);
  }

  private apply(version: ConfigVersion): { applied: string[]; restartRequired: string[] } {
    this.known = Math.max(this.known, version.version);
    const target = validateConfig(structuredClone(version.config));
    const changes = diffConfigs(this.running, target);
    const live = new Set(configKeys().filter((k) => k.live).map((k) => k.path));
    const next = structuredClone(this.running) as unknown as Record<string, unknown>;
    const applied: ConfigChange[] = [];
    const restartRequired: string[] = [];
    for (const c of changes) {
      if (live.has(c.path)) {
        setIn(next, c.path.split('.'), c.new);
        applied.push(c);
        this.pendingRestart.delete(c.path);
      } else {
        restartRequired.push(c.path);
        this.pendingRestart.add(c.path);
      }
    }
    if (applied.length > 0) {
      this.running = next as unknown as Config;
      for (const fn of this.listeners) fn(applied, this.running);
    }
    return { applied: applied.map((c) => c.path), restartRequired };
  }
}
