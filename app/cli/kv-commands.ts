// `eau2 put | get | del | scan | status`: a person's tools against a running cluster, over its HTTP
// API (docs/api.md). --url picks the node (any node serves any key); the default is $EAU2_URL, else
// the first node of `eau2 local`.

import type { Command } from 'commander';
import { utf8 } from '../../kv/index.js';
import { readFileSync } from 'node:fs';
import { percentEncode, secureFetch } from '../../cluster/index.js';
import { CliError, EXIT } from './cli-errors.js';

export function defaultUrl(): string {
  return process.env.EAU2_URL ?? 'http://127.0.0.1:7101';
}

export function url(base: string, path: string): string {
  try {
    return new URL(path, base).href;
  } catch {
    throw new CliError(`bad --url "${base}"`, EXIT.USAGE);
  }
}

/** Credentials of a secured cluster (docs/security.md): --token / $EAU2_TOKEN, --ca / $EAU2_CA. */
export interface AuthOpts {
  token?: string;
  ca?: string;
}

/** The token and the CA's PEM from the options or the environment. */
export function credentials(o: AuthOpts): { token?: string; ca?: Buffer } {
  const out: { token?: string; ca?: Buffer } = {};
  const token = o.token ?? process.env.EAU2_TOKEN;
  if (token) out.token = token;
  const ca = o.ca ?? process.env.EAU2_CA;
  if (ca) {
    try {
      out.ca = readFileSync(ca);
    } catch (e) {
      throw new CliError(`cannot read the CA file ${ca}: ${(e as Error).message}`, EXIT.USAGE);
    }
  }
  return out;
}

export async function call(
  method: string,
  target: string,
  body?: Uint8Array,
  headers: Record<string, string> = {},
  auth: AuthOpts = {},
): Promise<Response> {
  let res: Response;
  const { token, ca } = credentials(auth);
  if (token) headers = { ...headers, authorization: `Bearer ${token}` };
  try {
    res = await secureFetch(target, {
      method,
      headers,
      ...(body ? { body } : {}),
      ...(ca ? { ca } : {}),
      signal: AbortSignal.timeout(30_000),
    });
  } catch (e) {
    throw new CliError(
      `cannot reach ${new URL(target).origin}: ${((e as Error).cause as Error)?.message ?? (e as Error).message} (is the cluster running? try: npm start)`,
    );
  }
  if (res.ok) return res;
  const text = await res.text();
  let detail = text;
  try {
    const j = JSON.parse(text) as { code?: string; message?: string };
    detail = `${j.code}: ${j.message}`;
  } catch {
    // not JSON: show as is
  }
  if (res.status === 401)
    throw new CliError(`${res.status} ${detail} (give a token with --token or $EAU2_TOKEN; docs/security.md)`);
  throw new CliError(res.status === 404 && method === 'GET' ? `not found (${detail})` : `${res.status} ${detail}`);
}

async function readStdin(): Promise<Uint8Array> {
  const chunks: Buffer[] = [];
  for await (const c of process.stdin) chunks.push(c as Buffer);
  return Buffer.concat(chunks);
}

export const urlOpt = (c: Command): Command =>
  c
    .option('-u, --url <url>', 'any node of the cluster (default $EAU2_URL or http://127.0.0.1:7101)')
    .option('--token <token>', 'bearer token of a cluster with auth (default $EAU2_TOKEN)')
    .option('--ca <file>', "PEM of the cluster's CA, to verify an HTTPS node (default $EAU2_CA)");

function kvPath(key: string, q: Record<string, string | undefined>): string {
  const qs = Object.entries(q)
    .filter(([, v]) => v !== undefined)
    .map(([k, v]) => `${k}=${encodeURIComponent(v!)}`)
    .join('&');
  return `/kv/${percentEncode(utf8(key))}${qs ? `?${qs}` : ''}`;
}

