/**
 * What every benchmark shares: a typed early exit (a missing peer: 1; a bad BENCH_* value: 2)
 * and the runner that turns main's result into the exit code. Benchmarks print figures; they
 * are not tests and never fail on a missed target.
 */
export class BenchExit extends Error {
  constructor(
    message: string,
    readonly code: number,
  ) {
    super(message);
  }
}

export function runBench(main: () => Promise<number>, opts: { exit?: boolean } = {}): void {
  main().then(
    (code) => {
      if (opts.exit) process.exit(code);
      process.exitCode = code;
    },
    (err: unknown) => {
      const code = err instanceof BenchExit ? err.code : 1;
      process.stderr.write(err instanceof BenchExit ? `${err.message}\n` : `bench: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
      if (opts.exit) process.exit(code);
      process.exitCode = code;
    },
  );
}

/** An integer BENCH_* setting within [min, max]; a bad value is a BenchExit with code 2. */
export function intEnv(name: string, fallback: number, min: number, max: number): number {
  const raw = process.env[name];
  if (raw === undefined || raw.trim() === '') return fallback;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < min || n > max) throw new BenchExit(`bench: invalid ${name}="${raw}" (an integer ${min}-${max})`, 2);
  return n;
}

export function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}
