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
