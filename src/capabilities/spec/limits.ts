/**
 * The size guard every parsed document passes before validation: nesting depth and the number of
 * nodes *after alias expansion*. js-yaml shares an aliased node instead of copying it, so a
 * "billion laughs" document parses in microseconds into a small graph that is astronomically large
 * as a tree. Each object's expanded size is computed once and memoised, so the guard runs in time
 * linear in the graph, not in the tree, and stops as soon as the budget is gone.
 */
export type Segment = string | number;

export interface LimitProblem {
  rule: 'limit.depth' | 'limit.aliases' | 'limit.nodes';
  /** Index of the document (multi-document YAML). */
  doc: number;
  path: Segment[];
  message: string;
}

export function checkLimits(docs: readonly unknown[], maxDepth: number, maxNodes: number): LimitProblem | undefined {
  const sizes = new Map<object, number>();
  const path: Segment[] = [];
  let total = 0;
  let shared = false;
  let problem: LimitProblem | undefined;

  // Returns the expanded size of `value`, or -1 once a limit is hit (then `problem` is set).
  function size(value: unknown, depth: number): number {
    if (value === null || typeof value !== 'object') return 1;
    const known = sizes.get(value);
    if (known !== undefined) {
      if (known < 0) {
        problem = { rule: 'limit.aliases', doc: 0, path: path.slice(), message: 'an alias refers to a node that contains it' };
        return -1;
      }
      shared = true;
      return known;
    }
    if (depth > maxDepth) {
      problem = { rule: 'limit.depth', doc: 0, path: path.slice(), message: `nesting deeper than ${maxDepth} levels` };
      return -1;
    }
    sizes.set(value, -1);
    let n = 1;
    if (Array.isArray(value)) {
      for (let i = 0; i < value.length; i++) {
        path.push(i);
        const s = size(value[i], depth + 1);
        path.pop();
        if (s < 0) return -1;
        n += s;
        if (n + total > maxNodes) return overflow();
      }
    } else if (!(value instanceof Date)) {
      for (const key in value) {
        if (!Object.prototype.hasOwnProperty.call(value, key)) continue;
        path.push(key);
        const s = size((value as Record<string, unknown>)[key], depth + 1);
        path.pop();
        if (s < 0) return -1;
        n += s + 1;
        if (n + total > maxNodes) return overflow();
      }
    }
    sizes.set(value, n);
    return n;
  }

  function overflow(): number {
    problem = shared
      ? { rule: 'limit.aliases', doc: 0, path: path.slice(), message: `alias expansion makes the document larger than ${maxNodes} nodes` }
      : { rule: 'limit.nodes', doc: 0, path: path.slice(), message: `the document has more than ${maxNodes} nodes` };
    return -1;
  }

  for (let d = 0; d < docs.length; d++) {
    path.length = 0;
    const s = size(docs[d], 1);
    if (s < 0) return problem ? { ...problem, doc: d } : undefined;
    total += s;
  }
  return undefined;
}
