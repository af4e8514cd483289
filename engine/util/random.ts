// mulberry32: a small, fast, well-distributed seeded generator returning floats in [0, 1). Used
// where the engine needs reproducible randomness (MemVfs's torn writes) and by tests and benchmarks,
// which must replay a failure from its printed seed. Not for anything that needs unpredictability.

export function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
