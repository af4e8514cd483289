// Redis's glob-style patterns (stringmatchlen in util.c), for SCAN MATCH and KEYS: `*` any run of
// bytes, `?` one byte, `[abc]` / `[^abc]` / `[a-z]` a byte in (or not in) a set, `\x` the byte x.
// Matched over bytes, as Redis does; iterative with backtracking to the last `*`, so a pattern costs
// O(pattern x key) at worst, never exponential time.

export function globMatch(pattern: Uint8Array, s: Uint8Array): boolean {
  let p = 0;
  let i = 0;
  let starP = -1;
  let starI = 0;
  while (i < s.length) {
    if (p < pattern.length) {
      const c = pattern[p]!;
      if (c === 0x2a /* * */) {
        while (p < pattern.length && pattern[p] === 0x2a) p++;
        if (p === pattern.length) return true;
        starP = p;
        starI = i;
        continue;
      }
      const m = matchOne(pattern, p, s[i]!);
      if (m > 0) {
        p = m;
        i++;
        continue;
      }
    }
    if (starP < 0) return false;
    p = starP;
    i = ++starI;
  }
  while (p < pattern.length && pattern[p] === 0x2a) p++;
  return p === pattern.length;
}

/** If the pattern element at `p` matches byte `b`, the index after it; else 0. */
function matchOne(pattern: Uint8Array, p: number, b: number): number {
  const c = pattern[p]!;
  if (c === 0x3f /* ? */) return p + 1;
  if (c === 0x5c /* \ */ && p + 1 < pattern.length) return pattern[p + 1] === b ? p + 2 : 0;
  if (c !== 0x5b /* [ */) return c === b ? p + 1 : 0;
  let q = p + 1;
  const not = pattern[q] === 0x5e; /* ^ */
  if (not) q++;
  let match = false;
  for (;;) {
    if (q >= pattern.length) {
      q--; // an unclosed class ends at the pattern's end, as in Redis
      break;
    }
    const x = pattern[q]!;
    if (x === 0x5d /* ] */) break;
    if (x === 0x5c && q + 1 < pattern.length) {
      q++;
      if (pattern[q] === b) match = true;
    } else if (q + 2 < pattern.length && pattern[q + 1] === 0x2d /* - */ && pattern[q + 2] !== 0x5d) {
      let lo = x;
      let hi = pattern[q + 2]!;
      if (lo > hi) [lo, hi] = [hi, lo];
      if (b >= lo && b <= hi) match = true;
      q += 2;
    } else if (x === b) match = true;
    q++;
  }
  if (not) match = !match;
  return match ? q + 1 : 0;
}

/** The bytes every match must start with (up to the first special character). */
export function literalPrefix(pattern: Uint8Array): Uint8Array {
  const out: number[] = [];
  for (let p = 0; p < pattern.length; p++) {
    const c = pattern[p]!;
    if (c === 0x2a || c === 0x3f || c === 0x5b) break;
    if (c === 0x5c) {
      if (p + 1 >= pattern.length) break;
      out.push(pattern[++p]!);
    } else out.push(c);
  }
  return Uint8Array.from(out);
}
