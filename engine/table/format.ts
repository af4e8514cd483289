// SSTable format constants and the small codecs the builder and the reader share: block handles,
// the block trailer (compression type + masked CRC32C) and the fixed-size footer.
// The bytes are specified in docs/format.md §5; this file only names them.
// DO NOT CHANGE THESE VALUES: they are stored on disk.

import { crc32c, maskCrc, unmaskCrc } from '../util/crc32c.js';
import { getFixed32, getFixed64, putFixed32, putFixed64 } from '../util/coding.js';
import { corruption, Eau2Error, ErrorCode } from '../../kv/index.js';

/** The table format this code writes, and the newest it reads. History: docs/format.md §5.9. */
export const TABLE_FORMAT_VERSION = 2;

/** The last 8 bytes of every table: "EAU2TBL\x1a", i.e. fixed64 0x1a4c425432554145. */
const TABLE_MAGIC: Uint8Array = Uint8Array.of(0x45, 0x41, 0x55, 0x32, 0x54, 0x42, 0x4c, 0x1a);

/** Footer: 3 handles x (fixed64 offset, fixed64 size), fixed32 version, fixed32 masked CRC, magic. */
export const FOOTER_SIZE = 64;
const FOOTER_VERSION_AT = 48;
const FOOTER_CRC_AT = 52;
const FOOTER_MAGIC_AT = 56;

/** After every block's contents: u8 compression type, fixed32 masked CRC32C of contents + type. */
export const BLOCK_TRAILER_SIZE = 5;

const CompressionType = {
  NONE: 0,
} as const;

/** Where a block's contents lie in the file. `size` excludes the 5-byte trailer. */
export interface BlockHandle {
  offset: number;
  size: number;
}

export interface Footer {
  filter: BlockHandle;
  properties: BlockHandle;
  index: BlockHandle;
  version: number;
}

/**
 * Writes the 5-byte trailer of `contents` (compression type, masked CRC of both) into `out`, for a
 * writer that writes the contents and the trailer separately (TableBuilder with a sink): the same
 * bytes sealBlock puts after the contents.
 */
export function blockTrailer(contents: Uint8Array, out: Uint8Array): Uint8Array {
  out[0] = CompressionType.NONE;
  const crc = crc32c(out, crc32c(contents, 0, 0, contents.length), 0, 1);
  putFixed32(out, 1, maskCrc(crc));
  return out.subarray(0, BLOCK_TRAILER_SIZE);
}

/** Appends `contents`, the compression type and the masked CRC of both into one new array. */
export function sealBlock(contents: Uint8Array): Uint8Array {
  const out = new Uint8Array(contents.length + BLOCK_TRAILER_SIZE);
  out.set(contents, 0);
  out[contents.length] = CompressionType.NONE;
  putFixed32(out, contents.length + 1, maskCrc(crc32c(out, 0, 0, contents.length + 1)));
  return out;
}

/**
 * Checks the trailer of a block read as `raw` = contents + trailer (exactly handle.size + 5 bytes)
 * and returns the contents as a view of `raw`. Throws CORRUPTION naming `path` and the block offset.
 */
export function unsealBlock(raw: Uint8Array, handle: BlockHandle, path: string, what: string): Uint8Array {
  const size = handle.size;
  if (raw.length !== size + BLOCK_TRAILER_SIZE) {
    throw corruption(
      path,
      handle.offset,
      `${what} block truncated: read ${raw.length} of ${size + BLOCK_TRAILER_SIZE} bytes`,
    );
  }
  const stored = unmaskCrc(getFixed32(raw, size + 1));
  const actual = crc32c(raw, 0, 0, size + 1);
  if (stored !== actual) throw corruption(path, handle.offset, `${what} block checksum mismatch`);
  const type = raw[size]!;
  if (type !== CompressionType.NONE) {
    throw corruption(path, handle.offset, `${what} block has unknown compression type ${type}`);
  }
  // A view of raw, of raw's class (a Buffer from NodeVfs and from the cache's slots). Nothing hands
  // such views out: what leaves the engine is copied into pooled Buffers (copyBytes). A plain
  // Uint8Array view instead measured the same here (cached getSync 3.2-4.5 vs 3.5-5.0 us CPU,
  // scans within noise), so either would do.
  return raw.subarray(0, size);
}

