// The command line's HTTP calls to a cluster, through node:http rather than fetch: fetch decodes a
// stored Content-Encoding (`eau2 get` must print the stored bytes, as curl does), normalises `.`
// and `..` path segments (keys must reach the node as given), and loses the node's answer when it
// refuses an upload (413) and closes the connection while the body is still being sent. Several
// endpoints may be given (`--url a,b`, EAU2_URL): each is tried in turn while none can be reached.

import http from 'node:http';
import https from 'node:https';
import { CliError, EXIT } from './cli-errors.js';

export interface Reply {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: Buffer;
  /** The endpoint that answered. */
  base: URL;
}

const DEFAULT_URL = 'http://127.0.0.1:7101';

/** `--url a,b` (or $EAU2_URL, else eau2 local's first node): the endpoints, each checked. */
export function endpoints(option: string | undefined): URL[] {
  const text = option ?? process.env.EAU2_URL ?? DEFAULT_URL;
  const out: URL[] = [];
  for (const part of text.split(',').map((s) => s.trim())) {
    let u: URL;
    try {
      u = new URL(part);
    } catch {
      throw new CliError(
        `bad --url "${part}": give http://HOST:PORT of any node (several separated by commas)`,
        EXIT.USAGE,
      );
    }
    if (u.protocol !== 'http:' && u.protocol !== 'https:')
      throw new CliError(`bad --url "${part}": only http:// and https:// addresses`, EXIT.USAGE);
    out.push(u);
  }
  if (out.length === 0) throw new CliError('--url is empty', EXIT.USAGE);
  return out;
}

/** A percent-encoded path segment for any bytes: `.` too, so `.` and `..` stay keys. */
export function segment(bytes: Uint8Array): string {
  let s = '';
  for (const x of bytes) {
    const ch = String.fromCharCode(x);
    s += /[A-Za-z0-9\-_~]/.test(ch) ? ch : `%${x.toString(16).toUpperCase().padStart(2, '0')}`;
  }
  return s;
}

const UNREACHABLE = new Set(['ECONNREFUSED', 'ENOTFOUND', 'EHOSTUNREACH', 'ENETUNREACH', 'EAI_AGAIN', 'ECONNRESET']);

export interface Credentials {
  token?: string;
  ca?: Buffer;
}

function once(
  base: URL,
  method: string,
  path: string,
  body: Uint8Array | undefined,
  headers: Record<string, string>,
  auth: Credentials,
): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const mod = base.protocol === 'https:' ? https : http;
    const basePath = base.pathname.replace(/\/$/, '');
    const req = mod.request({
      host: base.hostname,
      port: base.port || (base.protocol === 'https:' ? 443 : 80),
      method,
      path: basePath + path,
      headers: {
        ...headers,
        ...(body ? { 'content-length': String(body.length) } : {}),
        ...(auth.token ? { authorization: `Bearer ${auth.token}` } : {}),
      },
      ...(auth.ca ? { ca: auth.ca } : {}),
      agent: false,
      timeout: 30_000,
    });
    let answered = false;
    req.on('response', (res) => {
      answered = true;
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () =>
        resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks), base }),
      );
      res.on('error', reject);
    });
    req.on('timeout', () => req.destroy(Object.assign(new Error('no answer within 30 s'), { code: 'ETIMEDOUT' })));
    req.on('error', (e) => {
      // A node refusing an upload answers first, then closes the connection under the rest of the
      // body: the answer is what counts.
      if (!answered) reject(e);
    });
    req.end(body);
  });
}

/** One request, to the first endpoint that can be reached. */
export async function request(
  bases: URL[],
  method: string,
  path: string,
  body?: Uint8Array,
  headers: Record<string, string> = {},
  auth: Credentials = {},
): Promise<Reply> {
  const failures: string[] = [];
  for (const base of bases) {
    try {
      return await once(base, method, path, body, headers, auth);
    } catch (e) {
      const err = e as NodeJS.ErrnoException;
      failures.push(`${base.host}: ${err.code ?? err.message}`);
      if (!UNREACHABLE.has(err.code ?? '') && err.code !== 'ETIMEDOUT' && err.code !== 'EPIPE') break;
    }
  }
  throw new CliError(
    `cannot reach the cluster (${failures.join('; ')}); is it running? (npm start starts one; --url or EAU2_URL picks the nodes)`,
  );
}

/** The node's JSON error body, or undefined when the answer is not an eau2 error. */
function eau2Error(r: Reply): { code: string; message: string } | undefined {
  if (!String(r.headers['content-type'] ?? '').startsWith('application/json')) return undefined;
  try {
    const j = JSON.parse(r.body.toString('utf8')) as { code?: unknown; message?: unknown };
    if (typeof j.code === 'string' && typeof j.message === 'string') return { code: j.code, message: j.message };
  } catch {
    // not JSON
  }
  return undefined;
}

/**
 * Throws a CliError for anything but a 2xx: the node's own error (`404 NOT_FOUND: no such key`), or
 * when what answered is not an eau2 node (a 404 from some other server is not "key not found").
 */
export function check(r: Reply, what: string): Reply {
  if (r.status >= 200 && r.status < 300) return r;
  const e = eau2Error(r);
  if (!e)
    throw new CliError(
      `${r.base.origin} is not an eau2 node (it answered ${r.status} ${String(r.headers['content-type'] ?? 'without a type')} to ${what})`,
    );
  if (e.code === 'NOT_FOUND' && r.status === 404) throw new CliError(`not found (${e.message})`);
  if (r.status === 401)
    throw new CliError(`401 ${e.code}: ${e.message} (give a token with --token or $EAU2_TOKEN; docs/security.md)`);
  throw new CliError(`${r.status} ${e.code}: ${e.message}`);
}
