// HTTP helpers for the cluster tests: raw key paths, and full per-partition dumps of a node's own
// copy (read=local), used to compare a follower's partitions with its leader's byte for byte.

import { partitionOf } from '../../../kv/index.js';

export function keyPath(key: string | Uint8Array): string {
  const b = typeof key === 'string' ? Buffer.from(key) : Buffer.from(key);
  return `/kv/${[...b].map((x) => `%${x.toString(16).padStart(2, '0')}`).join('')}`;
}

export async function put(
  url: string,
  key: string | Uint8Array,
  value: string | Uint8Array,
  q = '',
  headers: Record<string, string> = {},
): Promise<Response> {
  return fetch(url + keyPath(key) + q, {
    method: 'PUT',
    body: typeof value === 'string' ? Buffer.from(value) : value,
    headers,
  });
}

export async function get(
  url: string,
  key: string | Uint8Array,
  q = '',
): Promise<{ status: number; body: string; headers: Headers }> {
  const r = await fetch(url + keyPath(key) + q);
  return { status: r.status, body: await r.text(), headers: r.headers };
}

/** Every key -> value (hex) this node holds, by partition, read from its own copy. */
export async function dumpLocal(url: string, partitions: number): Promise<Map<number, Map<string, string>>> {
  const out = new Map<number, Map<string, string>>();
  let start: string | undefined;
  for (;;) {
    const r = await fetch(`${url}/kv?read=local&values=true&limit=10000${start ? `&start=${start}` : ''}`);
    if (r.status !== 200) throw new Error(`scan answered ${r.status}: ${await r.text()}`);
    const j = (await r.json()) as { items: { hex: string; value64: string }[]; next: string | null };
    for (const it of j.items) {
      const p = partitionOf(Buffer.from(it.hex, 'hex'), partitions);
      let m = out.get(p);
      if (!m) out.set(p, (m = new Map()));
      m.set(it.hex, Buffer.from(it.value64, 'base64').toString('hex'));
    }
    if (!j.next) return out;
    start = j.next;
  }
}

export async function clusterInfo(url: string): Promise<{
  partitions: {
    partition: number;
    leader: string;
    lsn: number | null;
    followers: { id: string; lsn: number | null; lag: number | null }[];
  }[];
  nodes: { id: string; status: string }[];
}> {
  return (await fetch(`${url}/cluster`)).json() as never;
}
