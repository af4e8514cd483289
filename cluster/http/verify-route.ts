// GET /cluster/verify (docs/api.md): compares the replicas of every partition, or of one, and answers
// with the report of verify-compare.ts. An admin route: it reads every replica's whole copy.

import type { ServerResponse } from 'node:http';
import { verifyCluster, type VerifyHost } from '../node/verify-compare.js';
import { badRequest, parseQuery, sendJson } from './http-util.js';

function intOption(q: Map<string, string>, name: string, min: number, max: number): number | undefined {
  const v = q.get(name);
  if (v === undefined) return undefined;
  if (!/^[0-9]{1,6}$/.test(v) || Number(v) < min || Number(v) > max)
    throw badRequest(`${name} must be an integer in [${min}, ${max}], got "${v.slice(0, 32)}"`);
  return Number(v);
}

export async function handleVerify(host: VerifyHost, res: ServerResponse, qs: string): Promise<number> {
  const q = parseQuery(qs, ['partition', 'fanout', 'attempts']);
  const p = intOption(q, 'partition', 0, host.topology().partitions - 1);
  const report = await verifyCluster(host, {
    partitions: p === undefined ? undefined : [p],
    fanout: intOption(q, 'fanout', 2, 4096),
    attempts: intOption(q, 'attempts', 1, 100),
  });
  sendJson(res, 200, report);
  return 200;
}
