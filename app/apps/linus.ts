// Seven degrees of Linus: who worked on a project with someone who worked on a project with ... Linus?
// Projects, users and commits are generated tables stored as frames; each degree is two pushed-down
// queries over the commits (projects touched by the last degree's users, then the users of those
// projects), and the answer per degree is checked against a plain breadth-first search in memory.

import type { KvStore } from '../../kv/index.js';
import { DataFrame } from '../../dataframe/index.js';
import type { LazyFrame } from '../../dataframe/index.js';
import { col, isIn } from '../../dataframe/index.js';
import { timed, type AppOptions, type AppResult } from './app.js';
import { Rng, chooseSeed } from './random.js';

export interface LinusOptions extends AppOptions {
  users?: number;
  projects?: number;
  commits?: number;
  degrees?: number;
}

const LINUS = 0;

/**
 * Generated tables. Commits pick projects and users uniformly with ~1.2 commits per user and ~3 per
 * project: sparse enough that the circle around Linus keeps growing for all seven degrees.
 */
export function generateLinusData(rng: Rng, users: number, projects: number, commits: number) {
  const pid = new Int32Array(commits);
  const uid = new Int32Array(commits);
  for (let i = 0; i < commits; i++) {
    pid[i] = rng.int(0, projects - 1);
    uid[i] = i < 3 ? LINUS : rng.int(0, users - 1); // Linus gets a few commits of his own
  }
  return {
    projects: DataFrame.fromColumns({
      pid: Int32Array.from({ length: projects }, (_, i) => i),
      name: Array.from({ length: projects }, (_, i) => `project-${i}`),
    }),
    users: DataFrame.fromColumns({
      uid: Int32Array.from({ length: users }, (_, i) => i),
      name: Array.from({ length: users }, (_, i) => (i === LINUS ? 'torvalds' : `user-${i}`)),
    }),
    commits: DataFrame.fromColumns({ pid, uid }),
  };
}

/** New users found at each degree, by plain breadth-first search over the commit pairs. */
export function bfsDegrees(pid: Int32Array, uid: Int32Array, degrees: number): number[] {
  const projectsOf = new Map<number, number[]>();
  const usersOf = new Map<number, number[]>();
  for (let i = 0; i < pid.length; i++) {
    (projectsOf.get(uid[i]!) ?? projectsOf.set(uid[i]!, []).get(uid[i]!)!).push(pid[i]!);
    (usersOf.get(pid[i]!) ?? usersOf.set(pid[i]!, []).get(pid[i]!)!).push(uid[i]!);
  }
  const seenU = new Set([LINUS]);
  const seenP = new Set<number>();
  let frontier = [LINUS];
  const out: number[] = [];
  for (let d = 1; d <= degrees && frontier.length; d++) {
    const ps = new Set<number>();
    for (const u of frontier) for (const p of projectsOf.get(u) ?? []) if (!seenP.has(p)) ps.add(p);
    ps.forEach((p) => seenP.add(p));
    const next = new Set<number>();
    for (const p of ps) for (const u of usersOf.get(p) ?? []) if (!seenU.has(u)) next.add(u);
    next.forEach((u) => seenU.add(u));
    out.push(next.size);
    frontier = [...next];
  }
  return out;
}

/** The same search as queries: each step ships the frontier as an `in` list to where commits live. */
export async function queryDegrees(commits: LazyFrame, degrees: number): Promise<number[]> {
  const seenU = new Set([LINUS]);
  const seenP = new Set<number>();
  let frontier = [LINUS];
  const out: number[] = [];
  for (let d = 1; d <= degrees && frontier.length; d++) {
    const touched = await commits
      .filter(isIn(col('uid'), frontier))
      .groupBy('pid')
      .collect();
    const ps = [...touched.column('pid', 'I').values].filter((p) => !seenP.has(p));
    ps.forEach((p) => seenP.add(p));
    const next: number[] = [];
    if (ps.length) {
      const members = await commits
        .filter(isIn(col('pid'), ps))
        .groupBy('uid')
        .collect();
      for (const u of members.column('uid', 'I').values) if (!seenU.has(u)) seenU.add(u), next.push(u);
    }
    out.push(next.length);
    frontier = next;
  }
  return out;
}

export async function linus(store: KvStore, opts: LinusOptions = {}): Promise<AppResult> {
  const seed = opts.seed ?? chooseSeed();
  const users = opts.users ?? 20_000;
  const projects = opts.projects ?? 8_000;
  const commitCount = opts.commits ?? 24_000;
  const degrees = opts.degrees ?? 7;
  return timed('Linus', async () => {
    const data = generateLinusData(new Rng(seed), users, projects, commitCount);
    await DataFrame.put(store, 'linus-projects', data.projects);
    await DataFrame.put(store, 'linus-users', data.users);
    await DataFrame.put(store, 'linus-commits', data.commits);
    const commits = await DataFrame.get(store, 'linus-commits');
    const got = await queryDegrees(commits, degrees);
    const want = bfsDegrees(data.commits.column('pid', 'I').values, data.commits.column('uid', 'I').values, degrees);
    const ok = JSON.stringify(got) === JSON.stringify(want);
    const reached = got.reduce((a, b) => a + b, 0);
    opts.log?.(`Linus: ${users} users, ${projects} projects, ${commitCount} commits (seed ${seed})`);
    got.forEach((n, i) => opts.log?.(`  degree ${i + 1}: ${n} new users`));
    return {
      ok,
      summary: ok
        ? `${reached} users within ${got.length} degrees of Linus, per degree ${got.join(', ')}; matches BFS (seed ${seed})`
        : `queries found ${got.join(', ')} per degree, BFS found ${want.join(', ')} (seed ${seed})`,
    };
  });
}