export function encodeFooter(f: Footer): Uint8Array {
  const out = new Uint8Array(FOOTER_SIZE);
  let at = 0;
  for (const h of [f.filter, f.properties, f.index]) {
    putFixed64(out, at, h.offset);
    putFixed64(out, at + 8, h.size);
    at += 16;
  }
  putFixed32(out, FOOTER_VERSION_AT, f.version);
  putFixed32(out, FOOTER_CRC_AT, maskCrc(crc32c(out, 0, 0, FOOTER_CRC_AT)));
  out.set(TABLE_MAGIC, FOOTER_MAGIC_AT);
  return out;
}

/**
 * Decodes and validates the footer (the last FOOTER_SIZE bytes of a file of `fileSize` bytes).
 * Order matters: the magic says whether this is a table at all, the CRC whether the footer is intact,
 * and only an intact footer's version is believed; then every handle is bounds-checked so no later
 * read can leave the file or overlap the footer.
 */
export function decodeFooter(buf: Uint8Array, fileSize: number, path: string): Footer {
  const at = fileSize - FOOTER_SIZE;
  if (buf.length !== FOOTER_SIZE) {
    throw corruption(path, at, `not an eau2 table: footer truncated (${buf.length} of ${FOOTER_SIZE} bytes)`);
  }
  for (let i = 0; i < TABLE_MAGIC.length; i++) {
    if (buf[FOOTER_MAGIC_AT + i] !== TABLE_MAGIC[i]) {
      throw corruption(
        path,
        at + FOOTER_MAGIC_AT,
        'not an eau2 table (bad magic number; truncated or another kind of file)',
      );
    }
  }
  if (unmaskCrc(getFixed32(buf, FOOTER_CRC_AT)) !== crc32c(buf, 0, 0, FOOTER_CRC_AT)) {
    throw corruption(path, at, 'table footer checksum mismatch');
  }
  const version = getFixed32(buf, FOOTER_VERSION_AT);
  if (version > TABLE_FORMAT_VERSION) {
    throw new Eau2Error(
      ErrorCode.INVALID,
      `${path}: table format version ${version} is newer than this build of eau2 reads (${TABLE_FORMAT_VERSION}); upgrade eau2`,
      { details: { file: path, version, supported: TABLE_FORMAT_VERSION } },
    );
  }
  if (version < 1) throw corruption(path, at + FOOTER_VERSION_AT, `invalid table format version ${version}`);
  if (version < TABLE_FORMAT_VERSION) {
    // Pre-release: no user data exists in older formats, so there is no reader for them.
    throw new Eau2Error(
      ErrorCode.INVALID,
      `${path}: table format version ${version} is older than this build of eau2 reads (${TABLE_FORMAT_VERSION}); ` +
        'tables written before format 2 (data blocks without restart points) must be rebuilt',
      { details: { file: path, version, supported: TABLE_FORMAT_VERSION } },
    );
  }
  const handles: BlockHandle[] = [];
  for (let i = 0; i < 3; i++) {
    const h = { offset: getFixed64(buf, i * 16), size: getFixed64(buf, i * 16 + 8) };
    if (h.offset + h.size + BLOCK_TRAILER_SIZE > at) {
      throw corruption(path, at + i * 16, `table footer handle ${h.offset}+${h.size} lies outside the file`);
    }
    handles.push(h);
  }
  const [filter, properties, index] = handles as [BlockHandle, BlockHandle, BlockHandle];
  // The builder writes filter, properties, index back to back before the footer; anything else is damage.
  if (
    properties.offset !== filter.offset + filter.size + BLOCK_TRAILER_SIZE ||
    index.offset !== properties.offset + properties.size + BLOCK_TRAILER_SIZE ||
    index.offset + index.size + BLOCK_TRAILER_SIZE !== at
  ) {
    throw corruption(path, at, 'table footer handles are not contiguous');
  }
  return { filter, properties, index, version };
}
