// The metadata record of a published frame (docs/format.md section 7.3): name, version, schema, row
// count and chunking. Writing this one record is what publishes a version, so it is validated as
// strictly as a chunk: a reader must never act on a half-sensible record.

import {
  FORMAT_VERSION,
  Kind,
  META_SLOTS_VERSION,
  META_TYPES_VERSION,
  badValue,
  isPlainObject,
  openVersioned,
  seal,
} from './envelope.js';
import { MAX_CHUNKS, isVersion, metaKey } from './layout.js';
import { checkFields, isNewType, schemaString, type Field } from './schema.js';
import { checkZones, type Zone } from './zone-map.js';

export interface FrameMeta {
  readonly name: string;
  readonly version: string;
  readonly fields: readonly Field[];
  readonly nrows: number;
  /** Rows per chunk; every chunk but the last holds exactly this many. */
  readonly chunkRows: number;
  readonly nchunks: number;
  /** Milliseconds since the epoch, when the version was published. */
  readonly created: number;
  /**
   * The key slot of each row-chunk, when the writer chose them to balance row-chunks over a cluster's
   * leaders (placement.ts); absent, row-chunk i is stored at slot i. Never read it directly: slotOf.
   */
  readonly slots?: readonly number[];
  /**
   * Per row-chunk, per column: [min, max, null count] (zone-map.ts). Absent in frames written before
   * zone maps, whose queries read every chunk.
   */
  readonly zones?: readonly (readonly Zone[])[];
}

/** The key slot row-chunk `i` is stored under (docs/format.md 7.3-7.4). */
export function slotOf(m: Pick<FrameMeta, 'slots'>, i: number): number {
  return m.slots ? m.slots[i]! : i;
}

/** What `DataFrame.list` and `GET /df` show for a frame. */
export interface FrameInfo {
  name: string;
  version: string;
  schema: string;
  columns: { name: string; type: string }[];
  nrows: number;
  ncols: number;
  chunkRows: number;
  nchunks: number;
  created: string;
}

export function frameInfo(m: FrameMeta): FrameInfo {
  return {
    name: m.name,
    version: m.version,
    schema: schemaString(m.fields),
    columns: m.fields.map((f) => ({ name: f.name, type: f.type })),
    nrows: m.nrows,
    ncols: m.fields.length,
    chunkRows: m.chunkRows,
    nchunks: m.nchunks,
    created: new Date(m.created).toISOString(),
  };
}

/** The plain-data form, as stored in the record and as sent in query task payloads. */
export function metaToPlain(m: FrameMeta): Record<string, unknown> {
  return {
    name: m.name,
    version: m.version,
    fields: m.fields.map((f) => [f.name, f.type]),
    nrows: m.nrows,
    chunkRows: m.chunkRows,
    nchunks: m.nchunks,
    created: m.created,
    ...(m.slots ? { slots: slotsToBytes(m.slots) } : {}),
    ...(m.zones ? { zones: m.zones } : {}),
  };
}

function slotsToBytes(slots: readonly number[]): Uint8Array {
  const out = new Uint8Array(slots.length * 4);
  const dv = new DataView(out.buffer);
  for (let i = 0; i < slots.length; i++) dv.setUint32(i * 4, slots[i]!, true);
  return out;
}

/** `slots` as stored: a bin of nchunks uint32 little-endian, all distinct. */
function bytesToSlots(v: unknown, nchunks: number, where: string): readonly number[] {
  if (!(v instanceof Uint8Array)) throw badValue(where, 'slots is not a bin');
  if (v.length !== nchunks * 4) throw badValue(where, `slots holds ${v.length} bytes for ${nchunks} chunks`);
  const dv = new DataView(v.buffer, v.byteOffset, v.byteLength);
  const out = new Array<number>(nchunks);
  const seen = new Set<number>();
  for (let i = 0; i < nchunks; i++) {
    const s = dv.getUint32(i * 4, true);
    if (s >= MAX_CHUNKS || seen.has(s))
      throw badValue(where, `slot ${s} of chunk ${i} is ${s >= MAX_CHUNKS ? 'out of range' : 'repeated'}`);
    seen.add(s);
    out[i] = s;
  }
  return Object.freeze(out);
}

