// Dates (days since 1970-01-01) and timestamps (microseconds since 1970-01-01T00:00:00Z, int64) as
// text and back, without JavaScript's Date: a Date covers ±8.64e15 ms, fewer years than an int64 of
// microseconds (±292,277 years), and parsing through it would round away microseconds. The calendar
// is the proleptic Gregorian one (ISO 8601, as Arrow, Parquet and DuckDB use), converted with Howard
// Hinnant's days_from_civil / civil_from_days algorithms.

const MICROS_PER_DAY = 86_400_000_000n;
const INT64_MIN = -(2n ** 63n);
const INT64_MAX = 2n ** 63n - 1n;

/** Days since 1970-01-01 of a proleptic Gregorian date (month 1-12, day 1-31; not checked here). */
function daysFromCivil(y: number, m: number, d: number): number {
  const yy = m <= 2 ? y - 1 : y;
  const era = Math.floor(yy / 400);
  const yoe = yy - era * 400;
  const doy = Math.floor((153 * (m + (m > 2 ? -3 : 9)) + 2) / 5) + d - 1;
  const doe = yoe * 365 + Math.floor(yoe / 4) - Math.floor(yoe / 100) + doy;
  return era * 146097 + doe - 719468;
}

/** [year, month, day] of a day number. */
function civilFromDays(z: number): [number, number, number] {
  const zz = z + 719468;
  const era = Math.floor(zz / 146097);
  const doe = zz - era * 146097;
  const yoe = Math.floor((doe - Math.floor(doe / 1460) + Math.floor(doe / 36524) - Math.floor(doe / 146096)) / 365);
  const doy = doe - (365 * yoe + Math.floor(yoe / 4) - Math.floor(yoe / 100));
  const mp = Math.floor((5 * doy + 2) / 153);
  const d = doy - Math.floor((153 * mp + 2) / 5) + 1;
  const m = mp < 10 ? mp + 3 : mp - 9;
  return [era * 400 + yoe + (m <= 2 ? 1 : 0), m, d];
}

function daysInMonth(y: number, m: number): number {
  if (m === 2) return (y % 4 === 0 && y % 100 !== 0) || y % 400 === 0 ? 29 : 28;
  return m === 4 || m === 6 || m === 9 || m === 11 ? 30 : 31;
}

const pad = (n: number, w: number): string => String(n).padStart(w, '0');

/** ISO 8601 year: four digits for 0000-9999, else a sign and at least six (expanded representation). */
function yearText(y: number): string {
  if (y >= 0 && y <= 9999) return pad(y, 4);
  return (y < 0 ? '-' : '+') + pad(Math.abs(y), 6);
}

/** "2024-02-29" */
export function formatDate(days: number): string {
  const [y, m, d] = civilFromDays(days);
  return `${yearText(y)}-${pad(m, 2)}-${pad(d, 2)}`;
}

/** "2024-02-29T13:45:00Z", with ".ffffff" when the microseconds are not zero. Always UTC. */
export function formatTimestamp(us: bigint): string {
  let days = us / MICROS_PER_DAY;
  let rest = us % MICROS_PER_DAY;
  if (rest < 0n) {
    rest += MICROS_PER_DAY;
    days -= 1n;
  }
  const r = Number(rest);
  const frac = r % 1_000_000;
  const secs = (r - frac) / 1_000_000;
  const hh = Math.floor(secs / 3600);
  const mm = Math.floor((secs % 3600) / 60);
  const ss = secs % 60;
  return `${formatDate(Number(days))}T${pad(hh, 2)}:${pad(mm, 2)}:${pad(ss, 2)}${frac ? `.${pad(frac, 6)}` : ''}Z`;
}

const DATE_RE = /^([+-]\d{4,6}|\d{4})-(\d{2})-(\d{2})$/;
const TS_RE =
  /^([+-]\d{4,6}|\d{4})-(\d{2})-(\d{2})[T ](\d{2}):(\d{2})(?::(\d{2})(?:[.,](\d{1,9}))?)?(?:(Z|z)|([+-])(\d{2})(?::?(\d{2}))?)?$/;

function checkedDays(ys: string, ms: string, ds: string): number | undefined {
  const y = Number(ys);
  const m = Number(ms);
  const d = Number(ds);
  if (m < 1 || m > 12 || d < 1 || d > daysInMonth(y, m)) return undefined;
  return daysFromCivil(y, m, d);
}

/** The value of the two digits at s[i], s[i+1], or -1 if either is not a digit. */
function two(s: string, i: number): number {
  const a = s.charCodeAt(i) - 48;
  const b = s.charCodeAt(i + 1) - 48;
  return a >= 0 && a <= 9 && b >= 0 && b <= 9 ? a * 10 + b : -1;
}

/**
 * Days of "YYYY-MM-DD" at the start of s (a four-digit year), read without a regex or any
 * allocation; NaN if s does not start that way, Infinity if it does but names no real day. The regexes
 * below stay the definition: this only reads the commonest form faster, and a test compares both.
 */
