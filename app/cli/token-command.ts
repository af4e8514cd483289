// `eau2 token create --role R [--name N]`: a new bearer token (docs/security.md). The token goes to
// stdout's first line and the config entry that admits it (its SHA-256, never the token) to the
// second, so `eau2 token create --role read | head -1` gives just the token.

import type { Command } from 'commander';
import { createToken, ROLES, type Role } from '../../cluster/index.js';
import { CliError, EXIT } from './cli-errors.js';

export function addTokenCommand(program: Command): void {
  const token = program.command('token').description('bearer tokens for a cluster with auth (docs/security.md)');
  token
    .command('create')
    .description('print a new token and the line that admits it in the config\'s "auth.tokens"')
    .requiredOption('--role <role>', `what the token may do: ${ROLES.join(', ')}`)
    .option('--name <name>', 'a name for the token (shown in audit lines)', 'token')
    .action((o: { role: string; name: string }) => {
      if (!(ROLES as readonly string[]).includes(o.role))
        throw new CliError(`--role must be one of ${ROLES.join(', ')}`, EXIT.USAGE);
      let made: ReturnType<typeof createToken>;
      try {
        made = createToken(o.role as Role, o.name);
      } catch (e) {
        throw new CliError((e as Error).message, EXIT.USAGE);
      }
      process.stdout.write(`${made.token}\n${JSON.stringify(made.entry)}\n`);
      process.stderr.write(
        'Keep the token (first line) secret: it is shown only now. Add the second line to "auth.tokens" in the\n' +
          'cluster config of every node, then restart them. Use it with --token, $EAU2_TOKEN or\n' +
          '"Authorization: Bearer <token>".\n',
      );
    });
}
