// Which importer reads a file: decided by its first bytes (magic numbers) and its extension, so a
// binary file is never parsed as text. A Parquet file starts with "PAR1", an Arrow IPC file with
// "ARROW1", an Arrow IPC stream with the continuation marker 0xFFFFFFFF; gzip, zstd and zip files have
// their own. Parquet and Arrow files are read by their importers whatever their name; a file whose
// extension promises one of them but whose bytes are not it, a compressed file, or another binary
// file is refused with an error naming what it is.

import { open, stat } from 'node:fs/promises';
import { extname } from 'node:path';
import { Eau2Error, ErrorCode } from '../../kv/index.js';

export type TextFormat = 'csv' | 'tsv' | 'sor';
export type ImportFormat = TextFormat | 'parquet' | 'arrow' | 'json' | 'ndjson';
export const IMPORT_FORMATS: readonly ImportFormat[] = ['csv', 'tsv', 'sor', 'parquet', 'arrow', 'json', 'ndjson'];

/** Extensions of binary types: what the bytes must be, and the format they are read as (if any). */
const BINARY_EXT: Record<string, [string, ImportFormat | undefined]> = {
  '.parquet': ['Parquet', 'parquet'],
  '.pq': ['Parquet', 'parquet'],
  '.arrow': ['Arrow IPC', 'arrow'],
  '.feather': ['Arrow IPC', 'arrow'],
  '.ipc': ['Arrow IPC', 'arrow'],
  '.arrows': ['Arrow IPC stream', 'arrow'],
  '.gz': ['gzip', undefined],
  '.zst': ['zstd', undefined],
  '.zip': ['zip', undefined],
};

const TEXT_EXT: Record<string, ImportFormat> = {
  '.sor': 'sor',
  '.tsv': 'tsv',
  '.tab': 'tsv',
  '.json': 'json',
  '.ndjson': 'ndjson',
  '.jsonl': 'ndjson',
};

/** The format a binary type is imported as. */
const MAGIC_FORMAT: Record<string, ImportFormat> = {
  Parquet: 'parquet',
  'Arrow IPC': 'arrow',
  'Arrow IPC stream': 'arrow',
};

/** The type the first bytes of a file name, or undefined for none known. */
export function magicType(head: Uint8Array): string | undefined {
  const starts = (...b: number[]): boolean => b.every((x, i) => head[i] === x);
  if (starts(0x50, 0x41, 0x52, 0x31)) return 'Parquet'; // PAR1
  if (starts(0x41, 0x52, 0x52, 0x4f, 0x57, 0x31)) return 'Arrow IPC'; // ARROW1
  if (starts(0xff, 0xff, 0xff, 0xff)) return 'Arrow IPC stream';
  if (starts(0x1f, 0x8b)) return 'gzip';
  if (starts(0x28, 0xb5, 0x2f, 0xfd)) return 'zstd';
  if (starts(0x50, 0x4b, 0x03, 0x04)) return 'zip';
  return undefined;
}

function refuse(file: string, why: string): Eau2Error {
  return new Eau2Error(ErrorCode.INVALID, `cannot import ${file}: ${why}`, { details: { file } });
}

/**
 * The format to read `file` as. A Parquet or Arrow file is read as such whatever its name or
 * `given` says, unless `given` names another binary format. Otherwise `given` (the caller's
 * --format) if any, else by extension (`.sor` SoR, `.tsv`/`.tab` TSV, `.json` JSON, `.ndjson`/`.jsonl`
 * NDJSON, `.parquet` Parquet, `.arrow`/`.arrows`/`.feather`/`.ipc` Arrow, anything else CSV). Fails
 * with INVALID, reading nothing more, for an empty file, a compressed file, a file with a NUL byte in its first
 * 4 KiB that is none of these, or a file whose extension promises a binary type its bytes are not.
 */
export async function detectFormat(file: string, given?: ImportFormat): Promise<ImportFormat> {
  const head = new Uint8Array(4096);
  let n = 0;
  const st = await stat(file);
  // No format can import an empty file; named as such, it is not taken for a mislabelled one.
  if (st.isFile() && st.size === 0) throw refuse(file, 'it is empty');
  // Only a regular file is sniffed: reading a pipe or FIFO would take bytes the importer needs (and
  // a positioned read there fails with ESPIPE); those are judged by their name alone.
  if (st.isFile()) {
    const fh = await open(file, 'r');
    try {
      n = (await fh.read(head, 0, head.length, 0)).bytesRead;
    } finally {
      await fh.close();
    }
  }
  const bytes = head.subarray(0, n);
  const magic = magicType(bytes);
  const ext = extname(file).toLowerCase();
  if (magic) {
    const f = MAGIC_FORMAT[magic];
    if (!f) throw refuse(file, `it is in ${magic} format; decompress it first`);
    if (given && given !== f && given !== 'parquet' && given !== 'arrow') {
      throw refuse(file, `it is in ${magic} format, not ${given.toUpperCase()}`);
    }
    if (given && given !== f) throw refuse(file, `it is in ${magic} format, not ${given}`);
    return f;
  }
  const promised = BINARY_EXT[ext];
  if (!st.isFile()) {
    // A pipe's bytes were not read: its name or `given` says what it holds. Arrow IPC streams in;
    // Parquet is read from its footer, at the end, which a pipe cannot seek to.
    const f = given ?? promised?.[1];
    if (f === 'parquet') throw refuse(file, 'Parquet is read from its footer at the end: give a file, not a pipe');
    if (f) return f;
    if (promised) throw refuse(file, `its name says ${promised[0]}; decompress it first`);
    return TEXT_EXT[ext] ?? 'csv';
  }
  if (promised) throw refuse(file, `its name says ${promised[0]}, but its bytes are not`);
  if (given === 'parquet' || given === 'arrow')
    throw refuse(file, `its bytes are not ${given === 'arrow' ? 'Arrow IPC' : 'Parquet'}`);
  if (bytes.includes(0)) throw refuse(file, 'it is a binary file of unknown type (a NUL byte in its first 4 KiB)');
  if (given) return given;
  return TEXT_EXT[ext] ?? 'csv';
}
