// `--name N` options of the bench scripts that take a number: one reading, one error for a bad value
// (a misspelt figure must not turn into NaN and a silently empty run).

/** The number after `--name` on the command line, or `def` when the option is absent. */
export function numberArg(name: string, def: number): number {
  const i = process.argv.indexOf(`--${name}`);
  if (i < 0) return def;
  const v = Number(process.argv[i + 1]);
  if (!Number.isFinite(v) || v < 0) throw new TypeError(`--${name} takes a non-negative number`);
  return v;
}
