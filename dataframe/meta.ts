// The metadata record of a published frame (docs/format.md section 7.3): name, version, schema, row
// count and chunking. Writing this one record is what publishes a version, so it is validated as
// strictly as a chunk: a reader must never act on a half-sensible record.

import { Kind, badValue, isPlainObject, open, seal } from './envelope.js';
import { isVersion, metaKey } from './layout.js';
import { checkFields, schemaString, type Field } from './schema.js';

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
  };
}

function isCount(v: unknown): v is number {
  return typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;
}

/** Validates plain data as metadata; `where` names the source in the CORRUPTION error. */
export function plainToMeta(body: unknown, where: string): FrameMeta {
  if (!isPlainObject(body)) throw badValue(where, 'metadata is not a map');
  const { name, version, fields, nrows, chunkRows, nchunks, created } = body;
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
  return Object.freeze({ name, version, fields: Object.freeze(checked), nrows, chunkRows, nchunks, created });
}

export function encodeMeta(m: FrameMeta): Uint8Array {
  return seal(Kind.META, metaToPlain(m));
}

export function decodeMeta(value: Uint8Array, name: string): FrameMeta {
  const key = metaKey(name);
  const m = plainToMeta(open(Kind.META, value, key), key);
  if (m.name !== name) throw badValue(key, `record names frame ${JSON.stringify(m.name)}`);
  return m;
}

/** Rows in chunk i of a frame. */
export function rowsInChunk(m: Pick<FrameMeta, 'nrows' | 'chunkRows'>, i: number): number {
  return Math.min(m.chunkRows, m.nrows - i * m.chunkRows);
}
