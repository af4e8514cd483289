// Named windows: `SELECT sum(x) OVER w, rank() OVER (w ORDER BY y) FROM t WINDOW w AS (PARTITION
// BY g)`. pgsql-ast-parser reads neither the WINDOW clause nor a window name after OVER, and a
// window's text inlined where it is named would move every offset after it (error carets and result
// names are taken from the statement's text). So, before parsing, at the text's own length:
// - the WINDOW clause is blanked out and each definition's body, `(PARTITION BY ... ORDER BY ...
//   [frame])`, recorded by offset;
// - `OVER w` is written `OVER()` (padded), and the name in `OVER (w ...)` blanked out, each recorded
//   with the OVER's offset.
// After parsing, each body is parsed alone, in a text of the statement's length that holds it at its
// own offsets (so its nodes' locations point into the WINDOW clause), and its PARTITION BY, ORDER BY
// and frame are set on each OVER that names it, as SQL merges them: `OVER (w ORDER BY y)` copies w's
// PARTITION BY and adds an ORDER BY only if w has none, and copies no window with a frame; a
// definition may name another (`w2 AS (w1 ORDER BY y)`). A name is looked up in the SELECT that
// holds the OVER: its subquery's parentheses, and its branch of a UNION, INTERSECT or EXCEPT.

import type { SelectStatement } from 'pgsql-ast-parser';
import { sqlError } from './errors.js';
import { scanWords } from './pre-parse.js';

/** A window name as written, where, and the SELECT it is looked up in. */
interface NameAt {
  name: string;
  start: number;
  end: number;
  scope: string;
}

/** `WINDOW name AS (body)`: the offsets of its parentheses; `base`, a window the body names first. */
export interface WindowDef extends NameAt {
  open: number;
  close: number;
  base?: NameAt;
}

/** A window named after OVER (`bare`: `OVER w`, else `OVER (w ...)`); `over`, the OVER's offset. */
export interface WindowRef extends NameAt {
  over: number;
  bare: boolean;
}

interface Token {
  at: number;
  /** A word lower-cased, or one of `(`, `)`, `,`. */
  t: string;
}

const WORD = /[A-Za-z0-9_$]+/y;
/** What opens the body of an OVER or a definition when it names no window first. */
const SPEC_WORDS = new Set(['partition', 'order', 'rows', 'range', 'groups']);
const SET_WORDS = new Set(['union', 'intersect', 'except']);

/** The words, parentheses and commas of `text` outside literals, quoted names and comments. */
function tokens(text: string): Token[] {
  const out: Token[] = [];
  scanWords(
    text,
    (i) => {
      WORD.lastIndex = i;
      const w = WORD.exec(text)![0];
      out.push({ at: i, t: w.toLowerCase() });
      return i + w.length;
    },
    (i) => {
      const c = text[i]!;
      if (c === '(' || c === ')' || c === ',') out.push({ at: i, t: c });
    },
  );
  return out;
}

const isName = (t: Token | undefined): t is Token => t !== undefined && /^[a-z_][a-z0-9_$]*$/.test(t.t);

/**
 * `text` with its WINDOW clauses blanked out and the window names after OVER taken out, at its own
 * length, and what was there; `text` itself when it names no window.
 */
