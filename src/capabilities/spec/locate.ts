/**
 * The slow path: turning a finding's path into a line and column. Built only when a spec has
 * findings, from a second parse that keeps positions: `yaml`'s composer for YAML and JSON (JSON is
 * YAML), a line scanner for TOML. Aliases are followed through their anchors without being expanded,
 * so locating inside a "billion laughs" document costs no more than parsing it.
 */
import { isAlias, isMap, isPair, isScalar, isSeq, parseAllDocuments, type Document } from 'yaml';
import type { Segment } from './limits.js';
import type { SpecFormat } from './types.js';

export interface Position {
  line: number;
  column: number;
}

export class Locator {
  private lineStarts: number[] | undefined;
  private yamlDocs: Document.Parsed[] | undefined | null;
  private toml: Map<string, { key: number; value: number }> | undefined;

  constructor(
    private readonly text: string,
    private readonly format: SpecFormat,
  ) {}

  /** 1-based line and column of a character offset. */
  position(offset: number): Position {
    const starts = (this.lineStarts ??= computeLineStarts(this.text));
    let lo = 0;
    let hi = starts.length - 1;
    const off = Math.max(0, Math.min(offset, this.text.length));
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (starts[mid]! <= off) lo = mid;
      else hi = mid - 1;
    }
    return { line: lo + 1, column: off - starts[lo]! + 1 };
  }

  /** Where `path` of document `doc` sits: its key, or its value. Falls back to the nearest known ancestor. */
  locate(doc: number, path: readonly Segment[], at: 'key' | 'value'): Position {
    try {
      const offset = this.format === 'toml' ? this.tomlOffset(path, at).offset : this.yamlOffset(doc, path, at).offset;
      return this.position(offset);
    } catch (_) {
      // A parser that chokes where the fast one did not (deep nesting, a dialect difference): say where we can.
      return { line: 1, column: 1 };
    }
  }

  /** Like locate, for a path whose document is not known: the first document holding all of it. */
  find(path: readonly Segment[], at: 'key' | 'value'): Position {
    try {
      if (this.format === 'toml') return this.position(this.tomlOffset(path, at).offset);
      this.yamlOffset(0, [], at);
      const n = this.yamlDocs?.length ?? 0;
      for (let d = 0; d < n; d++) {
        const hit = this.yamlOffset(d, path, at);
        if (hit.complete) return this.position(hit.offset);
      }
      return this.position(this.yamlOffset(0, path, at).offset);
    } catch (_) {
      return { line: 1, column: 1 };
    }
  }

  private yamlOffset(doc: number, path: readonly Segment[], at: 'key' | 'value'): { offset: number; complete: boolean } {
    if (this.yamlDocs === undefined) {
      try {
        this.yamlDocs = parseAllDocuments(this.text, { uniqueKeys: false, prettyErrors: false, strict: false }) as Document.Parsed[];
        if (!Array.isArray(this.yamlDocs)) this.yamlDocs = [this.yamlDocs as unknown as Document.Parsed];
      } catch (_) {
        this.yamlDocs = null;
      }
    }
    const d = this.yamlDocs?.[doc];
    if (!d) return { offset: 0, complete: false };
    let node: unknown = d.contents;
    let offset = rangeStart(node) ?? d.range?.[0] ?? 0;
    for (let i = 0; i < path.length; i++) {
      node = resolve(node, d);
      const seg = path[i]!;
      if (isSeq(node) && typeof seg === 'number') {
        const item = node.items[seg];
        if (item === undefined) return { offset, complete: false };
        node = item;
        offset = rangeStart(item) ?? offset;
      } else if (isMap(node)) {
        const pair = findPair(node, String(seg), d, 0);
        if (!pair) return { offset, complete: false };
        const keyStart = rangeStart(pair.key);
        if (i === path.length - 1 && at === 'key') return { offset: keyStart ?? offset, complete: true };
        node = pair.value;
        // A key with no value (`cpu:`) has no range of its own: point at the key.
        offset = rangeStart(pair.value) ?? keyStart ?? offset;
      } else return { offset, complete: false };
    }
    return { offset, complete: true };
  }

  private tomlOffset(path: readonly Segment[], at: 'key' | 'value'): { offset: number; complete: boolean } {
    const index = (this.toml ??= indexToml(this.text));
    for (let n = path.length; n > 0; n--) {
      const hit = index.get(pathKey(path.slice(0, n)));
      if (hit) return { offset: n === path.length && at === 'value' ? hit.value : hit.key, complete: n === path.length };
    }
    return { offset: 0, complete: path.length === 0 };
  }
}

