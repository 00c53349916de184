import { CodeError } from '../../platform/errors.js';
import type { Store } from '../../platform/store/types.js';
import { flagAudit, lastFlagAuditId, loadFlagState, saveFlagChange, type FlagAuditEntry } from '../repositories/flags.js';

export class FlagError extends CodeError<'FLAG_UNKNOWN'> {}

/** An optimization that can be rolled back at run time. */
export interface FlagDefinition {
  /** Dotted, e.g. `cache.compression`. */
  name: string;
  default: boolean;
  description: string;
  /** What happens when the flag is off: the safe path. */
  fallback: string;
}

export interface FlagView extends FlagDefinition {
  enabled: boolean;
  /** Whether the value differs from the default because somebody set it. */
  overridden: boolean;
}

/** A registered flag; `enabled` is a plain field read, cheap on hot paths. */
export interface Flag {
  readonly name: string;
  readonly enabled: boolean;
}

type Listener = (enabled: boolean, name: string) => void;

class FlagHandle implements Flag {
  enabled: boolean;
  constructor(readonly def: FlagDefinition, enabled: boolean) {
    this.enabled = enabled;
  }
  get name(): string {
    return this.def.name;
  }
}

/**
 * The feature-flag registry. Parts register their flags at construction; values persist in the store
 * with an audit line per change, apply at once in this process, and reach other processes sharing
 * the store through `sync()`.
 */
export class FlagRegistry {
  private readonly flags = new Map<string, FlagHandle>();
  private readonly listeners = new Map<string, Set<Listener>>();
  private stored = new Map<string, boolean>();
  private lastAudit = 0;

  constructor(private readonly store: Store) {}

  /** Loads persisted values; flags registered before or after get them. */
  async load(): Promise<void> {
    this.stored = await loadFlagState(this.store);
    this.lastAudit = await lastFlagAuditId(this.store);
    for (const [name, flag] of this.flags) {
      const value = this.stored.get(name);
      if (value !== undefined) this.assign(flag, value);
    }
  }

  register(def: FlagDefinition): Flag {
    const existing = this.flags.get(def.name);
    if (existing) return existing;
    const flag = new FlagHandle(def, this.stored.get(def.name) ?? def.default);
    this.flags.set(def.name, flag);
    return flag;
  }

  enabled(name: string): boolean {
    return this.get(name).enabled;
  }

  /** A `() => boolean` for platform code that must not know about the registry. */
  reader(name: string): () => boolean {
    const flag = this.get(name);
    return () => flag.enabled;
  }

  list(): FlagView[] {
    return [...this.flags.values()]
      .map((f) => ({ ...f.def, enabled: f.enabled, overridden: this.stored.has(f.name) && this.stored.get(f.name) !== f.def.default }))
      .sort((a, b) => a.name.localeCompare(b.name));
  }

  async set(name: string, enabled: boolean, actor: string): Promise<{ name: string; old: boolean; new: boolean }> {
    const flag = this.get(name);
    const old = flag.enabled;
    await saveFlagChange(this.store, { at: Date.now(), name, old, new: enabled, actor });
    this.stored.set(name, enabled);
    this.lastAudit = await lastFlagAuditId(this.store);
    this.assign(flag, enabled);
    return { name, old, new: enabled };
  }

  audit(opts: { name?: string; limit?: number } = {}): Promise<FlagAuditEntry[]> {
    return flagAudit(this.store, opts);
  }

  onChange(name: string | '*', fn: Listener): () => void {
    let set = this.listeners.get(name);
    if (!set) this.listeners.set(name, (set = new Set()));
    set.add(fn);
    return () => set.delete(fn);
  }

  /** Applies changes other processes made (one cheap query when nothing changed). */
  async sync(): Promise<boolean> {
    const last = await lastFlagAuditId(this.store);
    if (last === this.lastAudit) return false;
    this.lastAudit = last;
    this.stored = await loadFlagState(this.store);
    for (const [name, flag] of this.flags) {
      const value = this.stored.get(name) ?? flag.def.default;
      this.assign(flag, value);
    }
    return true;
  }

  private get(name: string): FlagHandle {
    const flag = this.flags.get(name);
    if (!flag) throw new FlagError('FLAG_UNKNOWN', `unknown feature flag "${name}" (known: ${[...this.flags.keys()].sort().join(', ') || 'none'})`, { flag: name });
    return flag;
  }

  private assign(flag: FlagHandle, enabled: boolean): void {
    if (flag.enabled === enabled) return;
    flag.enabled = enabled;
    for (const fn of this.listeners.get(flag.name) ?? []) fn(enabled, flag.name);
    for (const fn of this.listeners.get('*') ?? []) fn(enabled, flag.name);
  }
}
