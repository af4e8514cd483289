// Bearer tokens and their roles (docs/security.md). The config holds only each token's SHA-256, so
// a leaked config file grants nothing; a presented token is hashed and compared with every known
// hash in constant time (timingSafeEqual over fixed-length digests, and no early exit), so neither
// the comparison nor the lookup tells an attacker how much of a guess was right.

import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';

export const ROLES = ['read', 'write', 'admin'] as const;
export type Role = (typeof ROLES)[number];

/** What a caller proved: a token's name and role, or (peer port only) a cluster member. */
export type Principal = { kind: 'token'; name: string; role: Role } | { kind: 'node'; node: string };

export interface TokenEntry {
  name: string;
  /** Lower-case hex of the token's SHA-256 (64 characters). */
  sha256: string;
  role: Role;
}

const RANK: Record<Role, number> = { read: 1, write: 2, admin: 3 };

/** True when `have` includes everything `need` may do (admin > write > read). */
export function roleAllows(have: Role, need: Role): boolean {
  return RANK[have] >= RANK[need];
}

export function isRole(v: unknown): v is Role {
  return typeof v === 'string' && (ROLES as readonly string[]).includes(v);
}

export function sha256Hex(token: string): string {
  return createHash('sha256').update(token, 'utf8').digest('hex');
}

/** Tokens are 32 random bytes, base64url, with a prefix that makes them easy to find in a leak scan. */
const TOKEN_PREFIX = 'eau2_';

function newToken(): string {
  return TOKEN_PREFIX + randomBytes(32).toString('base64url');
}

/** `eau2 token create`: a new token and the config entry that admits it. */
export function createToken(role: Role, name: string): { token: string; entry: TokenEntry } {
  if (!isRole(role)) throw new TypeError(`role must be one of ${ROLES.join(', ')}`);
  if (typeof name !== 'string' || !/^[A-Za-z0-9_.@-]{1,64}$/.test(name))
    throw new TypeError('token name must match [A-Za-z0-9_.@-]{1,64}');
  const token = newToken();
  return { token, entry: { name, sha256: sha256Hex(token), role } };
}

/** The longest token looked at: anything longer is refused without hashing megabytes. */
const MAX_TOKEN_CHARS = 512;

export class TokenSet {
  private readonly entries: { name: string; digest: Buffer; role: Role }[];

  constructor(entries: readonly TokenEntry[]) {
    this.entries = entries.map((e) => ({ name: e.name, role: e.role, digest: Buffer.from(e.sha256, 'hex') }));
  }

  get size(): number {
    return this.entries.length;
  }

  /** The principal a token stands for, or undefined when nobody issued it. */
  verify(token: string | undefined): (Principal & { kind: 'token' }) | undefined {
    if (typeof token !== 'string' || token.length === 0 || token.length > MAX_TOKEN_CHARS) return undefined;
    const digest = createHash('sha256').update(token, 'utf8').digest();
    let found: { name: string; role: Role } | undefined;
    // Every entry is compared, found or not, so the time taken does not depend on which one matched.
    for (const e of this.entries) if (timingSafeEqual(digest, e.digest) && !found) found = e;
    return found && { kind: 'token', name: found.name, role: found.role };
  }
}

/** The token of an `Authorization: Bearer <token>` header value, or undefined. */
export function bearerToken(header: string | string[] | undefined): string | undefined {
  const v = Array.isArray(header) ? header[0] : header;
  if (typeof v !== 'string') return undefined;
  const m = /^Bearer[ ]+([^\s]+)[ ]*$/i.exec(v);
  return m ? m[1] : undefined;
}
