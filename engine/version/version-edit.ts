// Version edits: the records of the manifest (docs/format.md §6). Each edit says which table files
// were added to or removed from which level, plus counters (next file number, last sequence, the
// WAL that holds data not yet in a table). Replaying every edit of a manifest rebuilds the set of
// live files. Tags are stored on disk: DO NOT CHANGE THESE VALUES.

import { ByteWriter, getVarint } from '../util/coding.js';
import { decodeInternalKey } from '../format/internal-key.js';

const Tag = {
  FORMAT_VERSION: 1,
  LOG_NUMBER: 2,
  NEXT_FILE_NUMBER: 3,
  LAST_SEQUENCE: 4,
  COMPACT_POINTER: 5,
  DELETED_FILE: 6,
  NEW_FILE: 7,
} as const;

/** The database format this code writes; a manifest declaring a newer one is refused on open. */
export const DB_FORMAT_VERSION = 1;

export const NUM_LEVELS = 7;

/** A live table file. smallest/largest are encoded internal keys; the user-key views are cached. */
export interface FileMeta {
  number: number;
  size: number;
  smallest: Uint8Array;
  largest: Uint8Array;
  smallestUser: Uint8Array;
  largestUser: Uint8Array;
}

export function makeFileMeta(number: number, size: number, smallest: Uint8Array, largest: Uint8Array): FileMeta {
  return {
    number,
    size,
    smallest,
    largest,
    smallestUser: decodeInternalKey(smallest).userKey,
    largestUser: decodeInternalKey(largest).userKey,
  };
}

export class VersionEdit {
  formatVersion?: number;
  logNumber?: number;
  nextFileNumber?: number;
  lastSequence?: number;
  compactPointers: Array<[number, Uint8Array]> = [];
  deleted: Array<[number, number]> = [];
  added: Array<[number, FileMeta]> = [];

  addFile(level: number, f: FileMeta): void {
    this.added.push([level, f]);
  }

  deleteFile(level: number, fileNumber: number): void {
    this.deleted.push([level, fileNumber]);
  }

  encode(): Uint8Array {
    const w = new ByteWriter(256);
    if (this.formatVersion !== undefined) {
      w.varint(Tag.FORMAT_VERSION);
      w.varint(this.formatVersion);
    }
    if (this.logNumber !== undefined) {
      w.varint(Tag.LOG_NUMBER);
      w.varint(this.logNumber);
    }
    if (this.nextFileNumber !== undefined) {
      w.varint(Tag.NEXT_FILE_NUMBER);
      w.varint(this.nextFileNumber);
    }
    if (this.lastSequence !== undefined) {
      w.varint(Tag.LAST_SEQUENCE);
      w.varint(this.lastSequence);
    }
    for (const [level, key] of this.compactPointers) {
      w.varint(Tag.COMPACT_POINTER);
      w.varint(level);
      w.lengthPrefixed(key);
    }
    for (const [level, num] of this.deleted) {
      w.varint(Tag.DELETED_FILE);
      w.varint(level);
      w.varint(num);
    }
    for (const [level, f] of this.added) {
      w.varint(Tag.NEW_FILE);
      w.varint(level);
      w.varint(f.number);
      w.varint(f.size);
      w.lengthPrefixed(f.smallest);
      w.lengthPrefixed(f.largest);
    }
    return w.finish();
  }

  /** Decodes an edit; returns a description of the defect if the bytes are malformed. */
  static decode(buf: Uint8Array): VersionEdit | string {
    const e = new VersionEdit();
    const pos = { off: 0 };
    const num = (): number => {
      const v = getVarint(buf, pos);
      if (v < 0) throw new RangeError('truncated varint');
      return v;
    };
    const bytes = (): Uint8Array => {
      const n = num();
      if (pos.off + n > buf.length) throw new RangeError('truncated bytes');
      const b = buf.slice(pos.off, pos.off + n);
      pos.off += n;
      return b;
    };
    const level = (): number => {
      const l = num();
      if (l >= NUM_LEVELS) throw new RangeError(`level ${l} out of range`);
      return l;
    };
    try {
      while (pos.off < buf.length) {
        const tag = num();
        switch (tag) {
          case Tag.FORMAT_VERSION:
            e.formatVersion = num();
            break;
          case Tag.LOG_NUMBER:
            e.logNumber = num();
            break;
          case Tag.NEXT_FILE_NUMBER:
            e.nextFileNumber = num();
            break;
          case Tag.LAST_SEQUENCE:
            e.lastSequence = num();
            break;
          case Tag.COMPACT_POINTER: {
            const l = level();
            e.compactPointers.push([l, bytes()]);
            break;
          }
          case Tag.DELETED_FILE: {
            const l = level();
            e.deleted.push([l, num()]);
            break;
          }
          case Tag.NEW_FILE: {
            const l = level();
            const number = num();
            const size = num();
            const smallest = bytes();
            const largest = bytes();
            if (smallest.length < 8 || largest.length < 8) throw new RangeError('file bound shorter than a trailer');
            e.added.push([l, makeFileMeta(number, size, smallest, largest)]);
            break;
          }
          default:
            return `unknown manifest tag ${tag}`;
        }
      }
    } catch (err) {
      return (err as Error).message;
    }
    return e;
  }
}
