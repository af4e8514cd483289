// The security sections of the cluster config (docs/operations.md, docs/security.md): `auth`
// (tokens by SHA-256 and role, the file holding the peer secret, the audit switch), `tls` (paths of
// the node's certificate, key and the cluster CA), `insecure` (leave protected mode) and `limits`.
// Files are read at load time so a missing or unreadable one stops the node at start-up.

import { readFileSync } from 'node:fs';
import { isAbsolute, resolve } from 'node:path';
import { Eau2Error, ErrorCode } from '../../kv/index.js';
import { LIMIT_DEFAULTS, LIMIT_RANGES, type Limits } from './limits.js';
import type { TlsMaterial } from './tls.js';
import { isRole, type TokenEntry } from './tokens.js';

interface AuthConfig {
  tokens: TokenEntry[];
  /** Absolute path of the file holding the cluster's shared peer secret. */
  peerSecretFile: string;
  /** The secret's bytes (never logged, never in the config itself). */
  peerSecret: Buffer;
  audit: boolean;
}

interface TlsConfig extends TlsMaterial {
  certFile: string;
  keyFile: string;
  caFile: string;
}

export interface SecurityConfig {
  auth?: AuthConfig;
  tls?: TlsConfig;
  insecure: boolean;
  limits: Limits;
}

export const SECURITY_FIELDS = ['auth', 'tls', 'insecure', 'limits'] as const;

/** The shortest peer secret accepted, in bytes (`eau2 local --secure` writes 32 random bytes, hex). */
const MIN_SECRET_BYTES = 16;

function invalid(msg: string): Eau2Error {
  return new Eau2Error(ErrorCode.INVALID, `cluster config: ${msg}`);
}

function obj(v: unknown, name: string): Record<string, unknown> {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) throw invalid(`${name} must be an object`);
  return v as Record<string, unknown>;
}

function known(o: Record<string, unknown>, name: string, fields: readonly string[]): void {
  for (const k of Object.keys(o)) if (!fields.includes(k)) throw invalid(`${name}: unknown field "${k}"`);
}

function path(v: unknown, name: string, baseDir: string): string {
  if (typeof v !== 'string' || v.length === 0) throw invalid(`${name} must be a file path`);
  return isAbsolute(v) ? v : resolve(baseDir, v);
}

function readFile(file: string, name: string): Buffer {
  try {
    return readFileSync(file);
  } catch (e) {
    throw new Eau2Error(ErrorCode.IO, `cluster config: cannot read ${name} ${file}: ${(e as Error).message}`, {
      cause: e,
    });
  }
}

function parseAuth(v: unknown, baseDir: string): AuthConfig {
  const o = obj(v, 'auth');
  known(o, 'auth', ['tokens', 'peerSecretFile', 'audit']);
  const peerSecretFile = path(o.peerSecretFile, 'auth.peerSecretFile', baseDir);
  // A trailing newline (echo > file) is not part of the secret.
  const peerSecret = Buffer.from(
    readFile(peerSecretFile, 'auth.peerSecretFile')
      .toString('latin1')
      .replace(/\r?\n$/, ''),
    'latin1',
  );
  if (peerSecret.length < MIN_SECRET_BYTES)
    throw invalid(`auth.peerSecretFile must hold at least ${MIN_SECRET_BYTES} bytes (e.g. openssl rand -hex 32)`);
  const list = o.tokens ?? [];
  if (!Array.isArray(list)) throw invalid('auth.tokens must be an array');
  const names = new Set<string>();
  const tokens = list.map((t: unknown, i: number): TokenEntry => {
    const r = obj(t, `auth.tokens[${i}]`);
    known(r, `auth.tokens[${i}]`, ['name', 'sha256', 'role']);
    if (typeof r.name !== 'string' || !/^[A-Za-z0-9_.@-]{1,64}$/.test(r.name))
      throw invalid(`auth.tokens[${i}].name must match [A-Za-z0-9_.@-]{1,64}`);
    if (names.has(r.name)) throw invalid(`auth.tokens: duplicate name "${r.name}"`);
    names.add(r.name);
    if (typeof r.sha256 !== 'string' || !/^[0-9a-fA-F]{64}$/.test(r.sha256))
      throw invalid(`auth.tokens[${i}].sha256 must be 64 hex digits (the SHA-256 of the token, not the token)`);
    if (!isRole(r.role)) throw invalid(`auth.tokens[${i}].role must be "read", "write" or "admin"`);
    return { name: r.name, sha256: r.sha256.toLowerCase(), role: r.role };
  });
  if (o.audit !== undefined && typeof o.audit !== 'boolean') throw invalid('auth.audit must be true or false');
  return { tokens, peerSecretFile, peerSecret, audit: o.audit === true };
}

function parseTls(v: unknown, baseDir: string): TlsConfig {
  const o = obj(v, 'tls');
  known(o, 'tls', ['cert', 'key', 'ca']);
  const certFile = path(o.cert, 'tls.cert', baseDir);
  const keyFile = path(o.key, 'tls.key', baseDir);
  const caFile = path(o.ca, 'tls.ca', baseDir);
  return {
    certFile,
    keyFile,
    caFile,
    cert: readFile(certFile, 'tls.cert'),
    key: readFile(keyFile, 'tls.key'),
    ca: readFile(caFile, 'tls.ca'),
  };
}

function parseLimits(v: unknown): Limits {
  const out: Limits = { ...LIMIT_DEFAULTS };
  if (v === undefined) return out;
  const o = obj(v, 'limits');
  known(o, 'limits', Object.keys(LIMIT_DEFAULTS));
  for (const [k, [min, max]] of Object.entries(LIMIT_RANGES) as [keyof Limits, [number, number]][]) {
    const x = o[k];
    if (x === undefined) continue;
    if (typeof x !== 'number' || !Number.isInteger(x) || x < min || x > max)
      throw invalid(`limits.${k} must be an integer in [${min}, ${max}], got ${JSON.stringify(x)}`);
    out[k] = x;
  }
  return out;
}

/** Parses the security fields of a config object (the others are config.ts's). */
export function parseSecurityConfig(o: Record<string, unknown>, baseDir: string): SecurityConfig {
  const out: SecurityConfig = { insecure: false, limits: parseLimits(o.limits) };
  if (o.auth !== undefined) out.auth = parseAuth(o.auth, baseDir);
  if (o.tls !== undefined) out.tls = parseTls(o.tls, baseDir);
  if (o.insecure !== undefined) {
    if (typeof o.insecure !== 'boolean') throw invalid('insecure must be true or false');
    out.insecure = o.insecure;
  }
  return out;
}
