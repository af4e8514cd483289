// `eau2 sql` and `eau2 df query`, run through commander exactly as the CLI does, on a memory store.

import { Writable } from 'node:stream';
import { Command } from 'commander';
import { describe, expect, it } from 'vitest';
import { registerDfCommands } from '../../app/cli/df-commands.js';
import { DataFrame } from '../../dataframe/index.js';
import { MemoryStore } from '../support/memory-store.js';

class Collect extends Writable {
  text = '';
  override _write(chunk: Buffer, _enc: string, cb: () => void): void {
    this.text += chunk.toString();
    cb();
  }
}

async function cli(): Promise<(...args: string[]) => Promise<string>> {
  const store = new MemoryStore();
  await DataFrame.put(
    store,
    'flights',
    DataFrame.fromRows('origin:S,delay:I', [
      ['SFO', 10],
      ['JFK', 30],
      ['SFO', 4],
      ['LAX', -3],
    ]),
  );
  const out = new Collect();
  const program = new Command('eau2').exitOverride().configureOutput({ writeErr: () => undefined });
  registerDfCommands(
    program,
    async () => Object.assign(Object.create(store) as MemoryStore, { close: async () => undefined }),
    out,
  );
  return async (...args) => {
    out.text = '';
    await program.parseAsync(['node', 'eau2', ...args]);
    return out.text;
  };
}

describe('eau2 sql and eau2 df query', () => {
  it('runs a statement and prints a table, CSV or JSON', async () => {
    const run = await cli();
    const sql =
      'SELECT origin, count(*) AS n, sum(delay) AS total FROM flights WHERE delay > 0 GROUP BY origin ORDER BY 3 DESC';
    expect(await run('sql', sql, '--format', 'csv')).toBe('origin,n,total\nJFK,1,30\nSFO,2,14\n');
    expect(JSON.parse(await run('sql', sql, '--format', 'json'))).toEqual([
      { origin: 'JFK', n: 1, total: 30 },
      { origin: 'SFO', n: 2, total: 14 },
    ]);
    const table = await run('sql', sql);
    expect(table).toMatch(/origin:S\s+n:D\s+total:D/);
    expect(table).toMatch(/"SFO"\s+2\s+14/);
    expect(await run('sql', `EXPLAIN ${sql}`)).toMatch(/^stage 1:\n.*\n {2}read columns: origin, delay/);
  });

  it('binds --param values to $1, $2, ... as numbers, booleans, null or text', async () => {
    const sql = 'SELECT origin, delay FROM flights WHERE origin = $1 AND delay > $2 ORDER BY delay';
    expect(await (await cli())('sql', sql, '--param', 'SFO', '--param', '5', '--format', 'csv')).toBe(
      'origin,delay\nSFO,10\n',
    );
    // A JSON string is text: '"5"' compared with an int column is the planner's type error.
    await expect((await cli())('sql', sql, '-p', 'SFO', '-p', '"5"')).rejects.toThrow(/cannot compare I with S/);
    expect(
      await (await cli())('df', 'query', 'flights', '--where', 'origin = $1', '-p', "SFO' OR 'a'='a", '-f', 'csv'),
    ).toBe('origin,delay\n');
    expect(
      await (await cli())(
        'sql',
        'SELECT count(*) AS n FROM flights WHERE (delay > 0) = $1',
        '-p',
        'false',
        '-f',
        'csv',
      ),
    ).toBe('n\n1\n');
    await expect((await cli())('sql', 'SELECT * FROM flights WHERE delay > $1')).rejects.toThrow(/no value for \$1/);
  });

  it('spells a query from flags', async () => {
    const run = await cli();
    expect(
      await run(
        'df',
        'query',
        'flights',
        '--select',
        'origin, delay',
        '--where',
        'delay > 0',
        '--order-by',
        'delay DESC',
        '--limit',
        '2',
        '--format',
        'csv',
      ),
    ).toBe('origin,delay\nJFK,30\nSFO,10\n');
    expect(await run('df', 'query', 'flights', '--order-by', 'delay', '--limit', '1', '--explain')).toMatch(
      /top-k heap/,
    );
  });

  it('fails with the SQL error and its position', async () => {
    const run = await cli();
    await expect(run('sql', 'SELECT nope FROM flights')).rejects.toThrow(/no column named nope .*\(line 1, column 8\)/);
  });
});
