// eau2's applications (Trivial, Demo, WordCount, Linus) on three kinds of store: the in-memory
// double, a fake 3-node cluster (queries pushed down through runTask), and a real embedded Engine in a
// temporary directory. Each app checks itself against an independent computation; here we also check
// that the checks can fail.

import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { demo } from '../../app/apps/demo.js';
import { bfsDegrees, generateLinusData, linus, queryDegrees } from '../../app/apps/linus.js';
import { Rng } from '../../app/apps/random.js';
import { trivial } from '../../app/apps/trivial.js';
import { wordCount } from '../../app/apps/word-count.js';
import { DataFrame } from '../../dataframe/index.js';
import type { KvStore } from '../../kv/index.js';
import { Engine } from '../../engine/index.js';
import { MemoryStore } from '../support/memory-store.js';
import { FakeCluster } from '../dataframe/fake-cluster.js';
import { seededRng } from '../dataframe/helpers.js';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'eau2-apps-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

const stores: Record<string, () => Promise<{ store: KvStore; done: () => Promise<void> }>> = {
  'memory store': async () => ({ store: new MemoryStore(), done: async () => undefined }),
  'fake 3-node cluster': async () => ({ store: new FakeCluster(3, 16, 2), done: async () => undefined }),
  'embedded Engine': async () => {
    const e = await Engine.open(await mkdtemp(join(dir, 'engine-')));
    return { store: e, done: () => e.close() };
  },
};

for (const [kind, open] of Object.entries(stores)) {
  describe(`applications on a ${kind}`, () => {
    it('Trivial stores a million doubles and reads back the exact sum', async () => {
      const { store, done } = await open();
      try {
        const r = await trivial(store);
        expect(r.summary).toMatch(/1000000 doubles/);
        expect(r.ok, r.summary).toBe(true);
      } finally {
        await done();
      }
    });

    it('Demo: producer, counter and summarizer agree, printing SUCCESS', async () => {
      const { store, done } = await open();
      const lines: string[] = [];
      try {
        const r = await demo(store, { log: (l) => lines.push(l) });
        expect(r.ok, r.summary).toBe(true);
        expect(lines).toContain('SUCCESS');
      } finally {
        await done();
      }
    });

    it('WordCount matches a plain in-memory count', async () => {
      const { store, done } = await open();
      try {
        const seed = seededRng().seed;
        const r = await wordCount(store, { seed, words: 30_000, vocab: 2_000 });
        expect(r.ok, r.summary).toBe(true);
        const counts = await DataFrame.get(store, 'wc-counts');
        expect(counts.columnNames).toEqual(['word', 'count']);
        expect(await counts.sum('count')).toBe(30_000);
      } finally {
        await done();
      }
    });

    it('Linus matches a plain breadth-first search, degree by degree', async () => {
      const { store, done } = await open();
      try {
        const r = await linus(store, { seed: seededRng().seed, users: 3000, projects: 1200, commits: 3600 });
        expect(r.ok, r.summary).toBe(true);
      } finally {
        await done();
      }
    });
  });
}

describe('the applications’ checks can fail', () => {
  it('Linus query search and BFS disagree when the stored commits differ from the generated ones', async () => {
    const rng = new Rng(seededRng().seed);
    const data = generateLinusData(rng, 500, 200, 600);
    const store = new MemoryStore();
    // Store the commits with one user's commits dropped: the query side must then see fewer users.
    const keep = [...data.commits.column('uid', 'I').values].map((u) => u !== 0);
    const idx = Int32Array.from(keep.flatMap((k, i) => (k ? [i] : [])));
    const pid = Int32Array.from(idx, (i) => data.commits.column('pid', 'I').values[i]!);
    const uid = Int32Array.from(idx, (i) => data.commits.column('uid', 'I').values[i]!);
    await DataFrame.put(store, 'c', DataFrame.fromColumns({ pid, uid }));
    const got = await queryDegrees(await DataFrame.get(store, 'c'), 7);
    const want = bfsDegrees(data.commits.column('pid', 'I').values, data.commits.column('uid', 'I').values, 7);
    expect(got).not.toEqual(want);
  });

  it('Trivial reports damaged storage as CORRUPTION instead of a wrong sum', async () => {
    const mem = new MemoryStore();
    const damaging: KvStore = {
      get: async (k) => {
        const v = await mem.get(k);
        if (v && String(k).startsWith('\u0000df/c/') && v.length > 100) v[v.length - 9]! ^= 0x40;
        return v;
      },
      put: (k, v) => mem.put(k, v),
      del: (k) => mem.del(k),
      batch: (ops) => mem.batch(ops),
      scan: (r) => mem.scan(r),
    };
    await expect(trivial(damaging, { n: 1000 })).rejects.toMatchObject({ code: 'CORRUPTION' });
  });
});
