// `eau2 completion bash|zsh`: a shell completion script for every command, subcommand and option,
// generated from the program itself so it never falls behind. zsh loads it through bashcompinit,
// its own emulation of bash's `complete`.

import type { Command } from 'commander';
import { CliError, EXIT } from './cli-errors.js';

function optionsOf(c: Command): string[] {
  const out: string[] = [];
  for (const o of c.options) {
    if (o.long) out.push(o.long);
    if (o.short) out.push(o.short);
  }
  return [...out, '--help'];
}

/** The bash script: completes the command, then a `df` subcommand, then that command's options. */
function bashCompletion(program: Command): string {
  const visible = program.commands.filter((c) => c.name() !== 'help');
  const cases: string[] = [];
  for (const c of visible) {
    const subs = c.commands.filter((s) => s.name() !== 'help');
    if (subs.length > 0) {
      const subCases = subs.map((s) => `        ${s.name()}) opts="${optionsOf(s).join(' ')}" ;;`).join('\n');
      cases.push(`    ${c.name()})
      if [ "$COMP_CWORD" -eq 2 ]; then opts="${subs.map((s) => s.name()).join(' ')}"; else
      case "\${COMP_WORDS[2]}" in
${subCases}
        *) opts="" ;;
      esac; fi ;;`);
    } else cases.push(`    ${c.name()}) opts="${optionsOf(c).join(' ')}" ;;`);
  }
  return `# eau2 shell completion (bash). Load it with: source <(eau2 completion bash)
_eau2() {
  local cur opts
  cur="\${COMP_WORDS[COMP_CWORD]}"
  if [ "$COMP_CWORD" -eq 1 ]; then
    opts="${visible.map((c) => c.name()).join(' ')} help --help --version"
  else
    case "\${COMP_WORDS[1]}" in
${cases.join('\n')}
    *) opts="" ;;
    esac
  fi
  # Options after a "-", commands in first place (and df's subcommands), files anywhere else.
  if [ "$COMP_CWORD" -eq 1 ] || [ "\${cur#-}" != "$cur" ] || { [ "\${COMP_WORDS[1]}" = df ] && [ "$COMP_CWORD" -eq 2 ]; }; then
    COMPREPLY=($(compgen -W "$opts" -- "$cur"))
  else
    COMPREPLY=($(compgen -f -- "$cur"))
  fi
}
complete -o default -F _eau2 eau2
`;
}

export function addCompletionCommand(program: Command): void {
  program
    .command('completion')
    .description('print a shell completion script: source <(eau2 completion bash), or zsh')
    .argument('<shell>', 'bash or zsh')
    .action((shell: string) => {
      if (shell === 'bash') process.stdout.write(bashCompletion(program));
      else if (shell === 'zsh')
        process.stdout.write(
          `# eau2 shell completion (zsh). Load it with: source <(eau2 completion zsh)\nautoload -U +X bashcompinit && bashcompinit\n${bashCompletion(program)}`,
        );
      else throw new CliError(`no completion for "${shell}": bash or zsh`, EXIT.USAGE);
    });
}
