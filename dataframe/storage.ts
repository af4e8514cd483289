// Frame-level operations on a KvStore that need no decoded data: reading and listing metadata,
// choosing a new version, removing old versions, deleting frames, waiting for a frame to appear.
// See docs/dataframe.md "Publishing" for why the order of these steps keeps readers safe.

import type { KvStore, ReadOptions } from '../kv/index.js';
import { fromUtf8 } from '../kv/index.js';
import { Eau2Error, ErrorCode } from '../kv/index.js';
import {
  META_END,
  META_PREFIX,
  checkName,
  frameChunkEnd,
  frameChunkPrefix,
  metaKey,
  parseChunkKey,
  versionChunkEnd,
  versionChunkPrefix,
  versionCounter,
  chunkKey,
  type ParsedChunkKey,
} from './layout.js';
import { ensureLayout } from './layout-migration.js';
import { decodeMeta, frameInfo, type FrameInfo, type FrameMeta } from './meta.js';
import { forEachLimit } from './pool.js';

export async function readMeta(store: KvStore, name: string, opts?: ReadOptions): Promise<FrameMeta | undefined> {
  await ensureLayout(store);
  const v = await store.get(metaKey(checkName(name)), opts);
  return v === undefined ? undefined : decodeMeta(v, name);
}

/**
 * For readers: the published metadata, from the leader of its partition while it answers, else from
 * a replica that is up (leader-first), so a frame opens with a node down. Writers use readMeta.
 */
export async function requireMeta(store: KvStore, name: string): Promise<FrameMeta> {
  const m = await readMeta(store, name, { read: 'leader-first' });
  if (!m) throw new Eau2Error(ErrorCode.NOT_FOUND, `no dataframe named ${JSON.stringify(name)}`, { details: { name } });
  return m;
}

/** Every published frame; each partition read leader-first, as requireMeta. */
export async function listFrames(store: KvStore): Promise<FrameInfo[]> {
  await ensureLayout(store);
  const out: FrameInfo[] = [];
  const it = store.scan({ gte: META_PREFIX, lt: META_END }, { read: 'leader-first' });
  try {
    for (let e = await it.next(); e; e = await it.next()) {
      const name = fromUtf8(e[0]).slice(META_PREFIX.length);
      out.push(frameInfo(decodeMeta(e[1], name)));
    }
  } finally {
    await it.close();
  }
  return out;
}

/** The first chunk key in [gte, lt) (or the last, with reverse), parsed; reads one value. */
async function firstChunkKey(
  store: KvStore,
  gte: string,
  lt: string,
  reverse = false,
): Promise<ParsedChunkKey | undefined> {
  const it = store.scan({ gte, lt, reverse, limit: 1 });
  try {
    const e = await it.next();
    if (!e) return undefined;
    const k = fromUtf8(e[0]);
    const p = parseChunkKey(k);
    if (!p)
      throw new Eau2Error(ErrorCode.CORRUPTION, `unexpected key ${k} among dataframe chunks`, { details: { key: k } });
    return p;
  } finally {
    await it.close();
  }
}

/**
 * The counter for a new version of `name`: above both the published version and any unpublished
 * chunks (a crashed writer's), so that the post-publish sweep can remove every one of those.
 */
export async function nextVersionCounter(store: KvStore, name: string): Promise<number> {
  const cur = await readMeta(store, name);
  const top = await firstChunkKey(store, frameChunkPrefix(name), frameChunkEnd(name), true);
  return Math.max(cur ? versionCounter(cur.version) : 0, top ? versionCounter(top.version) : 0) + 1;
}

/**
 * Deletes every chunk of one version without reading them: the last key (one reverse scan) gives the
 * highest chunk and column numbers, and keys below are computed. Row-chunks go in one batch each, as
 * they share a partition.
 */
export async function deleteVersion(store: KvStore, name: string, version: string, concurrency = 8): Promise<void> {
  const lo = versionChunkPrefix(name, version);
  const hi = versionChunkEnd(name, version);
  for (;;) {
    const last = await firstChunkKey(store, lo, hi, true);
    if (!last) return;
    await forEachLimit(last.chunk + 1, concurrency, (i) =>
      store.batch(
        Array.from({ length: last.col + 1 }, (_, c) => ({ type: 'del' as const, key: chunkKey(name, version, i, c) })),
      ),
    );
    // Loop: a straggling write of a dying writer could land after the reverse scan; go until empty.
  }
}

/** Deletes all versions of `name` whose counter is below `belowCounter`, oldest first. */
export async function sweepVersions(
  store: KvStore,
  name: string,
  belowCounter: number,
  concurrency = 8,
): Promise<number> {
  let from = frameChunkPrefix(name);
  const end = frameChunkEnd(name);
  let removed = 0;
  for (;;) {
    const first = await firstChunkKey(store, from, end);
    if (!first || versionCounter(first.version) >= belowCounter) return removed;
    await deleteVersion(store, name, first.version, concurrency);
    removed++;
    from = versionChunkEnd(name, first.version);
  }
}

/** Unpublishes `name` (readers stop seeing it at once), then deletes all its chunks. */
export async function deleteFrame(store: KvStore, name: string): Promise<boolean> {
  return (await removeFrame(store, name)).published;
}

/**
 * deleteFrame, telling what went: whether a frame was published, and how many versions of chunks
 * were deleted (the published one and any left unpublished by an interrupted import).
 */
export async function removeFrame(store: KvStore, name: string): Promise<{ published: boolean; versions: number }> {
  const cur = await readMeta(store, checkName(name));
  await store.del(metaKey(name));
  const versions = await sweepVersions(store, name, Number.POSITIVE_INFINITY);
  return { published: cur !== undefined, versions };
}

/** Polls for `name` with exponential backoff (2 ms up to 100 ms) until published or `timeoutMs` passes. */
export async function waitForMeta(store: KvStore, name: string, timeoutMs: number): Promise<FrameMeta> {
  if (!(timeoutMs >= 0)) throw new TypeError('timeoutMs must be a number >= 0');
  const deadline = Date.now() + timeoutMs;
  let delay = 2;
  for (;;) {
    const m = await readMeta(store, name);
    if (m) return m;
    const left = deadline - Date.now();
    if (left <= 0) {
      throw new Eau2Error(
        ErrorCode.TIMEOUT,
        `dataframe ${JSON.stringify(name)} did not appear within ${timeoutMs} ms`,
        {
          details: { name, timeoutMs },
        },
      );
    }
    await new Promise((r) => setTimeout(r, Math.min(delay, left)));
    delay = Math.min(delay * 2, 100);
  }
}
