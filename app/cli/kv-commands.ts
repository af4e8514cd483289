// `eau2 put | get | del | scan | status`: a person's tools against a running cluster, over its HTTP
// API (docs/api.md). --url picks the nodes (any node serves any key; several, comma-separated, are
// tried in turn); the default is $EAU2_URL, else the first node of `eau2 local`. Option values are
// checked here, before any request (a usage error exits 2). Keys and values are UTF-8 text, or hex
// with --hex for binary ones; scan escapes what would break its lines, or prints JSON lines.

import { readFileSync } from 'node:fs';
import type { Command } from 'commander';
import { utf8 } from '../../kv/index.js';
import { CliError, EXIT } from './cli-errors.js';
import { check, endpoints, request, segment } from './node-http.js';

const READ_MODES = ['leader', 'follower', 'any', 'local'];

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

function usage(message: string): CliError {
  return new CliError(message, EXIT.USAGE);
}

function parseW(w: string | undefined): string | undefined {
  if (w === undefined || w === 'all' || /^[1-9][0-9]{0,4}$/.test(w)) return w;
  throw usage(`-w must be a positive integer or "all", got "${w}"`);
}

function parseRead(r: string | undefined): string | undefined {
  if (r === undefined || READ_MODES.includes(r)) return r;
  throw usage(`-r must be one of ${READ_MODES.join(', ')}, got "${r}"`);
}

function parseLimit(l: string): number {
  if (!/^[0-9]{1,5}$/.test(l) || Number(l) < 1 || Number(l) > 10_000)
    throw usage(`-l must be an integer from 1 to 10000, got "${l}"`);
  return Number(l);
}

/** A key or value argument: UTF-8 text, or hex digits with --hex. */
function bytesArg(text: string, hex: boolean | undefined, what: string): Uint8Array {
  if (!hex) return utf8(text);
  if (!/^(?:[0-9a-fA-F]{2})*$/.test(text)) throw usage(`${what} "${text}" is not hex (pairs of 0-9a-f)`);
  return Uint8Array.from(Buffer.from(text, 'hex'));
}

function keyArg(text: string, hex: boolean | undefined): Uint8Array {
  const k = bytesArg(text, hex, 'the key');
  if (k.length === 0) throw usage('the key is empty');
  return k;
}

function query(q: Record<string, string | undefined>): string {
  const s = Object.entries(q)
    .filter(([, v]) => v !== undefined)
    .map(([k, v]) => `${k}=${encodeURIComponent(v!)}`)
    .join('&');
  return s ? `?${s}` : '';
}

async function readStdin(): Promise<Uint8Array> {
  const chunks: Buffer[] = [];
  for await (const c of process.stdin) chunks.push(c as Buffer);
  return Buffer.concat(chunks);
}

export const urlOpt = (c: Command): Command =>
  c
    .option('-u, --url <urls>', 'nodes of the cluster, comma-separated (default $EAU2_URL or http://127.0.0.1:7101)')
    .option('--token <token>', 'bearer token of a cluster with auth (default $EAU2_TOKEN)')
    .option('--ca <file>', "PEM of the cluster's CA, to verify an HTTPS node (default $EAU2_CA)");
const hexOpt = (c: Command, what: string): Command => c.option('-x, --hex', what);

/**
 * Text as scan prints it: UTF-8, with backslash, tab, newline, other control characters and bytes
 * that are not UTF-8 escaped (\\, \t, \n, \r, \xNN), so every key and value stays on its line.
 */
function escapeBytes(b: Uint8Array): string {
  const text = new TextDecoder('utf-8', { fatal: false }).decode(b);
  if (!text.includes('\uFFFD') || Buffer.from(text, 'utf8').equals(Buffer.from(b))) {
    return text.replace(/[\\\u0000-\u001f\u007f]/g, (c) =>
      c === '\\'
        ? '\\\\'
        : c === '\t'
          ? '\\t'
          : c === '\n'
            ? '\\n'
            : c === '\r'
              ? '\\r'
              : `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`,
    );
  }
  // Not UTF-8: escape byte by byte, keeping printable ASCII.
  let s = '';
  for (const x of b)
    s += x === 0x5c ? '\\\\' : x >= 0x20 && x < 0x7f ? String.fromCharCode(x) : `\\x${x.toString(16).padStart(2, '0')}`;
  return s;
}

