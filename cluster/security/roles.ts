// What each request needs (docs/security.md, "Roles"): `read` reads keys and frames and runs queries,
// `write` also writes and deletes, `admin` also changes the cluster. Messages that only nodes send
// (registration, replication, restore) need a proven cluster member: no token role reaches them.
// Anything not listed needs the most: an unlisted HTTP write needs `admin`, an unlisted peer message
// a member, so a route or message added later is closed until someone decides who may use it.

import { MsgType } from '../protocol/messages.js';
import { type Principal, type Role, roleAllows } from './tokens.js';

export type Need = 'open' | Role | 'node';

/** Paths that change the cluster (membership, moves, verify, backup): admin on every method. */
const ADMIN_PREFIXES = ['/admin', '/verify', '/backup', '/move', '/nodes', '/cluster/'];

export function httpNeed(method: string, path: string): Need {
  if (path === '/healthz') return 'open';
  const reads = method === 'GET' || method === 'HEAD';
  // The console's static files (it asks for a token itself), and GET /: a browser's redirect to them, or
  // the node's description (name, version, id, epoch, links), no more than /healthz tells.
  if (reads && (path === '/' || path === '/ui' || path.startsWith('/ui/'))) return 'open';
  if (ADMIN_PREFIXES.some((p) => path === p || path.startsWith(p.endsWith('/') ? p : `${p}/`))) return 'admin';
  if (path === '/metrics' || path === '/cluster') return reads ? 'read' : 'admin';
  if (path === '/kv' || path === '/kv/' || path.startsWith('/kv/')) return reads ? 'read' : 'write';
  if (path === '/') return method === 'POST' ? 'read' : 'write'; // the seeds' fetch is a POST
  // A SQL query is a read sent as a POST (its text is the body); a join it runs may spill temporary
  // pieces under \0df/t/, which it deletes, as a database's read-only user may spill to temp files.
  if (path === '/df/sql') return method === 'POST' ? 'read' : 'write';
  if (path === '/df' || path.startsWith('/df/')) return reads ? 'read' : 'write';
  return reads ? 'read' : 'admin';
}

const PEER_NEED = new Map<number, Need>([
  [MsgType.TOPOLOGY, 'read'],
  [MsgType.STATUS, 'read'],
  [MsgType.GET, 'read'],
  [MsgType.SCAN, 'read'],
  [MsgType.TASK, 'read'], // the registered tasks are the dataframe layer's queries
  [MsgType.PUT, 'write'],
  [MsgType.DEL, 'write'],
  [MsgType.BATCH, 'write'],
  [MsgType.RMW, 'write'],
]);

export function peerNeed(type: number): Need {
  return PEER_NEED.get(type) ?? 'node';
}

/** Whether `who` (undefined: nobody proved anything) may do what `need` asks. */
export function allowed(who: Principal | undefined, need: Need): boolean {
  if (need === 'open') return true;
  if (!who) return false;
  if (who.kind === 'node') return true;
  return need !== 'node' && roleAllows(who.role, need);
}