function computeLineStarts(text: string): number[] {
  const starts = [0];
  for (let i = text.indexOf('\n'); i !== -1; i = text.indexOf('\n', i + 1)) starts.push(i + 1);
  return starts;
}

function rangeStart(node: unknown): number | undefined {
  const r = (node as { range?: [number, number, number] } | null)?.range;
  return r ? r[0] : undefined;
}

function resolve(node: unknown, doc: Document.Parsed): unknown {
  // Bounded: an alias chain longer than 64 hops is not worth following.
  for (let hops = 0; hops < 64 && isAlias(node); hops++) node = node.resolve(doc);
  return node;
}

/** The pair for `key` in a mapping, looking through YAML merge keys (`<<: *base`) like js-yaml does. */
function findPair(map: { items: unknown[] }, key: string, doc: Document.Parsed, depth: number): { key: unknown; value: unknown } | undefined {
  let merged: { key: unknown; value: unknown } | undefined;
  for (const item of map.items) {
    if (!isPair(item)) continue;
    const k = isScalar(item.key) ? String(item.key.value) : undefined;
    if (k === key) return item;
    if (k === '<<' && depth < 8 && merged === undefined) {
      const v = resolve(item.value, doc);
      const sources = isSeq(v) ? v.items.map((x) => resolve(x, doc)) : [v];
      for (const s of sources) {
        if (isMap(s)) {
          merged = findPair(s, key, doc, depth + 1);
          if (merged) break;
        }
      }
    }
  }
  return merged;
}

function pathKey(path: readonly Segment[]): string {
  return JSON.stringify(path.map(String));
}

/**
 * Maps every `key = value` line and `[table]` header of a TOML file to offsets. Tables of arrays
 * (`[[x]]`) count their elements. Values spanning lines (arrays, multi-line strings) are pointed at
 * by their key line.
 */
function indexToml(text: string): Map<string, { key: number; value: number }> {
  const out = new Map<string, { key: number; value: number }>();
  const arrayCounts = new Map<string, number>();
  let table: string[] = [];
  let offset = 0;
  let inMultiline: string | undefined;
  for (const rawLine of text.split('\n')) {
    const lineStart = offset;
    offset += rawLine.length + 1;
    const line = rawLine.replace(/\r$/, '');
    if (inMultiline) {
      if (line.includes(inMultiline)) inMultiline = undefined;
      continue;
    }
    const indent = line.length - line.trimStart().length;
    const t = line.trim();
    if (t === '' || t.startsWith('#')) continue;
    const header = /^\[(\[)?\s*(.+?)\s*\]\]?\s*(#.*)?$/.exec(t);
    if (header && !t.includes('=')) {
      const keys = splitKey(header[2]!);
      if (header[1]) {
        const k = pathKey(keys);
        const n = arrayCounts.get(k) ?? 0;
        arrayCounts.set(k, n + 1);
        table = [...keys, String(n)];
      } else table = keys;
      const pos = { key: lineStart + indent, value: lineStart + indent };
      for (let n = 1; n <= table.length; n++) if (!out.has(pathKey(table.slice(0, n)))) out.set(pathKey(table.slice(0, n)), pos);
      continue;
    }
    const eq = findEquals(t);
    if (eq < 0) continue;
    const keys = splitKey(t.slice(0, eq).trim());
    const valueText = t.slice(eq + 1);
    const valueOffset = lineStart + indent + eq + 1 + (valueText.length - valueText.trimStart().length);
    const full = [...table, ...keys];
    out.set(pathKey(full), { key: lineStart + indent, value: valueOffset });
    const v = valueText.trim();
    if (v.startsWith('"""') && !v.slice(3).includes('"""')) inMultiline = '"""';
    else if (v.startsWith("'''") && !v.slice(3).includes("'''")) inMultiline = "'''";
  }
  return out;
}

function findEquals(line: string): number {
  let quote: string | undefined;
  for (let i = 0; i < line.length; i++) {
    const c = line[i]!;
    if (quote) {
      if (c === quote) quote = undefined;
    } else if (c === '"' || c === "'") quote = c;
    else if (c === '=') return i;
  }
  return -1;
}

function splitKey(key: string): string[] {
  const out: string[] = [];
  const re = /\s*(?:"((?:[^"\\]|\\.)*)"|'([^']*)'|([A-Za-z0-9_-]+))\s*(?:\.|$)/gy;
  let m: RegExpExecArray | null;
  while ((m = re.exec(key)) !== null && m[0] !== '') out.push(m[1] ?? m[2] ?? m[3]!);
  return out;
}
