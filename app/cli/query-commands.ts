// `eau2 sql "<SELECT ...>"` and `eau2 df query <name> [--where ...]`: queries from the command line.
// Both run through DataFrame.sql, so they plan, push down and merge exactly as the API does; `df
// query` spells a SELECT from flags for those who would rather not write one. See docs/dataframe.md
// "CLI".

import type { Writable } from 'node:stream';
import { InvalidArgumentError, type Command } from 'commander';
import { DataFrame, preloadSql, type SqlParam } from '../../dataframe/index.js';
import { exportCsv, exportJson } from '../../dataframe/index.js';
import { writeFrame } from '../../dataframe/index.js';
import type { OpenStore } from './open-store.js';

interface OutOpts {
  url?: string;
  format: string;
  param?: SqlParam[];
}

/**
 * One `--param` value: a JSON number, boolean or null as that value, a JSON string ('"15"') as its
 * text, and anything else as the text given, so `--param BOS --param 15` binds 'BOS' and 15.
 */
function paramArg(v: string, prev: SqlParam[] = []): SqlParam[] {
  let x: unknown = v;
  try {
    x = JSON.parse(v);
  } catch {
    // not JSON: the text itself
  }
  if (x !== null && typeof x === 'object') x = v;
  return [...prev, x as SqlParam];
}

const PARAM_HELP = 'a value for $1, then $2, ... (repeat it): a number, true/false, null, or text';

const formatArg = (v: string): string => {
  if (!['table', 'csv', 'json', 'ndjson'].includes(v))
    throw new InvalidArgumentError('expected table, csv, json or ndjson');
  return v;
};

async function runAndPrint(openStore: OpenStore, sql: string, o: OutOpts, out: Writable): Promise<void> {
  // The SQL path loads while the client connects.
  preloadSql();
  const store = await openStore({ url: o.url });
  try {
    const df = await DataFrame.sql(store, sql, o.param ? { params: o.param } : {});
    if (df.fields.length === 1 && df.fields[0]!.name === 'plan' && /^\s*explain\s/i.test(sql)) {
      out.write(`${[...df.column('plan').values].join('\n')}\n`);
      return;
    }
    if (o.format === 'table') await writeFrame(df, out);
    else if (o.format === 'csv') await exportCsv(df, out);
    else await exportJson(df, out, { ndjson: o.format === 'ndjson' });
  } finally {
    await store.close?.();
  }
}

/** A SQL identifier, quoted when it is not a plain lower-case name. */
function ident(name: string): string {
  return /^[a-z_][a-z0-9_]*$/.test(name) ? name : `"${name.replaceAll('"', '""')}"`;
}

/** The SELECT statement `df query`'s flags spell. */
export function querySql(
  name: string,
  o: {
    select?: string;
    where?: string;
    groupBy?: string;
    having?: string;
    orderBy?: string;
    limit?: number;
    offset?: number;
  },
): string {
  let sql = `SELECT ${o.select ?? '*'} FROM ${ident(name)}`;
  if (o.where) sql += ` WHERE ${o.where}`;
  if (o.groupBy) sql += ` GROUP BY ${o.groupBy}`;
  if (o.having) sql += ` HAVING ${o.having}`;
  if (o.orderBy) sql += ` ORDER BY ${o.orderBy}`;
  if (o.limit !== undefined) sql += ` LIMIT ${o.limit}`;
  if (o.offset !== undefined) sql += ` OFFSET ${o.offset}`;
  return sql;
}

const count = (v: string): number => {
  const n = Number(v);
  if (v.trim() === '' || !Number.isSafeInteger(n) || n < 0) throw new InvalidArgumentError('must be an integer >= 0');
  return n;
};

/** Adds `sql` to `program` and `query` to its `df` command. */
export function registerQueryCommands(program: Command, df: Command, openStore: OpenStore, out: Writable): void {
  program
    .command('sql <statement>')
    .description('run one SQL SELECT over the dataframes (EXPLAIN SELECT ... prints the plan)')
    .option('-u, --url <url>', 'any node of the cluster (default $EAU2_URL)')
    .option('-f, --format <format>', 'table, csv, json or ndjson (default table)', formatArg, 'table')
    .option('-p, --param <value>', PARAM_HELP, paramArg)
    .action((sql: string, o: OutOpts) => runAndPrint(openStore, sql, o, out));

  df.command('query <name>')
    .description('query a dataframe: filter, group, aggregate, order, limit (a SELECT spelled with flags)')
    .option('-u, --url <url>', 'any node of the cluster (default $EAU2_URL)')
    .option('-s, --select <list>', 'SELECT list: columns, expressions, aggregates (default *)')
    .option('-w, --where <condition>', 'keep rows where this SQL condition is true')
    .option('-g, --group-by <list>', 'group keys')
    .option('--having <condition>', 'keep groups where this is true')
    .option('-o, --order-by <list>', 'sort keys, e.g. "delay DESC, origin"')
    .option('-n, --limit <n>', 'at most this many rows', count)
    .option('--offset <n>', 'skip this many rows first', count)
    .option('--explain', 'print the plan instead of running it')
    .option('-f, --format <format>', 'table, csv, json or ndjson (default table)', formatArg, 'table')
    .option('-p, --param <value>', PARAM_HELP, paramArg)
    .action((name: string, o: OutOpts & Parameters<typeof querySql>[1] & { explain?: boolean }) => {
      const sql = querySql(name, o);
      return runAndPrint(openStore, o.explain ? `EXPLAIN ${sql}` : sql, o, out);
    });
}