function isCount(v: unknown): v is number {
  return typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;
}

/** Validates plain data as metadata; `where` names the source in the CORRUPTION error. */
export function plainToMeta(body: unknown, where: string): FrameMeta {
  if (!isPlainObject(body)) throw badValue(where, 'metadata is not a map');
  const { name, version, fields, nrows, chunkRows, nchunks, created, slots, zones } = body;
  if (typeof name !== 'string' || !isVersion(version)) throw badValue(where, 'bad name or version');
  if (!isCount(nrows) || !isCount(chunkRows) || chunkRows === 0 || !isCount(nchunks) || !isCount(created)) {
    throw badValue(where, 'bad row or chunk counts');
  }
  if (nchunks !== Math.ceil(nrows / chunkRows)) throw badValue(where, `${nchunks} chunks cannot hold ${nrows} rows`);
  if (!Array.isArray(fields)) throw badValue(where, 'fields is not an array');
  let checked: Field[];
  try {
    checked = checkFields(
      fields.map((f: unknown) => {
        if (!Array.isArray(f) || f.length !== 2) throw new TypeError('field is not a [name, type] pair');
        return { name: f[0] as string, type: f[1] as Field['type'] };
      }),
    );
  } catch (e) {
    throw badValue(where, `bad fields: ${(e as Error).message}`, e);
  }
  const base = { name, version, fields: Object.freeze(checked), nrows, chunkRows, nchunks, created };
  const rowsOf = (i: number): number => Math.min(chunkRows, nrows - i * chunkRows);
  return Object.freeze({
    ...base,
    ...(slots === undefined ? {} : { slots: bytesToSlots(slots, nchunks, where) }),
    ...(zones === undefined ? {} : { zones: checkZones(zones, checked, nchunks, rowsOf, where) }),
  });
}

/**
 * The record's format version: 3 when a column has a type added with it (L, T, d), else 1 when
 * row-chunk i is at slot i and 2 when it is not; readers of an earlier version refuse a later one.
 * Zone maps may be in a record of any version: readers that predate them ignore them.
 */
function metaVersion(m: Pick<FrameMeta, 'fields' | 'slots'>): number {
  if (m.fields.some((f) => isNewType(f.type))) return META_TYPES_VERSION;
  return m.slots ? META_SLOTS_VERSION : FORMAT_VERSION;
}

export function encodeMeta(m: FrameMeta): Uint8Array {
  return seal(Kind.META, metaToPlain(m), metaVersion(m));
}

export function decodeMeta(value: Uint8Array, name: string): FrameMeta {
  const key = metaKey(name);
  const { body, version } = openVersioned(Kind.META, value, key, [
    FORMAT_VERSION,
    META_SLOTS_VERSION,
    META_TYPES_VERSION,
  ]);
  const hasSlots = isPlainObject(body) && body.slots !== undefined;
  if (version !== META_TYPES_VERSION && hasSlots !== (version === META_SLOTS_VERSION)) {
    throw badValue(key, hasSlots ? 'slots in a version 1 record' : 'version 2 record without slots');
  }
  const m = plainToMeta(body, key);
  if (metaVersion(m) !== version) throw badValue(key, `a record of version ${version} for its contents`);
  if (m.name !== name) throw badValue(key, `record names frame ${JSON.stringify(m.name)}`);
  return m;
}

/** Rows in chunk i of a frame. */
export function rowsInChunk(m: Pick<FrameMeta, 'nrows' | 'chunkRows'>, i: number): number {
  return Math.min(m.chunkRows, m.nrows - i * m.chunkRows);
}
