// Exit codes of the eau2 command and the error commands raise to end with one.
// 0 success, 1 the operation failed (including a key not found), 2 a usage error.

export const EXIT = { OK: 0, FAILED: 1, USAGE: 2 } as const;

export class CliError extends Error {
  constructor(
    message: string,
    readonly exitCode: number = EXIT.FAILED,
    /** Already reported (a node logs its start-up failure as a JSON line): print nothing more. */
    readonly reported = false,
  ) {
    super(message);
  }
}
