// Every command `eau2 --help` lists can be run as the first word of a command line. The dataframe
// layer's commands are loaded only when the command line asks for them (start-up time), so a
// command missing from that choice would be listed by --help and still be "unknown".

import { CommanderError } from 'commander';
import { describe, expect, it } from 'vitest';
import { buildProgram } from '../../app/cli/main.js';

async function outcome(args: string[]): Promise<string> {
  const argv = ['node', 'eau2', ...args];
  const program = await buildProgram(argv);
  const quiet = { writeOut: () => undefined, writeErr: () => undefined };
  program.configureOutput(quiet);
  for (const c of program.commands) c.configureOutput(quiet);
  try {
    await program.parseAsync(argv);
    return 'ran';
  } catch (e) {
    if (e instanceof CommanderError) return e.code;
    throw e;
  }
}

describe('eau2 top-level commands', () => {
  it('every command the help lists is found when it comes first', async () => {
    const listed = (await buildProgram(['node', 'eau2', 'help'])).commands.map((c) => c.name());
    expect(listed).toEqual(expect.arrayContaining(['node', 'local', 'put', 'get', 'df', 'sql', 'verify']));
    for (const name of listed) {
      if (name === 'help') continue;
      // (not `--help`: commander answers `eau2 unknown --help` with the program's own help)
      const got = await outcome([name, '--no-such-option']);
      expect([name, got]).not.toEqual([name, 'commander.unknownCommand']);
      expect(got, name).toMatch(/^commander\.(unknownOption|missingMandatoryOptionValue|missingArgument)$/);
    }
  });

  it('an unknown command is still a usage error', async () => {
    expect(await outcome(['nosuchcommand'])).toBe('commander.unknownCommand');
  });
});
