// Talking to the node that served the console: every request carries the token the user gave (kept
// in this tab's sessionStorage only), and errors come back as ApiError with the API's code.

const TOKEN_KEY = 'eau2.token';

export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

let onUnauthenticated: () => void = () => {};

export function setUnauthenticatedHandler(f: () => void): void {
  onUnauthenticated = f;
}

export function token(): string | null {
  return sessionStorage.getItem(TOKEN_KEY);
}

export function setToken(t: string | null): void {
  if (t) sessionStorage.setItem(TOKEN_KEY, t);
  else sessionStorage.removeItem(TOKEN_KEY);
}

export async function request(path: string, init: RequestInit = {}): Promise<Response> {
  const headers = new Headers(init.headers);
  const t = token();
  if (t) headers.set('authorization', `Bearer ${t}`);
  const r = await fetch(path, { ...init, headers, cache: 'no-store' });
  if (r.status === 401) onUnauthenticated();
  if (!r.ok) {
    let code = '';
    let message = `${r.status} ${r.statusText}`;
    try {
      const body = (await r.json()) as { code?: string; message?: string };
      code = body.code ?? '';
      if (body.message) message = `${code}: ${body.message}`;
    } catch {
      // not JSON
    }
    throw new ApiError(r.status, code, message);
  }
  return r;
}

export async function getJson<T>(path: string): Promise<T> {
  return (await (await request(path)).json()) as T;
}

/** Percent-encodes every byte of a key given as hex, so any key (binary too) reaches /kv/<key>. */
export function keyPathFromHex(hex: string): string {
  return hex.replace(/../g, (b) => `%${b.toUpperCase()}`);
}

export function keyPathFromText(s: string): string {
  return [...new TextEncoder().encode(s)].map((b) => `%${b.toString(16).padStart(2, '0').toUpperCase()}`).join('');
}

// The JSON shapes read from the node (docs/api.md).

interface ClusterNode {
  id: string;
  address: string;
  status: string;
  health: { status: string; diskFreeBytes?: number } | null;
}

interface ClusterPartition {
  partition: number;
  leader: string;
  /** With failover: the partition's epoch and in-sync replicas. */
  epoch?: number;
  isr?: string[];
  lsn: number | null;
  followers: { id: string; lsn: number | null; lag: number | null; lagSeconds: number | null; state?: string }[];
}

export interface ClusterStatus {
  epoch: number;
  self: string;
  coordinator?: string;
  partitionCount: number;
  replicationFactor: number;
  nodes: ClusterNode[];
  partitions: ClusterPartition[];
}

export interface NodeStats {
  node: string;
  version: string;
  uptimeSeconds: number;
  memory: { rss: number; heapUsed: number };
  disk: { tablesBytes: number | null; freeBytes: number | null; low: boolean };
  health: { status: string };
  leads: number[];
  follows: number[];
  engine: {
    levels: { level: number; files: number; bytes: number; compactionScore: number }[];
    memtableBytes: number | null;
    immutableMemtables: number | null;
    writeAmplification: number | null;
    flushes: number | null;
    compactions: number | null;
    stallMs: number | null;
    blockCacheHitRate: number | null;
    blockCacheBytes: number | null;
    blockCacheCapacity: number | null;
    lastSequence: number | null;
  };
}

export interface Series {
  intervalMs: number;
  t: number[];
  routes: Record<string, { rps: number[]; p50: (number | null)[]; p99: (number | null)[] }>;
  lag: Record<string, { entries: (number | null)[]; seconds: (number | null)[] }>;
  engine: Record<string, (number | null)[]>;
}

export interface Whoami {
  auth: boolean;
  name: string | null;
  role: 'read' | 'write' | 'admin';
  node: string;
}
