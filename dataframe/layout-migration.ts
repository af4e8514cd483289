// Moves frames stored under layout version 1 (keys `df/m/<name>`, `df/c/{...}/...`, in the same
// key space as user keys) into version 2's reserved namespace (the same keys behind a 0x00 byte,
// docs/format.md 7.4). It runs once per store object, before the first metadata read or listing
// (storage.ts), and costs one bounded scan when there is nothing to move.
//
// Under version 1 a user key could sit among the records (`eau2 put df/m/evil x` made every listing
// fail with CORRUPTION), so only what decodes as a frame's metadata is moved, with the chunks of
// its published version; anything else under the old prefixes is a user's key and stays. Per frame:
// copy the chunks, then the metadata (readers of version 2 see the frame whole or not at all), then
// delete the old keys. Interrupted, it starts again at the next open and copies the same bytes.
// Two processes migrating at once write identical values; a frame published under version 2
// meanwhile keeps its new metadata (it is never overwritten by a copy).

import type { KvStore, ReadOptions } from '../kv/index.js';
import { fromUtf8, utf8 } from '../kv/index.js';
import { LAYOUT_PREFIX } from './layout.js';
import { decodeMeta } from './meta.js';

const V1_META = 'df/m/';
const V1_META_END = 'df/m0';
const V1_CHUNK = 'df/c/{';
const V1_CHUNK_KEY = /^df\/c\/\{([^/{}]+)\/([0-9a-f]{10}-[0-9a-f]{8})\/([0-9a-f]{8})\}\/([0-9a-f]{4})$/;

const done = new WeakMap<KvStore, Promise<number>>();

/** Resolves once `store` holds no version-1 frame; with the number of frames moved. */
export function ensureLayout(store: KvStore): Promise<number> {
  let p = done.get(store);
  if (!p) {
    p = migrate(store);
    done.set(store, p);
    // A failed attempt (a node down) is tried again by the next caller.
    p.catch(() => done.delete(store));
  }
  return p;
}

async function collect(
  store: KvStore,
  gte: string,
  lt: string,
  opts?: ReadOptions,
): Promise<[Uint8Array, Uint8Array][]> {
  const out: [Uint8Array, Uint8Array][] = [];
  const it = store.scan({ gte, lt }, opts);
  try {
    for (let e = await it.next(); e; e = await it.next()) out.push(e);
  } finally {
    await it.close();
  }
  return out;
}

async function migrate(store: KvStore): Promise<number> {
  let moved = 0;
  // Every client's first open or listing runs this scan, so it reads as the metadata reads that follow
  // it do (leader-first): with a partition's leader dead and not yet replaced, a scan of the leaders
  // would wait out the failover (5-7 s for each new client: each CLI command, a node's first POST
  // /df/sql) before `df ls` or `df show` could answer from the followers. Version-1 records are no
  // longer written, so a follower's copy of them is as good as the leader's.
  for (const [key, value] of await collect(store, V1_META, V1_META_END, { read: 'leader-first' })) {
    const name = fromUtf8(key).slice(V1_META.length);
    let version: string;
    try {
      version = decodeMeta(value, name).version;
    } catch {
      continue; // not a frame's metadata: a user's key
    }
    const chunkPrefix = `${V1_CHUNK}${name}/`;
    const all = await collect(store, chunkPrefix, `${V1_CHUNK}${name}0`);
    const ours = all.filter(([k]) => V1_CHUNK_KEY.test(fromUtf8(k)));
    const newMeta = utf8(LAYOUT_PREFIX + fromUtf8(key).slice('df/'.length));
    if ((await store.get(newMeta)) === undefined) {
      const current = ours.filter(([k]) => fromUtf8(k).startsWith(`${chunkPrefix}${version}/`));
      for (const [k, v] of current) await store.put(utf8(LAYOUT_PREFIX + fromUtf8(k).slice('df/'.length)), v);
      await store.put(newMeta, value);
    }
    await store.del(key);
    for (const [k] of ours) await store.del(k);
    moved++;
  }
  return moved;
}
