// WordCount: counts the words of a generated text file. The file is streamed into a one-column frame,
// the count is a group-by pushed to wherever the chunks live, and the result is stored as a frame of
// its own. It is checked against a plain in-memory count of the same file.

import { createReadStream, createWriteStream } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { once } from 'node:events';
import type { KvStore } from '../../kv/index.js';
import { DataFrame } from '../../dataframe/index.js';
import { timed, type AppOptions, type AppResult } from './app.js';
import { Rng, chooseSeed } from './random.js';

const SEPARATORS = [' ', ' ', ' ', '  ', '\n', '\t'];

/** Writes `words` words drawn with a skewed distribution from a vocabulary of `vocab` words. */
async function generateText(path: string, words: number, vocab: number, rng: Rng): Promise<void> {
  const dict = Array.from({ length: vocab }, (_, i) => rng.word(rng.int(1, 8)) + (i % 7 === 0 ? String(i) : ''));
  const out = createWriteStream(path);
  let buf = '';
  for (let i = 0; i < words; i++) {
    buf += dict[rng.skewed(vocab)]! + rng.pick(SEPARATORS);
    if (buf.length > 1 << 16) {
      if (!out.write(buf)) await once(out, 'drain');
      buf = '';
    }
  }
  out.end(buf);
  await once(out, 'finish');
}

/** Streams the words of a file into frame `name` (one S column, "word"). */
async function loadWords(store: KvStore, name: string, path: string): Promise<number> {
  const w = await DataFrame.writer(store, name, { word: 'S' });
  let carry = '';
  try {
    for await (const chunk of createReadStream(path, { encoding: 'utf8' })) {
      const parts = (carry + (chunk as string)).split(/\s+/);
      carry = parts.pop()!; // may be a word cut at the buffer edge
      const words = parts.filter((p) => p !== '');
      if (words.length) await w.appendColumns({ word: words });
    }
    if (carry !== '') await w.append([carry]);
  } catch (e) {
    await w.abort();
    throw e;
  }
  return (await w.close()).nrows;
}

export async function wordCount(
  store: KvStore,
  opts: AppOptions & { words?: number; vocab?: number; dir?: string } = {},
): Promise<AppResult> {
  const seed = opts.seed ?? chooseSeed();
  const rng = new Rng(seed);
  const words = opts.words ?? 500_000;
  const vocab = opts.vocab ?? 20_000;
  return timed('WordCount', async () => {
    const dir = opts.dir ?? (await mkdtemp(join(tmpdir(), 'eau2-wc-')));
    const path = join(dir, 'words.txt');
    try {
      await generateText(path, words, vocab, rng);
      const loaded = await loadWords(store, 'wc-words', path);
      const frame = await DataFrame.get(store, 'wc-words');
      const counts = await frame.groupBy('word').agg({ '*': 'count' });
      await DataFrame.put(store, 'wc-counts', counts);

      // The independent check: a plain Map over the same file.
      const expected = new Map<string, number>();
      for (const w of (await readFile(path, 'utf8')).split(/\s+/))
        if (w !== '') expected.set(w, (expected.get(w) ?? 0) + 1);
      const problems: string[] = [];
      if (loaded !== words) problems.push(`loaded ${loaded} words, generated ${words}`);
      if (counts.nrows !== expected.size) problems.push(`${counts.nrows} distinct words, expected ${expected.size}`);
      const word = counts.column('word', 'S');
      const count = counts.column('count', 'D');
      for (let i = 0; i < counts.nrows && problems.length < 5; i++) {
        const want = expected.get(word.values[i]!);
        if (want !== count.values[i]) problems.push(`"${word.values[i]}" counted ${count.values[i]}, expected ${want}`);
      }
      const top = counts
        .toObjects()
        .sort((a, b) => (b.count as number) - (a.count as number))
        .slice(0, 3);
      opts.log?.(
        `WordCount: ${loaded} words, ${counts.nrows} different (seed ${seed}); most common: ${top.map((t) => `${String(t.word)} ${String(t.count)}`).join(', ')}`,
      );
      return {
        ok: problems.length === 0,
        summary: problems.length
          ? `${problems.join('; ')} (seed ${seed})`
          : `${loaded} words, ${counts.nrows} different words, every count checked (seed ${seed})`,
      };
    } finally {
      if (!opts.dir) await rm(dir, { recursive: true, force: true });
    }
  });
}