export function addKvCommands(program: Command): void {
  hexOpt(
    urlOpt(program.command('put').description('store a value (from the argument, or stdin when omitted)')),
    'the key and the value argument are hex (stdin is read as raw bytes)',
  )
    .argument('<key>', 'the key (UTF-8, or hex with --hex)')
    .argument('[value]', 'the value; read from stdin when omitted')
    .option('-w, --w <n>', 'replicas that must have the write: 1 (default), 2, ..., or all')
    .option('-t, --content-type <type>', 'Content-Type stored with the value')
    .option('-e, --encoding <enc>', 'Content-Encoding stored with the value')
    .action(
      async (
        key: string,
        value: string | undefined,
        o: AuthOpts & { url?: string; w?: string; contentType?: string; encoding?: string; hex?: boolean },
      ) => {
        const bases = endpoints(o.url);
        const k = keyArg(key, o.hex);
        const w = parseW(o.w);
        const body = value === undefined ? await readStdin() : bytesArg(value, o.hex, 'the value');
        const headers: Record<string, string> = { 'content-type': o.contentType ?? 'application/octet-stream' };
        if (o.encoding) headers['content-encoding'] = o.encoding;
        check(
          await request(bases, 'PUT', `/kv/${segment(k)}${query({ w })}`, body, headers, credentials(o)),
          'PUT /kv/<key>',
        );
      },
    );

  hexOpt(
    urlOpt(program.command('get').description('print a value exactly as stored (exit 1 when the key is missing)')),
    'the key is hex, and the value is printed in hex',
  )
    .argument('<key>', 'the key (UTF-8, or hex with --hex)')
    .option('-r, --read <mode>', 'leader (default), follower, any, or local')
    .action(async (key: string, o: AuthOpts & { url?: string; read?: string; hex?: boolean }) => {
      const bases = endpoints(o.url);
      const k = keyArg(key, o.hex);
      const read = parseRead(o.read);
      const r = check(
        await request(bases, 'GET', `/kv/${segment(k)}${query({ read })}`, undefined, {}, credentials(o)),
        'GET /kv/<key>',
      );
      if (o.hex) {
        process.stdout.write(`${r.body.toString('hex')}\n`);
        return;
      }
      process.stdout.write(r.body);
      if (process.stdout.isTTY && r.body[r.body.length - 1] !== 0x0a) process.stdout.write('\n');
    });

  hexOpt(urlOpt(program.command('del').description('delete a key')), 'the key is hex')
    .argument('<key>', 'the key (UTF-8, or hex with --hex)')
    .option('-w, --w <n>', 'replicas that must have the delete: 1 (default), 2, ..., or all')
    .action(async (key: string, o: AuthOpts & { url?: string; w?: string; hex?: boolean }) => {
      const bases = endpoints(o.url);
      const k = keyArg(key, o.hex);
      const w = parseW(o.w);
      check(
        await request(bases, 'DELETE', `/kv/${segment(k)}${query({ w })}`, undefined, {}, credentials(o)),
        'DELETE /kv/<key>',
      );
    });

  hexOpt(
    urlOpt(
      program
        .command('scan')
        .description(
          'list keys in order, one per line: key<TAB>value (\\\\, \\t, \\n, \\r and non-UTF-8 bytes escaped as \\xNN)',
        ),
    ),
    'keys given and printed in hex, values printed in hex',
  )
    .option('-p, --prefix <prefix>', 'only keys starting with this')
    .option('-s, --start <key>', 'first key (inclusive)')
    .option('-a, --after <key>', 'start just after this key (where the last page ended)')
    .option('-e, --end <key>', 'end key (exclusive)')
    .option('-l, --limit <n>', 'at most this many, 1..10000', '100')
    .option('-r, --read <mode>', 'leader (default), follower, any, or local')
    .option('-k, --keys-only', 'print keys only')
    .option('--json', 'JSON lines: {"key": text, "hex": key bytes, "value64": value in base64}')
    .action(
      async (
        o: AuthOpts & {
          url?: string;
          prefix?: string;
          start?: string;
          after?: string;
          end?: string;
          limit: string;
          read?: string;
          keysOnly?: boolean;
          hex?: boolean;
          json?: boolean;
        },
      ) => {
        const bases = endpoints(o.url);
        const limit = parseLimit(o.limit);
        const read = parseRead(o.read);
        if (o.start !== undefined && o.after !== undefined) throw usage('give --start or --after, not both');
        const q: string[] = [`limit=${limit}`];
        if (read) q.push(`read=${read}`);
        if (!o.keysOnly) q.push('values=true');
        if (o.prefix !== undefined) q.push(`prefix=${segment(bytesArg(o.prefix, o.hex, '--prefix'))}`);
        if (o.start !== undefined) q.push(`start=${segment(bytesArg(o.start, o.hex, '--start'))}`);
        if (o.after !== undefined)
          q.push(`start=${segment(Buffer.concat([bytesArg(o.after, o.hex, '--after'), Buffer.of(0)]))}`);
        if (o.end !== undefined) q.push(`end=${segment(bytesArg(o.end, o.hex, '--end'))}`);
        const r = check(await request(bases, 'GET', `/kv?${q.join('&')}`, undefined, {}, credentials(o)), 'GET /kv');
        const j = JSON.parse(r.body.toString('utf8')) as {
          items: { key: string; hex: string; value64?: string }[];
          next: string | null;
        };
        let last: Buffer | undefined;
        for (const it of j.items) {
          const k = Buffer.from(it.hex, 'hex');
          const v = Buffer.from(it.value64 ?? '', 'base64');
          last = k;
          if (o.json) {
            const line: Record<string, string> = { key: it.key, hex: it.hex };
            if (!o.keysOnly) line.value64 = it.value64 ?? '';
            process.stdout.write(`${JSON.stringify(line)}\n`);
          } else {
            const ks = o.hex ? it.hex : escapeBytes(k);
            process.stdout.write(o.keysOnly ? `${ks}\n` : `${ks}\t${o.hex ? v.toString('hex') : escapeBytes(v)}\n`);
          }
        }
        if (j.next && last) {
          const plain = !o.hex && escapeBytes(last) === last.toString('utf8') && !last.includes(0x27);
          process.stderr.write(
            plain
              ? `(more: continue with --after '${last.toString('utf8')}')\n`
              : `(more: continue with --hex --after ${last.toString('hex')})\n`,
          );
        }
      },
    );

  urlOpt(
    program
      .command('status')
      .description("show the nodes and every partition's replication state (exit 1 when a node is not up)"),
  )
    .option('--json', 'print GET /cluster as JSON')
    .action(async (o: AuthOpts & { url?: string; json?: boolean }) => {
      const r = check(
        await request(endpoints(o.url), 'GET', '/cluster', undefined, {}, credentials(o)),
        'GET /cluster',
      );
      const c = JSON.parse(r.body.toString('utf8')) as ClusterJson;
      process.stdout.write(o.json ? `${JSON.stringify(c, null, 2)}\n` : renderStatus(c));
      const notUp = c.nodes.filter((n) => n.status !== 'up');
      if (notUp.length > 0)
        throw new CliError(
          `the cluster is degraded: ${notUp.map((n) => `${n.id} is ${n.status}`).join(', ')}`,
          EXIT.FAILED,
        );
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
  const status = new Map(c.nodes.map((n) => [n.id, n.status]));
  const down = (id: string): string =>
    status.get(id) === 'up' ? '' : ` ${(status.get(id) ?? 'unknown').toUpperCase()}`;
  const lines = [
    `epoch ${c.epoch}, ${c.partitionCount} partitions, ${c.replicationFactor} replicas each`,
    '',
    'NODE  ADDRESS                     STATUS',
  ];
  for (const n of c.nodes)
    lines.push(`${n.id.padEnd(5)} ${n.address.padEnd(27)} ${n.status === 'up' ? 'up' : n.status.toUpperCase()}`);
  lines.push('', 'PART  EPOCH  LEADER  LSN       IN-SYNC   FOLLOWERS (state, lsn, lag)');
  for (const p of c.partitions) {
    const f = p.followers
      .map((x) =>
        status.get(x.id) === 'up'
          ? `${x.id} (${x.state ?? '?'}, ${x.lsn ?? '?'}, ${x.lag ?? '?'})`
          : `${x.id}${down(x.id)}`,
      )
      .join(', ');
    lines.push(
      `${String(p.partition).padEnd(5)} ${String(p.epoch ?? '?').padEnd(6)} ${(p.leader + down(p.leader)).padEnd(7)} ${String(p.lsn ?? '?').padEnd(9)} ${(p.isr ?? []).join(',').padEnd(9)} ${f || '-'}`,
    );
  }
  const notUp = c.nodes.filter((n) => n.status !== 'up');
  if (notUp.length > 0) lines.push('', `DEGRADED: ${notUp.map((n) => `${n.id} ${n.status}`).join(', ')}`);
  return `${lines.join('\n')}\n`;
}