export function namedWindows(text: string): NamedWindows {
  const defs: WindowDef[] = [];
  const refs: WindowRef[] = [];
  if (!/\bwindow\b|\bover\s+[A-Za-z_]|\bover\s*\(\s*(?!(?:partition|order|rows|range|groups)\b)[A-Za-z_]/i.test(text))
    return { text, bodies: text, defs, refs };
  const toks = tokens(text);
  // Each token's SELECT: the innermost parentheses opened before SELECT or WITH, and its branch of
  // a set operation there.
  const scopes: string[] = [];
  const stack: { open: number; query: boolean; branch: number }[] = [{ open: -1, query: true, branch: 0 }];
  const match = new Map<number, number>(); // token index of a '(' -> of its ')'
  toks.forEach((tok, k) => {
    if (tok.t === ')' && stack.length > 1) match.set(stack.pop()!.open, k);
    let q = stack.length - 1;
    while (!stack[q]!.query) q--;
    const query = stack[q]!;
    scopes.push(`${query.open}:${query.branch}`);
    if (tok.t === '(') stack.push({ open: k, query: ['select', 'with'].includes(toks[k + 1]?.t ?? ''), branch: 0 });
    else if (SET_WORDS.has(tok.t)) query.branch++;
  });

  const blank: [number, number, string][] = []; // [start, end, replacement]
  const clauses: [number, number][] = [];
  const nameAt = (k: number): NameAt => ({
    name: toks[k]!.t,
    start: toks[k]!.at,
    end: toks[k]!.at + toks[k]!.t.length,
    scope: scopes[k]!,
  });
  /** The body at '(' token `k`: a window it names first (blanked), and its ')' token. */
  const body = (k: number): { base?: NameAt; close: number } | undefined => {
    const close = match.get(k);
    if (close === undefined) return undefined;
    const first = toks[k + 1];
    if (k + 1 < close && isName(first) && !SPEC_WORDS.has(first.t)) {
      blank.push([first.at, first.at + first.t.length, '']);
      return { base: nameAt(k + 1), close };
    }
    return { close };
  };
  for (let k = 0; k < toks.length; k++) {
    const tok = toks[k]!;
    if (tok.t === 'over') {
      const next = toks[k + 1];
      if (isName(next) && !SPEC_WORDS.has(next.t)) {
        // `OVER w`: `OVER()` over the OVER, the space and the name (at least 6 characters).
        const end = next.at + next.t.length;
        blank.push([tok.at, end, 'OVER()']);
        refs.push({ ...nameAt(k + 1), over: tok.at, bare: true });
        k++;
      } else if (next?.t === '(') {
        const b = body(k + 1);
        if (b?.base) refs.push({ ...b.base, over: tok.at, bare: false });
      }
    } else if (tok.t === 'window' && isName(toks[k + 1]) && toks[k + 2]?.t === 'as' && toks[k + 3]?.t === '(') {
      let j = k;
      let end = tok.at;
      for (;;) {
        const b = body(j + 3);
        if (!b) break;
        defs.push({
          ...nameAt(j + 1),
          scope: scopes[k]!,
          open: toks[j + 3]!.at,
          close: toks[b.close]!.at,
          base: b.base,
        });
        end = toks[b.close]!.at + 1;
        j = b.close + 1;
        if (!(toks[j]?.t === ',' && isName(toks[j + 1]) && toks[j + 2]?.t === 'as' && toks[j + 3]?.t === '(')) break;
      }
      if (end > tok.at) {
        clauses.push([tok.at, end]);
        k = j - 1;
      }
    }
  }
  if (blank.length + clauses.length === 0) return { text, bodies: text, defs, refs };
  const bodies = blanked(text, blank);
  return {
    text: blanked(
      bodies,
      clauses.map(([s, e]) => [s, e, '']),
    ),
    bodies,
    defs,
    refs,
  };
}

/** What namedWindows gives: the text to parse, and the text the definitions' bodies are read from. */
export interface NamedWindows {
  text: string;
  /** The text with the window names taken out of OVER and of the bodies, WINDOW clauses kept. */
  bodies: string;
  defs: WindowDef[];
  refs: WindowRef[];
}

/** `text` with each [start, end) replaced by its replacement padded to that length. */
function blanked(text: string, spans: [number, number, string][]): string {
  let out = '';
  let from = 0;
  for (const [s, e, r] of [...spans].sort((a, b) => a[0] - b[0])) {
    out += text.slice(from, s) + r.padEnd(e - s, ' ');
    from = e;
  }
  return out + text.slice(from);
}

type Over = {
  partitionBy?: unknown[];
  orderBy?: unknown[];
  eau2Frame?: unknown;
  _location?: { start: number; end: number };
};

/**
 * Sets on each OVER of `stmts` that names a window that window's PARTITION BY, ORDER BY and frame,
 * as SQL merges them. `parseBody(open, close)` parses a definition's body (the statement's text
 * between those offsets) into its OVER node. Errors point at the name: a window no WINDOW clause of
 * its SELECT defines, one defined twice, and what SQL refuses to merge.
 */
export function resolveWindows(
  text: string,
  stmts: unknown,
  named: { defs: readonly WindowDef[]; refs: readonly WindowRef[] },
  parseBody: (open: number, close: number) => Over,
): void {
  const byName = new Map<string, WindowDef>();
  for (const d of named.defs) {
    const key = `${d.scope}/${d.name}`;
    if (byName.has(key)) throw sqlError(text, d, `window ${d.name} is defined twice`);
    byName.set(key, d);
  }
  const find = (r: NameAt): WindowDef => {
    const d = byName.get(`${r.scope}/${r.name}`);
    if (d) return d;
    const here = named.defs.filter((x) => x.scope === r.scope).map((x) => x.name);
    throw sqlError(
      text,
      r,
      `no window named ${r.name}${here.length ? ` (the WINDOW clause defines ${here.join(', ')})` : ': define it in a WINDOW clause of its SELECT'}`,
    );
  };
  const resolved = new Map<WindowDef, Over>();
  const resolve = (d: WindowDef): Over => {
    const done = resolved.get(d);
    if (done) return done;
    const own = parseBody(d.open, d.close);
    const w = d.base ? merge(d.base, own, d) : own;
    resolved.set(d, w);
    return w;
  };
  /**
   * `(base ...)`: base's PARTITION BY, and ORDER BY and frame from whichever gives them; `def`, the
   * definition whose body this is.
   */
  const merge = (base: NameAt, own: Over, def?: WindowDef): Over => {
    const found = find(base);
    // As in PostgreSQL, a definition names only those before it.
    if (def && named.defs.indexOf(found) >= named.defs.indexOf(def))
      throw sqlError(
        text,
        base,
        `window ${base.name} is defined after ${def.name}: a window definition names only those before it`,
      );
    const b = resolve(found);
    if (own.partitionBy?.length)
      throw sqlError(
        text,
        base,
        `cannot override the PARTITION BY of window ${base.name}: partition in its WINDOW definition`,
      );
    if (own.orderBy?.length && b.orderBy?.length)
      throw sqlError(text, base, `cannot override the ORDER BY of window ${base.name}: it has one already`);
    if (b.eau2Frame)
      throw sqlError(
        text,
        base,
        `cannot copy window ${base.name}, which has a frame clause: write OVER ${base.name} without parentheses`,
      );
    return {
      ...(b.partitionBy ? { partitionBy: b.partitionBy } : {}),
      ...(own.orderBy?.length ? { orderBy: own.orderBy } : b.orderBy ? { orderBy: b.orderBy } : {}),
      ...(own.eau2Frame ? { eau2Frame: own.eau2Frame } : {}),
    };
  };
  // Every definition is checked, as DuckDB and PostgreSQL do, whether or not an OVER names it.
  for (const d of named.defs) resolve(d);
  const overAt = new Map<number, { o: Over; call: { _location?: { start: number; end: number } } }>();
  eachOver(stmts, (o, call) => {
    if (o._location) overAt.set(o._location.start, { o, call });
  });
  for (const r of named.refs) {
    const hit = overAt.get(r.over);
    if (!hit) throw sqlError(text, r, `window ${r.name} is named where no window function is`);
    const o = hit.o;
    if (r.bare && o._location) {
      // `OVER()` is shorter than `OVER name`: the call's text, its result name, ends after the name.
      if (hit.call._location?.end === o._location.end) hit.call._location = { ...hit.call._location, end: r.end };
      o._location = { ...o._location, end: r.end };
    }
    const w = r.bare ? resolve(find(r)) : merge(r, o);
    o.partitionBy = w.partitionBy;
    o.orderBy = w.orderBy;
    o.eau2Frame = w.eau2Frame;
    if (!o.partitionBy) delete o.partitionBy;
    if (!o.orderBy) delete o.orderBy;
    if (!o.eau2Frame) delete o.eau2Frame;
  }
}

/** Calls `visit` on each OVER node of a parsed tree. */
function eachOver(node: unknown, visit: (o: Over, call: { _location?: { start: number; end: number } }) => void): void {
  if (Array.isArray(node)) {
    for (const x of node) eachOver(x, visit);
    return;
  }
  if (node === null || typeof node !== 'object') return;
  const over = (node as { over?: Over }).over;
  if (over && typeof over === 'object') visit(over, node as { _location?: { start: number; end: number } });
  for (const v of Object.values(node)) eachOver(v, visit);
}

/** The OVER node of a definition's body parsed alone: `SELECT f() OVER` then the body where it was. */
export function bodyText(pre: string, open: number, close: number): string {
  const head = 'SELECT f() OVER';
  // A statement that parsed holds a SELECT before its WINDOW clause: the body is past `head`.
  return `${head}${' '.repeat(Math.max(0, open - head.length))}${pre.slice(open, close + 1)}`;
}

/** The OVER node of a parsed `bodyText`. */
export function overOf(st: SelectStatement): Over {
  return (st as { columns?: { expr: { over?: Over } }[] }).columns![0]!.expr.over!;
}
