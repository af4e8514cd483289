// Deep freezing, for values handed to many callers at once (a client's topology, a parsed SQL
// statement kept in a cache): a caller that tried to change one would change it for all the others.

/** `v` and everything reachable from it frozen; returns `v`. */
export function deepFreeze<T>(v: T): T {
  if (v !== null && typeof v === 'object' && !Object.isFrozen(v)) {
    Object.freeze(v);
    for (const x of Object.values(v)) deepFreeze(x);
  }
  return v;
}
