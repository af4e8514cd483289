// `eau2 completion bash|zsh`: the script, loaded into a real bash, completes commands, df's
// subcommands and each command's options; zsh gets the same through bashcompinit.

import { execFileSync, spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { CLI, REPO } from '../cluster/support/cluster-harness.js';

function script(shell: string): { status: number | null; stdout: string } {
  const r = spawnSync(process.execPath, ['--import', 'tsx', CLI, 'completion', shell], { cwd: REPO, encoding: 'utf8' });
  return { status: r.status, stdout: r.stdout };
}

/** What bash completes for the words typed so far (the last one being completed). */
function complete(bashScript: string, words: string[]): string[] {
  const program = `${bashScript}
COMP_WORDS=(${words.map((w) => `'${w}'`).join(' ')}); COMP_CWORD=${words.length - 1}
_eau2; printf '%s\\n' "\${COMPREPLY[@]}"`;
  return execFileSync('bash', ['-c', program], { encoding: 'utf8' })
    .split('\n')
    .filter((l) => l !== '');
}

describe('eau2 completion', { timeout: 120_000 }, () => {
  it('completes commands, df subcommands and options in bash', () => {
    const bash = script('bash');
    expect(bash.status).toBe(0);
    expect(complete(bash.stdout, ['eau2', 'st'])).toEqual(['status']);
    expect(complete(bash.stdout, ['eau2', ''])).toEqual(
      expect.arrayContaining(['put', 'get', 'del', 'scan', 'status', 'local', 'node', 'df', 'completion']),
    );
    expect(complete(bash.stdout, ['eau2', 'df', 'ex'])).toEqual(['export']);
    expect(complete(bash.stdout, ['eau2', 'df', 'export', 'f', '--o'])).toEqual(['--out']);
    expect(complete(bash.stdout, ['eau2', 'scan', '--af'])).toEqual(['--after']);
    expect(complete(bash.stdout, ['eau2', 'put', '--h'])).toEqual(expect.arrayContaining(['--hex', '--help']));
  });

  it('gives zsh the same through bashcompinit, and refuses other shells', () => {
    const zsh = script('zsh');
    expect(zsh.status).toBe(0);
    expect(zsh.stdout).toMatch(/bashcompinit/);
    expect(zsh.stdout).toContain(script('bash').stdout);
    expect(script('fish').status).toBe(2);
  });
});
