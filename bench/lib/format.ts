// Number formatting shared by the benchmark tables, charts and README: short, fixed significance,
// so columns of very different magnitudes stay readable ("1.23M", "45.6k", "980").

/** 1234567 -> "1.23M", 45600 -> "45.6k", 980 -> "980", 0.5 -> "0.50". */
export function formatCount(n: number | null | undefined): string {
  if (n === null || n === undefined || !Number.isFinite(n)) return '-';
  const abs = Math.abs(n);
  if (abs >= 1e9) return `${sig(n / 1e9)}G`;
  if (abs >= 1e6) return `${sig(n / 1e6)}M`;
  if (abs >= 1e3) return `${sig(n / 1e3)}k`;
  if (abs >= 100 || n === 0) return n.toFixed(0);
  return sig(n);
}

/** Bytes with binary units: 1536 -> "1.50 KiB". */
export function formatBytes(n: number | null | undefined): string {
  if (n === null || n === undefined || !Number.isFinite(n)) return '-';
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let v = n;
  let u = 0;
  while (Math.abs(v) >= 1024 && u < units.length - 1) {
    v /= 1024;
    u++;
  }
  return u === 0 ? `${v.toFixed(0)} B` : `${sig(v)} ${units[u]}`;
}

/** Milliseconds, switching to µs below 1 ms and s above 10 s. */
export function formatMs(ms: number | null | undefined): string {
  if (ms === null || ms === undefined || !Number.isFinite(ms)) return '-';
  if (ms < 1) return `${sig(ms * 1000)}µs`;
  if (ms < 10_000) return `${sig(ms)}ms`;
  return `${sig(ms / 1000)}s`;
}

/** A ratio such as "3.21x"; "-" when either side is missing or zero. */
export function formatRatio(r: number | null | undefined): string {
  if (r === null || r === undefined || !Number.isFinite(r) || r === 0) return '-';
  return `${r >= 100 ? r.toFixed(0) : r >= 10 ? r.toFixed(1) : r.toFixed(2)}x`;
}

/** Three significant digits without exponent notation. */
function sig(v: number): string {
  const abs = Math.abs(v);
  if (abs >= 100) return v.toFixed(0);
  if (abs >= 10) return v.toFixed(1);
  return v.toFixed(2);
}