function fastDays(s: string): number {
  if (s.length < 10 || s.charCodeAt(4) !== 45 || s.charCodeAt(7) !== 45) return Number.NaN;
  const hi = two(s, 0);
  const lo = two(s, 2);
  const m = two(s, 5);
  const d = two(s, 8);
  if (hi < 0 || lo < 0 || m < 0 || d < 0) return Number.NaN;
  const y = hi * 100 + lo;
  if (m < 1 || m > 12 || d < 1 || d > daysInMonth(y, m)) return Number.POSITIVE_INFINITY;
  return daysFromCivil(y, m, d);
}

/** Days of an ISO 8601 date "YYYY-MM-DD" (a real calendar day), or undefined. */
export function parseDate(s: string): number | undefined {
  if (s.length === 10) {
    const f = fastDays(s);
    if (f === Number.POSITIVE_INFINITY) return undefined;
    if (!Number.isNaN(f)) return f;
  }
  const m = DATE_RE.exec(s);
  if (!m) return undefined;
  const days = checkedDays(m[1]!, m[2]!, m[3]!);
  return days !== undefined && days >= -2147483648 && days <= 2147483647 ? days : undefined;
}

/**
 * Microseconds of an ISO 8601 timestamp: "YYYY-MM-DD[T ]HH:MM[:SS[.f]]" with an optional zone ("Z",
 * "+05:30", "-0800"; none means UTC), or undefined if it is not one, names no real time, or has
 * digits below the microsecond that are not zero (they would be lost). With `dateOk`, a bare date is
 * its midnight.
 */
export function parseTimestamp(s: string, dateOk = false): bigint | undefined {
  const v = parseTimestampMicros(s, dateOk);
  return typeof v === 'number' ? BigInt(v) : v;
}

/** Days whose midnight, plus a day, is a safe integer of microseconds (2^53 / 86,400,000,000). */
const SAFE_DAYS = 104_000;

/**
 * parseTimestamp's value, as a number when it is a safe integer (years 1685 to 2254): the CSV
 * importer stores it without allocating a bigint. The commonest form, "YYYY-MM-DD[T ]HH:MM[:SS[.f]]"
 * with "Z" or no zone, is read by hand; anything else goes through the regex.
 */
export function parseTimestampMicros(s: string, dateOk = false): number | bigint | undefined {
  const n = s.length;
  if (n >= 16) {
    const days = fastDays(s);
    if (days === Number.POSITIVE_INFINITY) return undefined;
    const sep = s.charCodeAt(10);
    if (days >= -SAFE_DAYS && days <= SAFE_DAYS && (sep === 84 || sep === 32) && s.charCodeAt(13) === 58) {
      const hh = two(s, 11);
      const mi = two(s, 14);
      let ss = 0;
      let micros = 0;
      let i = 16;
      let ok = hh >= 0 && mi >= 0;
      if (ok && i < n && s.charCodeAt(i) === 58) {
        ss = two(s, i + 1);
        ok = ss >= 0;
        i += 3;
        const c = s.charCodeAt(i);
        if (ok && i < n && (c === 46 || c === 44)) {
          // Up to six digits are microseconds; more are allowed only as zeros (checked below).
          let k = 0;
          i++;
          for (; i < n; i++, k++) {
            const dgt = s.charCodeAt(i) - 48;
            if (dgt < 0 || dgt > 9) break;
            if (k < 6) micros = micros * 10 + dgt;
            else if (dgt !== 0) return undefined;
          }
          if (k === 0 || k > 9) ok = false;
          for (; k < 6; k++) micros *= 10;
        }
      }
      if (ok && i < n && (s.charCodeAt(i) === 90 || s.charCodeAt(i) === 122)) i++;
      if (ok && i === n) {
        if (hh > 23 || mi > 59 || ss > 59) return undefined;
        return days * 86_400_000_000 + ((hh * 60 + mi) * 60 + ss) * 1_000_000 + micros;
      }
    }
  }
  if (dateOk) {
    const d = parseDate(s);
    if (d !== undefined) {
      // A date is any int32 of days; its midnight in microseconds is an int64 only within ~292,000
      // years of 1970.
      const us = BigInt(d) * MICROS_PER_DAY;
      return us >= INT64_MIN && us <= INT64_MAX ? us : undefined;
    }
  }
  const m = TS_RE.exec(s);
  if (!m) return undefined;
  const days = checkedDays(m[1]!, m[2]!, m[3]!);
  if (days === undefined) return undefined;
  const hh = Number(m[4]);
  const mi = Number(m[5]);
  const ss = m[6] === undefined ? 0 : Number(m[6]);
  if (hh > 23 || mi > 59 || ss > 59) return undefined;
  const f = m[7] ?? '';
  if (f.length > 6 && /[1-9]/.test(f.slice(6))) return undefined;
  const micros = f === '' ? 0 : Number(f.slice(0, 6).padEnd(6, '0'));
  let offsetMin = 0;
  if (m[9] !== undefined) {
    const oh = Number(m[10]);
    const om = m[11] === undefined ? 0 : Number(m[11]);
    if (oh > 23 || om > 59) return undefined;
    offsetMin = (m[9] === '-' ? -1 : 1) * (oh * 60 + om);
  }
  const us =
    BigInt(days) * MICROS_PER_DAY + BigInt(((hh * 60 + mi - offsetMin) * 60 + ss) * 1_000_000) + BigInt(micros);
  return us >= INT64_MIN && us <= INT64_MAX ? us : undefined;
}
