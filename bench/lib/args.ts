/** Command-line flags of a benchmark: `--name value` pairs and bare `--flag` switches. */

/** The value after `--name`, or `fallback`. */
export function stringArg(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? (process.argv[i + 1] ?? fallback) : fallback;
}

/** The number after `--name`, or `fallback`; exits on a value that is not a number. */
export function numberArg(name: string, fallback: number): number {
  const text = stringArg(name, String(fallback));
  const n = Number(text.replaceAll('_', ''));
  if (!Number.isFinite(n)) {
    console.error(`--${name} must be a number, got "${text}"`);
    process.exit(2);
  }
  return n;
}

/** Whether the bare switch `--name` was given. */
export function flagArg(name: string): boolean {
  return process.argv.includes(`--${name}`);
}
