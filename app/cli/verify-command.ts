// `eau2 verify`: compares the replicas of every partition through GET /cluster/verify (docs/api.md)
// and prints each partition as identical or with the token ranges and keys that differ. Exit code 0
// when every partition is identical, 1 otherwise (a divergence, a replica behind or unreachable).

import type { Command } from 'commander';
import type { VerifyReport } from '../../cluster/index.js';
import { CliError, EXIT } from './cli-errors.js';
import { type AuthOpts, credentials, urlOpt } from './kv-commands.js';
import { check, endpoints, request } from './node-http.js';

function intArg(v: string | undefined, name: string): string | undefined {
  if (v === undefined) return undefined;
  if (!/^[0-9]{1,6}$/.test(v)) throw new CliError(`--${name} must be a non-negative integer`, EXIT.USAGE);
  return v;
}

function renderVerify(r: VerifyReport): string {
  const lines: string[] = [];
  for (const p of r.partitions) {
    const replicas = p.replicas
      .map((x) => (x.error ? `${x.id} (${x.error})` : `${x.id} lsn ${x.lsn} ${x.keys} keys`))
      .join(', ');
    lines.push(`partition ${p.partition}  ${p.status}  ${replicas}`);
    for (const g of p.ranges) {
      const counts = Object.entries(g.counts)
        .map(([id, n]) => `${id} ${n}`)
        .join(', ');
      lines.push(`  tokens [${g.lo}, ${g.hi}): ${g.differingKeys} keys differ (keys: ${counts})`);
      for (const k of g.keys) {
        const v = Object.entries(k.replicas)
          .map(([id, h]) => `${id} ${h ?? 'missing'}`)
          .join(', ');
        lines.push(`    ${JSON.stringify(k.key)} (${k.hex}): ${v}`);
      }
    }
    if (p.truncated) lines.push('  (more ranges differ)');
  }
  const bad = r.partitions.filter((p) => p.status !== 'identical').length;
  lines.push(bad === 0 ? 'every partition identical' : `${bad} of ${r.partitions.length} partitions not identical`);
  return `${lines.join('\n')}\n`;
}

export function addVerifyCommand(program: Command): void {
  urlOpt(program.command('verify').description('compare the replicas of every partition (hashes per token range)'))
    .option('-p, --partition <n>', 'only this partition')
    .option('--fanout <n>', 'token sub-ranges per level of the hash tree (default 64)')
    .option('--json', 'print GET /cluster/verify as JSON')
    .action(async (o: AuthOpts & { url?: string; partition?: string; fanout?: string; json?: boolean }) => {
      const q = new URLSearchParams();
      const p = intArg(o.partition, 'partition');
      const f = intArg(o.fanout, 'fanout');
      if (p !== undefined) q.set('partition', p);
      if (f !== undefined) q.set('fanout', f);
      const qs = q.size > 0 ? `?${q}` : '';
      const bases = endpoints(o.url);
      const auth = credentials(o);
      const reply = check(
        await request(bases, 'GET', `/cluster/verify${qs}`, undefined, {}, auth),
        'GET /cluster/verify',
      );
      const r = JSON.parse(reply.body.toString('utf8')) as VerifyReport;
      process.stdout.write(o.json ? `${JSON.stringify(r, null, 2)}\n` : renderVerify(r));
      if (!r.identical) throw new CliError('replicas differ', EXIT.FAILED);
    });
}
