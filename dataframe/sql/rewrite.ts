// A parsed statement with some of its nodes replaced. Parsed statements are shared and frozen (the
// parse cache in run.ts hands the same tree to every run of a text), so the tree is never changed in
// place: the nodes on the way to a replaced one are copied, every other node is kept.

import { isQueryStatement } from './parse.js';

type Node = Record<string, unknown>;

/**
 * `tree` with each node `replace` gives a value for replaced by it (its children not visited);
 * `skip(node, key)` leaves a child as it is.
 */
export function rewrite<T>(
  tree: T,
  replace: (n: Node) => unknown,
  skip: (n: Node, key: string) => boolean = () => false,
): T {
  const walk = (x: unknown): unknown => {
    if (Array.isArray(x)) {
      let out: unknown[] | undefined;
      x.forEach((v, i) => {
        const b = walk(v);
        if (b !== v) (out ??= [...x])[i] = b;
      });
      return out ?? x;
    }
    if (x === null || typeof x !== 'object') return x;
    const n = x as Node;
    const r = replace(n);
    if (r !== undefined) return r;
    let out: Node | undefined;
    for (const key of Object.keys(n)) {
      if (skip(n, key)) continue;
      const v = n[key];
      const b = walk(v);
      if (b !== v) (out ??= { ...n })[key] = b;
    }
    return out ?? n;
  };
  return walk(tree) as T;
}

/** Whether `pred` holds for a node of `tree`; a subquery is tested but not searched. */
export function someNode(tree: unknown, pred: (n: Node) => boolean): boolean {
  if (Array.isArray(tree)) return tree.some((v) => someNode(v, pred));
  if (tree === null || typeof tree !== 'object') return false;
  const n = tree as Node;
  if (pred(n)) return true;
  if (isQueryStatement(n)) return false;
  return Object.values(n).some((v) => someNode(v, pred));
}