export function addKvCommands(program: Command): void {
  urlOpt(program.command('put').description('store a value (from the argument, or stdin when omitted)'))
    .argument('<key>', 'the key (UTF-8)')
    .argument('[value]', 'the value; read from stdin when omitted')
    .option('-w, --w <n>', 'replicas that must have the write: 1 (default), 2, ..., or all')
    .option('-t, --content-type <type>', 'Content-Type stored with the value')
    .option('-e, --encoding <enc>', 'Content-Encoding stored with the value')
    .action(
      async (
        key: string,
        value: string | undefined,
        o: AuthOpts & { url?: string; w?: string; contentType?: string; encoding?: string },
      ) => {
        const body = value === undefined ? await readStdin() : utf8(value);
        const headers: Record<string, string> = { 'content-type': o.contentType ?? 'application/octet-stream' };
        if (o.encoding) headers['content-encoding'] = o.encoding;
        await call('PUT', url(o.url ?? defaultUrl(), kvPath(key, { w: o.w })), body, headers, o);
      },
    );

  urlOpt(program.command('get').description('print a value (exit 1 when the key is missing)'))
    .argument('<key>', 'the key (UTF-8)')
    .option('-r, --read <mode>', 'leader (default), follower, any, or local')
    .action(async (key: string, o: AuthOpts & { url?: string; read?: string }) => {
      const res = await call('GET', url(o.url ?? defaultUrl(), kvPath(key, { read: o.read })), undefined, {}, o);
      const v = new Uint8Array(await res.arrayBuffer());
      process.stdout.write(v);
      if (process.stdout.isTTY && v[v.length - 1] !== 0x0a) process.stdout.write('\n');
    });

  urlOpt(program.command('del').description('delete a key'))
    .argument('<key>', 'the key (UTF-8)')
    .option('-w, --w <n>', 'replicas that must have the delete: 1 (default), 2, ..., or all')
    .action(async (key: string, o: AuthOpts & { url?: string; w?: string }) => {
      await call('DELETE', url(o.url ?? defaultUrl(), kvPath(key, { w: o.w })), undefined, {}, o);
    });

  urlOpt(program.command('scan').description('list keys in order, one per line: key<TAB>value'))
    .option('-p, --prefix <prefix>', 'only keys starting with this')
    .option('-s, --start <key>', 'first key (inclusive)')
    .option('-e, --end <key>', 'end key (exclusive)')
    .option('-l, --limit <n>', 'at most this many (1..10000)', '100')
    .option('-r, --read <mode>', 'leader (default), follower, any, or local')
    .option('-k, --keys-only', 'print keys only')
    .action(
      async (
        o: AuthOpts & {
          url?: string;
          prefix?: string;
          start?: string;
          end?: string;
          limit: string;
          read?: string;
          keysOnly?: boolean;
        },
      ) => {
        const q = new URLSearchParams();
        for (const k of ['prefix', 'start', 'end', 'limit', 'read'] as const) if (o[k] !== undefined) q.set(k, o[k]!);
        if (!o.keysOnly) q.set('values', 'true');
        const res = await call('GET', url(o.url ?? defaultUrl(), `/kv?${q}`), undefined, {}, o);
        const j = (await res.json()) as { items: { key: string; value64?: string }[]; next: string | null };
        for (const it of j.items) {
          process.stdout.write(
            o.keysOnly ? `${it.key}\n` : `${it.key}\t${Buffer.from(it.value64 ?? '', 'base64').toString('utf8')}\n`,
          );
        }
        if (j.next) process.stderr.write(`(more: continue with --start "${decodeURIComponent(j.next)}")\n`);
      },
    );

  urlOpt(program.command('status').description("show the nodes and every partition's replication state"))
    .option('--json', 'print GET /cluster as JSON')
    .action(async (o: AuthOpts & { url?: string; json?: boolean }) => {
      const res = await call('GET', url(o.url ?? defaultUrl(), '/cluster'), undefined, {}, o);
      const c = (await res.json()) as ClusterJson;
      if (o.json) {
        process.stdout.write(`${JSON.stringify(c, null, 2)}\n`);
        return;
      }
      process.stdout.write(renderStatus(c));
    });
}

interface ClusterJson {
  epoch: number;
  partitionCount: number;
  replicationFactor: number;
  nodes: { id: string; address: string; status: string }[];
  partitions: {
    partition: number;
    epoch?: number;
    leader: string;
    isr?: string[];
    lsn: number | null;
    followers: { id: string; state?: string; lsn: number | null; lag: number | null }[];
  }[];
}

function renderStatus(c: ClusterJson): string {
  const lines = [
    `epoch ${c.epoch}, ${c.partitionCount} partitions, ${c.replicationFactor} replicas each`,
    '',
    'NODE  ADDRESS                     STATUS',
  ];
  for (const n of c.nodes) lines.push(`${n.id.padEnd(5)} ${n.address.padEnd(27)} ${n.status}`);
  lines.push('', 'PART  EPOCH  LEADER  LSN       IN-SYNC   FOLLOWERS (state, lsn, lag)');
  for (const p of c.partitions) {
    const f = p.followers.map((x) => `${x.id} (${x.state ?? '?'}, ${x.lsn ?? '?'}, ${x.lag ?? '?'})`).join(', ');
    lines.push(
      `${String(p.partition).padEnd(5)} ${String(p.epoch ?? '?').padEnd(6)} ${p.leader.padEnd(7)} ${String(p.lsn ?? '?').padEnd(9)} ${(p.isr ?? []).join(',').padEnd(9)} ${f || '-'}`,
    );
  }
  return `${lines.join('\n')}\n`;
}
