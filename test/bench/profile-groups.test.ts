// The cluster bench's profile grouping on a synthetic V8 profile: idle and module loading left
// out, self time summed across profiles and grouped by area.

import { describe, expect, it } from 'vitest';
import { groupOf, groupProfiles } from '../../bench/cluster/profile-groups.js';
import type { CpuProfile } from '../../bench/lib/cpu-profile.js';

const frame = (functionName: string, url = '') => ({ functionName, url, lineNumber: 0 });

/** root -> [idle, GC, rbtree insert, engine encode, cluster apply, module compile], 1 ms per sample. */
function profile(weights: number[]): CpuProfile {
  const leaves = [
    frame('(idle)'),
    frame('(garbage collector)'),
    frame('proto.insert', 'file:///r/node_modules/functional-red-black-tree/rbtree.js'),
    frame('encodeBatchInto', 'file:///r/engine/batch/write-batch.ts'),
    frame('apply', 'file:///r/cluster/node/partition-writer.ts'),
    frame('compileSourceTextModule', 'node:internal/modules/esm/utils'),
  ];
  const nodes = [
    { id: 1, callFrame: frame('(root)'), children: leaves.map((_, i) => i + 2) },
    ...leaves.map((callFrame, i) => ({ id: i + 2, callFrame })),
  ];
  const samples: number[] = [];
  weights.forEach((w, i) => {
    for (let n = 0; n < w; n++) samples.push(i + 2);
  });
  return { nodes, samples, timeDeltas: samples.map(() => 1000), startTime: 0, endTime: samples.length * 1000 };
}

describe('profile-groups', () => {
  it('groups functions by area', () => {
    expect(groupOf('(idle)')).toBe('idle');
    expect(groupOf('writeBuffer')).toBe('socket and file writes (writeBuffer, writev)');
    expect(groupOf('read (node_modules/msgpackr/unpack.js:266)')).toBe('msgpackr');
    expect(groupOf('encode (cluster/protocol/entries-frame.ts:1)')).toBe('cluster: protocol (frames, codec, entries)');
    expect(groupOf('compileSourceTextModule (node:internal/modules/esm/utils:344)')).toBe('startup');
  });

  it('sums profiles and leaves idle time and module loading out of the busy time', () => {
    const g = groupProfiles([profile([50, 10, 20, 10, 10, 30]), profile([0, 10, 0, 10, 10, 0])], 3);
    expect(g.busyMs).toBeCloseTo(80, 5);
    expect(Object.fromEntries(g.groups.map((x) => [x.group, Math.round(x.pct)]))).toEqual({
      'GC (main thread)': 25,
      'engine: memtable red-black tree': 25,
      'engine: the rest (batch encode, WAL, memtable, crc32c, reads)': 25,
      'cluster: node (handlers, leader, follower, writer)': 25,
    });
    expect(g.top).toHaveLength(3);
    expect(g.top.every((t) => !t.name.includes('idle') && !t.name.includes('compile'))).toBe(true);
  });
});
