// Which importer reads a file: decided by its first bytes (magic numbers) and its extension, so a
// binary file is never parsed as text. A Parquet file starts with "PAR1", an Arrow IPC file with
// "ARROW1", an Arrow IPC stream with the continuation marker 0xFFFFFFFF; gzip, zstd and zip files have
// their own. eau2 imports CSV, TSV and SoR text: any of the binary types above is refused with an
// error naming the type, as is a file whose extension promises a binary type its bytes do not have.

import { open, stat } from 'node:fs/promises';
import { extname } from 'node:path';
import { Eau2Error, ErrorCode } from '../../kv/index.js';

export type TextFormat = 'csv' | 'tsv' | 'sor';

const BINARY_EXT: Record<string, string> = {
  '.parquet': 'Parquet',
  '.pq': 'Parquet',
  '.arrow': 'Arrow IPC',
  '.feather': 'Arrow IPC',
  '.ipc': 'Arrow IPC',
  '.arrows': 'Arrow IPC stream',
  '.gz': 'gzip',
  '.zst': 'zstd',
  '.zip': 'zip',
  '.json': 'JSON',
  '.ndjson': 'NDJSON',
  '.jsonl': 'NDJSON',
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
 * The text format to read `file` as: `given` (the caller's --format) if any, else by extension
 * (`.sor` SoR, `.tsv`/`.tab` TSV, anything else CSV). Fails with INVALID, reading nothing more,
 * for a file whose first bytes are a binary type, contain a NUL byte, or whose extension names a
 * type eau2 does not import.
 */
export async function detectFormat(file: string, given?: TextFormat): Promise<TextFormat> {
  const head = new Uint8Array(4096);
  let n = 0;
  // Only a regular file is sniffed: reading a pipe or FIFO would take bytes the importer needs (and
  // a positioned read there fails with ESPIPE); those are judged by their name alone.
  if ((await stat(file)).isFile()) {
    const fh = await open(file, 'r');
    try {
      n = (await fh.read(head, 0, head.length, 0)).bytesRead;
    } finally {
      await fh.close();
    }
  }
  const bytes = head.subarray(0, n);
  const magic = magicType(bytes);
  if (magic) throw refuse(file, `it is in ${magic} format, and eau2 imports only CSV, TSV and SoR text`);
  if (bytes.includes(0)) throw refuse(file, 'it is a binary file of unknown type (a NUL byte in its first 4 KiB)');
  const ext = extname(file).toLowerCase();
  const promised = BINARY_EXT[ext];
  if (promised) throw refuse(file, `its name says ${promised}, and eau2 imports only CSV, TSV and SoR text`);
  if (given) return given;
  if (ext === '.sor') return 'sor';
  if (ext === '.tsv' || ext === '.tab') return 'tsv';
  return 'csv';
}
