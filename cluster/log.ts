// Structured logs (pino, JSON lines on stderr). The level comes from the caller, else EAU2_LOG_LEVEL,
// else "info"; tests run nodes with "warn" or "silent" so their output stays readable.

import { pino, type Logger } from 'pino';
import { REDACT_PATHS } from './security/audit.js';

export type { Logger };

export function createLogger(opts: { level?: string; name?: string; bindings?: Record<string, unknown> } = {}): Logger {
  const level = opts.level ?? process.env.EAU2_LOG_LEVEL ?? 'info';
  // Credentials, secrets and values are never written, whoever logs an object holding them.
  return pino(
    {
      level,
      name: opts.name ?? 'eau2',
      base: { pid: process.pid, ...opts.bindings },
      redact: { paths: REDACT_PATHS, censor: '[redacted]' },
    },
    pino.destination(2),
  );
}
