// The worked example of docs/format.md §5.8, byte for byte: a change to the table format that does
// not also change the document (and the version history) fails here.

import { describe, expect, it } from 'vitest';
import { Kind } from '../../../engine/format/internal-key.js';
import { BlockCache } from '../../../engine/table/block-cache.js';
import { TableBuilder } from '../../../engine/table/table-builder.js';
import { TableReader } from '../../../engine/table/table-reader.js';
import { utf8 } from '../../../kv/index.js';
import { BytesFile, hex } from './helpers.js';

// Copied from docs/format.md §5.8 (offsets and comments stripped by unhex()).
const EXAMPLE = `
0000  00 05 03 07 01                 data block: shared 0, unshared 5, value 3, seq 7, kind 1 (value)
0005  61 70 70 6c 65 72 65 64          "apple" "red"
000d  04 01 00 05 00                   shared 4, unshared 1, value 0, seq 5, kind 0 (tombstone)
0012  79                               "y"  -> user key "apply"
0013  00 00 00 00                      restart offsets: 0
0017  01 00 00 00                      1 restart point
001b  00 0d 68 e8 a1                 trailer: type 0, masked CRC      (data block = handle 0, 27)
0020  20 00 a1 62 80 80 80 43        filter block: 64 bits, 7 probes per key set
0028  40 00 00 00 07 01                m = 64, k = 7, scheme 1
002e  00 8e ba 31 52                 trailer                           (filter = handle 32, 14)
0033  02 02 20 01 01 05 07 0a 03 02 0a   properties: version 2, 2 entries, dataSize 32, 1 block,
003e  0d 61 70 70 6c 65 01 07 00 00 00 00 00 00   smallest: "apple" + trailer (kind 1, seq 7)
004c  0d 61 70 70 6c 79 00 05 00 00 00 00 00 00   largest:  "apply" + trailer (kind 0, seq 5)
005a  00 bf 62 4f ff                 trailer                           (properties = handle 51, 39)
005f  00 05 02 05 00 61 70 70 6c 79  index block: separator "apply"@5 kind 0 (the last key),
0069  00 1b                            value: handle offset 0, size 27
006b  00 00 00 00                      restart offsets: 0 (every index entry is a restart point)
006f  01 00 00 00                      1 restart point
0073  00 3d d9 57 0f                 trailer                           (index = handle 95, 20)
0078  20 00 00 00 00 00 00 00 0e 00 00 00 00 00 00 00   footer: filter handle (32, 14)
0088  33 00 00 00 00 00 00 00 27 00 00 00 00 00 00 00           properties handle (51, 39)
0098  5f 00 00 00 00 00 00 00 14 00 00 00 00 00 00 00           index handle (95, 20)
00a8  02 00 00 00                      version 2
00ac  76 6c 77 56                      masked CRC of footer bytes 0..51
00b0  45 41 55 32 54 42 4c 1a          magic "EAU2TBL\\x1a"
`;

/** Parses annotated hex: on each line, the 4-digit offset, then byte pairs up to the first non-pair. */
function unhex(text: string): { bytes: Uint8Array; offsets: number[] } {
  const out: number[] = [];
  const offsets: number[] = [];
  for (const line of text.split('\n')) {
    const m = /^([0-9a-f]{4})((?:\s+[0-9a-f]{2}(?=\s|$))+)/.exec(line);
    if (!m) continue;
    offsets.push(parseInt(m[1]!, 16));
    expect(parseInt(m[1]!, 16), `offset column of "${line}"`).toBe(out.length);
    for (const pair of m[2]!.trim().split(/\s+/)) out.push(parseInt(pair, 16));
  }
  return { bytes: Uint8Array.from(out), offsets };
}

describe('table format', () => {
  it('writes the worked example of docs/format.md §5.8 byte for byte', () => {
    const b = new TableBuilder();
    b.add(utf8('apple'), 7, Kind.VALUE, utf8('red'));
    b.add(utf8('apply'), 5, Kind.DELETE, new Uint8Array(0));
    const { bytes } = unhex(EXAMPLE);
    expect(bytes.length).toBe(184);
    expect(hex(b.finish())).toBe(hex(bytes));
  });

  it('reads the worked example back', () => {
    const t = TableReader.open(new BytesFile('doc.sst', unhex(EXAMPLE).bytes), 1, new BlockCache(1 << 16));
    expect(new TextDecoder().decode(t.get(utf8('apple'), 100)!.value)).toBe('red');
    expect(t.get(utf8('apply'), 100)).toMatchObject({ kind: Kind.DELETE, seq: 5 });
    expect(t.get(utf8('apply'), 4)).toBeUndefined();
    expect(t.properties).toMatchObject({ entries: 2, dataSize: 32, tombstones: 1, smallestSeq: 5, largestSeq: 7 });
  });
});
