// Protected mode (Redis's idea): a node whose config makes it listen on an address other hosts can
// reach, with no `auth`, would hand every key to anyone on the network, so it refuses to start
// and says how to fix that. `"insecure": true` in the config is the explicit way to run so anyway.

import { isIP } from 'node:net';
import { Eau2Error, ErrorCode } from '../../kv/index.js';

export function isLoopback(host: string): boolean {
  const h = host.toLowerCase().replace(/^\[|\]$/g, '');
  if (h === 'localhost' || h.endsWith('.localhost')) return true;
  if (isIP(h) === 4) return h.startsWith('127.');
  if (h === '::1' || h === '0:0:0:0:0:0:0:1') return true;
  return h.startsWith('::ffff:127.');
}

/** Throws (INVALID) when node `host` may not start as configured. */
export function checkProtectedMode(
  node: { id: string; host: string },
  cfg: { auth?: unknown; insecure: boolean },
): void {
  if (cfg.auth !== undefined || cfg.insecure || isLoopback(node.host)) return;
  throw new Eau2Error(
    ErrorCode.INVALID,
    `protected mode: node ${node.id} would listen on ${node.host}, which other hosts can reach, and the config has ` +
      'no "auth": anyone who can connect could read, change and delete every key and join the replication. ' +
      'Either add "auth" (a peer secret file and tokens: see docs/security.md; `eau2 token create --role admin` ' +
      'makes a token), or listen on 127.0.0.1, or set "insecure": true in the config to run unprotected anyway.',
  );
}
