// The audit log (auth.audit): one line for every write and admin action, saying who (the token's
// name, or the node), with which role, what (method and route, never the key or value) and how it
// ended. Lines go to the node's log with `audit: true`, so they can be filtered out of it.
// The log itself never holds a token, a secret or a value: redactPaths() is given to pino.

import type { Logger } from 'pino';
import type { Need } from './roles.js';
import type { Principal } from './tokens.js';

export interface AuditEvent {
  who: Principal | undefined;
  need: Need;
  method: string;
  route: string;
  status: number;
  remote?: string | undefined;
}

/** Whether an action is audited: writes and admin actions (reads are not: they change nothing). */
export function audited(need: Need): boolean {
  return need === 'write' || need === 'admin' || need === 'node';
}

export function auditLine(e: AuditEvent): Record<string, unknown> {
  const who = e.who;
  return {
    audit: true,
    who: who ? (who.kind === 'node' ? `node:${who.node}` : who.name) : 'anonymous',
    role: who ? (who.kind === 'node' ? 'node' : who.role) : 'none',
    method: e.method,
    route: e.route,
    status: e.status,
    ...(e.remote ? { remote: e.remote } : {}),
  };
}

export class AuditLog {
  constructor(
    private readonly log: Logger,
    private readonly enabled: boolean,
  ) {}

  record(e: AuditEvent): void {
    if (this.enabled && audited(e.need)) this.log.info(auditLine(e), 'audit');
  }
}

/** Fields pino must never print: credentials in headers and request bodies, secrets, values. */
export const REDACT_PATHS = [
  'authorization',
  'token',
  'secret',
  'value',
  'headers.authorization',
  'req.headers.authorization',
  'req.headers.cookie',
  '*.authorization',
  '*.token',
  '*.secret',
  '*.value',
  'body',
  '*.body',
];
