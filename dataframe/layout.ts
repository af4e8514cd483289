// Where a frame's pieces live in the key space (docs/format.md section 7.4).
//
//   \0df/m/<name>                                   metadata record: the published version
//   \0df/c/{<name>/<version>/<slot:8 hex>}/<col:4 hex>    one column of one row-chunk
//   \0df/t/<join id>/...                            a shuffle join's temporary pieces (query/shuffle-tasks.ts)
//
// Every key starts with the byte 0x00: eau2's reserved namespace (kv/reserved.ts), which the HTTP API
// refuses to write, so no user key (`eau2 put df/m/x ...`) can land among a frame's records. Keys
// of layout version 1 had no such byte (layout-migration.ts moves them).
//
// The text inside {...} is the cluster's hash tag (DESIGN.md): every column of row-chunk i shares it,
// so a row-chunk sits on one partition and a query reads it without crossing nodes, while the slot
// inside the tag sends row-chunks to different partitions. The slot is the row-chunk number, or the
// one the metadata records for it when the writer balanced row-chunks over leaders (placement.ts,
// meta.ts slotOf); the functions below take slots. Fixed-width hex keeps the
// keys of one version in chunk order, and the version (a zero-padded counter, then a random suffix)
// keeps versions in publish order, so old versions can be found with bounded scans.

import { randomBytes } from 'node:crypto';

/** The dataframe layer's part of eau2's reserved namespace (kv/reserved.ts: keys starting 0x00). */
export const LAYOUT_PREFIX = '\u0000df/';
export const META_PREFIX = `${LAYOUT_PREFIX}m/`;
const CHUNK_PREFIX = `${LAYOUT_PREFIX}c/{`;
/** Upper bound for scans of all metadata records: '/' + 1 = '0'. */
export const META_END = `${LAYOUT_PREFIX}m0`;

const NAME_RE = /^[^/{}\u0000-\u001f\u007f]{1,200}$/u;

/** Frame names are part of keys and URLs: no '/', '{', '}' or control characters; 1-200 chars. */
export function checkName(name: unknown): string {
  if (typeof name !== 'string' || !NAME_RE.test(name)) {
    throw new TypeError(
      `invalid frame name ${JSON.stringify(name)}: use 1-200 characters, none of them '/', '{', '}' or control characters`,
    );
  }
  return name;
}

export function metaKey(name: string): string {
  return META_PREFIX + name;
}

/** Prefix of every chunk key of every version of `name`. */
export function frameChunkPrefix(name: string): string {
  return `${CHUNK_PREFIX}${name}/`;
}

/** Exclusive upper bound of frameChunkPrefix(name). */
export function frameChunkEnd(name: string): string {
  return `${CHUNK_PREFIX}${name}0`;
}

export function versionChunkPrefix(name: string, version: string): string {
  return `${CHUNK_PREFIX}${name}/${version}/`;
}

export function versionChunkEnd(name: string, version: string): string {
  return `${CHUNK_PREFIX}${name}/${version}0`;
}

function hex(n: number, width: number): string {
  return n.toString(16).padStart(width, '0');
}

export const MAX_CHUNKS = 0xffffffff;
export const MAX_COLUMNS = 0xffff;

export function chunkKey(name: string, version: string, chunk: number, col: number): string {
  return `${CHUNK_PREFIX}${name}/${version}/${hex(chunk, 8)}}/${hex(col, 4)}`;
}

/** The hash tag of a row-chunk: what the cluster hashes to place it. */
export function chunkHashTag(name: string, version: string, chunk: number): string {
  return `${name}/${version}/${hex(chunk, 8)}`;
}

export interface ParsedChunkKey {
  name: string;
  version: string;
  chunk: number;
  col: number;
}

const CHUNK_KEY_RE = /^\u0000df\/c\/\{([^/{}]+)\/([0-9a-f]{10}-[0-9a-f]{8})\/([0-9a-f]{8})\}\/([0-9a-f]{4})$/;

export function parseChunkKey(key: string): ParsedChunkKey | undefined {
  const m = CHUNK_KEY_RE.exec(key);
  if (!m) return undefined;
  return { name: m[1]!, version: m[2]!, chunk: parseInt(m[3]!, 16), col: parseInt(m[4]!, 16) };
}

// Versions: "<counter: 10 hex digits>-<8 random hex digits>". The counter orders versions; the random
// part keeps two writers that start from the same published version from colliding.
const VERSION_RE = /^[0-9a-f]{10}-[0-9a-f]{8}$/;

export function isVersion(v: unknown): v is string {
  return typeof v === 'string' && VERSION_RE.test(v);
}

export function makeVersion(counter: number): string {
  return `${hex(counter, 10)}-${randomBytes(4).toString('hex')}`;
}

export function versionCounter(v: string): number {
  return parseInt(v.slice(0, 10), 16);
}
