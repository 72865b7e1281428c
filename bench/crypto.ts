/**
 * `npm run bench:crypto`: throughput of the Standard RDP Security primitives, in MB/s
 * (10^6 bytes per second), over BENCH_MIB (default 64) MiB of data cut into PDU-sized chunks:
 * - our RC4 (src/crypto/rc4.ts) against Node's OpenSSL RC4 as the reference, measured in the
 *   same run, with the ratio ours / OpenSSL and the target (>= 0.5);
 * - the MACs (src/crypto/session-keys.ts macSignature, saltedMacSignature) and, for
 *   information, SHA-1 alone and a whole Rc4Session.encrypt (MAC + RC4);
 * - for information, FIPS (src/crypto/fips.ts FipsSession.encrypt: HMAC-SHA1 + 3DES-CBC), over
 *   the first 8 MiB only (3DES runs at ~20 MB/s).
 *
 * Node 20's OpenSSL 3 has RC4 only in its legacy provider, so the reference runs in a child
 * process, this same file forked with `node --openssl-legacy-provider` and driven over IPC: the
 * parent asks for one measurement at a time, the child times `crypto.createCipheriv('rc4', key,
 * null)` over its own copy of the same data and answers with the milliseconds. Ours and
 * OpenSSL's measurements alternate (which one goes first rotates from run to run), so load on
 * the machine hits both alike. Each side checks, before timing, that the two ciphertexts are
 * identical (SHA-256 over the whole stream).
 *
 * Only the cipher work is timed: from making the cipher (the key schedule, negligible) to the
 * last chunk's output, the output buffers included (as a PDU needs them). One untimed warm-up
 * pass per row, then BENCH_RUNS runs; the figure is the median, with min and max.
 *
 * Environment:
 *   BENCH_RUNS=N   counted runs per row (default 5)
 *   BENCH_MIB=N    MiB of data per run (default 64)
 *
 * Prints figures and exits 0 whatever they are (it is a measurement, not a test); exits 1 when
 * the OpenSSL reference cannot run (no RC4 in the legacy provider) or the ciphertexts differ,
 * 2 on a bad BENCH_* value. Memory: one source buffer of BENCH_MIB MiB per process, plus the
 * output of the chunk in flight (for the one-buffer row, one more BENCH_MIB MiB).
 */
import { fork, type ChildProcess } from 'node:child_process';
import { createCipheriv, createHash } from 'node:crypto';
import { cpus, loadavg } from 'node:os';
import { fileURLToPath } from 'node:url';
import { Rc4 } from '../src/crypto/rc4.js';
import { Rc4Session, macSignature, saltedMacSignature } from '../src/crypto/session-keys.js';
import { FipsSession } from '../src/crypto/fips.js';
import { ENCRYPTION_METHOD_128BIT } from '../src/pdu/client-data.js';
import { BenchExit, runBench, intEnv, median } from './common.js';

const TARGET_RATIO = 0.5;
const CHILD_FLAG = '--openssl-rc4-child';
/** a 128-bit RC4 key, as ENCRYPTION_METHOD_128BIT uses */
const RC4_KEY = Buffer.from('0123456789abcdeffedcba9876543210', 'hex');
const MAC_KEY = Buffer.from('00112233445566778899aabbccddeeff', 'hex');
const KiB = 1024;
const MiB = 1024 * KiB;
/** FIPS is measured over at most this much of the data (3DES is slow) */
const FIPS_BYTES = 8 * MiB;


// ---------------------------------------------------------------------------------------------
// Shared by the parent and the child

/** Deterministic data (xorshift32), so that the parent and the child encrypt the same bytes. */
function makeData(bytes: number): Buffer {
  const buf = Buffer.allocUnsafe(bytes);
  let x = 0x9e3779b9;
  for (let k = 0; k < bytes; k++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    buf[k] = x & 0xff;
  }
  return buf;
}

/** Something that encrypts chunk after chunk of one stream. */
interface StreamCipher {
  update(data: Uint8Array): Buffer;
}

/** An RC4 row: chunks of `chunk` bytes (0 = the whole buffer at once) starting at `offset`. */
interface Rc4Case {
  chunk: number;
  offset: number;
}

/** Encrypt data[offset..] in chunks; the milliseconds from making the cipher to the last output. */
function timeStream(make: () => StreamCipher, data: Buffer, { chunk, offset }: Rc4Case): number {
  const size = chunk || data.length;
  const t0 = performance.now();
  const c = make();
  for (let at = offset; at < data.length; at += size) c.update(data.subarray(at, Math.min(at + size, data.length)));
  return performance.now() - t0;
}

/** SHA-256 of the whole ciphertext (16 KiB chunks), to check that both ciphers agree. */
function streamDigest(make: () => StreamCipher, data: Buffer): string {
  const h = createHash('sha256');
  const c = make();
  for (let at = 0; at < data.length; at += 16 * KiB) h.update(c.update(data.subarray(at, at + 16 * KiB)));
  return h.digest('hex');
}

const ours = (): StreamCipher => new Rc4(RC4_KEY);
const openssl = (): StreamCipher => createCipheriv('rc4', RC4_KEY, null);

// ---------------------------------------------------------------------------------------------
// The child: OpenSSL's RC4 under --openssl-legacy-provider

type ToChild = { type: 'setup'; bytes: number } | { type: 'run'; rc4: Rc4Case } | { type: 'exit' };
type FromChild =
  | { type: 'ready'; openssl: string; digest: string }
  | { type: 'result'; ms: number }
  | { type: 'error'; message: string };

function child(): void {
  let data: Buffer | null = null;
  const send = (m: FromChild) => process.send!(m);
  process.on('message', (m: ToChild) => {
    try {
      if (m.type === 'setup') {
        data = makeData(m.bytes);
        send({ type: 'ready', openssl: process.versions.openssl, digest: streamDigest(openssl, data) });
      } else if (m.type === 'run') {
        send({ type: 'result', ms: timeStream(openssl, data!, m.rc4) });
      } else {
        process.disconnect();
      }
    } catch (err) {
      send({ type: 'error', message: (err as Error).message });
    }
  });
}

/** The parent's handle on the child: one request at a time. */
class Reference {
  private waiting: ((m: FromChild) => void) | null = null;
  private failure: string | null = null;
  private stopped = false;

  private constructor(private readonly proc: ChildProcess) {
    proc.on('message', (m: FromChild) => this.settle(m));
    proc.on('exit', (code, signal) => {
      this.failure ??= `the OpenSSL child exited (${code !== null ? `exit ${code}` : `signal ${signal}`})`;
      this.settle({ type: 'error', message: this.failure });
    });
    proc.on('error', (err) => {
      this.failure ??= `the OpenSSL child failed: ${err.message}`;
      this.settle({ type: 'error', message: this.failure });
    });
  }

  static start(): Reference {
    const proc = fork(fileURLToPath(import.meta.url), [CHILD_FLAG], {
      execArgv: ['--openssl-legacy-provider'],
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    });
    return new Reference(proc);
  }

  private settle(m: FromChild): void {
    const w = this.waiting;
    this.waiting = null;
    w?.(m);
  }

  private ask(m: ToChild): Promise<FromChild> {
    if (this.failure) return Promise.resolve({ type: 'error', message: this.failure });
    return new Promise((resolve) => {
      this.waiting = resolve;
      this.proc.send(m);
    });
  }

  async setup(bytes: number): Promise<{ openssl: string; digest: string }> {
    const r = await this.ask({ type: 'setup', bytes });
    if (r.type !== 'ready') throw new BenchExit(`bench: OpenSSL's RC4 is not available (node --openssl-legacy-provider): ${r.type === 'error' ? r.message : r.type}`, 1);
    return r;
  }

  async run(rc4: Rc4Case): Promise<number> {
    const r = await this.ask({ type: 'run', rc4 });
    if (r.type !== 'result') throw new BenchExit(`bench: OpenSSL's RC4 run failed: ${r.type === 'error' ? r.message : r.type}`, 1);
    return r.ms;
  }

  stop(): void {
    if (this.stopped) return;
    this.stopped = true;
    this.failure ??= 'the OpenSSL child was stopped';
    if (this.proc.connected) this.proc.send({ type: 'exit' } satisfies ToChild);
    else if (this.proc.exitCode === null) this.proc.kill();
  }
}

// ---------------------------------------------------------------------------------------------
// Settings and figures



/** MB/s (10^6 bytes per second) of `bytes` in `ms`. */
const mbps = (bytes: number, ms: number): number => bytes / 1e6 / (ms / 1000);

/** Figures of one measured thing: MB/s per run. */
interface Figures {
  median: number;
  min: number;
  max: number;
}

function figures(bytes: number, ms: number[]): Figures {
  const rates = ms.map((m) => mbps(bytes, m));
  return { median: median(rates), min: Math.min(...rates), max: Math.max(...rates) };
}

const fmtRate = (x: number): string => (x >= 100 ? x.toFixed(0) : x.toFixed(1));
const fmtRange = (f: Figures): string => `${fmtRate(f.min)}-${fmtRate(f.max)}`;

function printTable(head: string[], body: string[][]): void {
  const widths = head.map((h, i) => Math.max(h.length, ...body.map((b) => b[i]!.length)));
  const line = (cells: string[]) =>
    cells
      .map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!)))
      .join('  ')
      .trimEnd();
  console.log(line(head));
  for (const b of body) console.log(line(b));
}

function sizeName(bytes: number): string {
  return bytes >= MiB && bytes % MiB === 0 ? `${bytes / MiB} MiB` : bytes >= KiB && bytes % KiB === 0 ? `${bytes / KiB} KiB` : `${bytes} B`;
}

function load(): string {
  return loadavg()[0]!.toFixed(2);
}

// ---------------------------------------------------------------------------------------------
// The in-process rows other than RC4 (no reference)

interface Row {
  name: string;
  /** bytes processed per run */
  bytes: number;
  /** one run: the milliseconds of the measured work */
  run: () => number;
  ms: number[];
}

/** Time fn(chunk, index) over data cut into `chunk`-byte pieces. */
function timeChunks(data: Buffer, chunk: number, fn: (piece: Buffer, index: number) => unknown): number {
  const t0 = performance.now();
  let index = 0;
  for (let at = 0; at < data.length; at += chunk) fn(data.subarray(at, at + chunk), index++);
  return performance.now() - t0;
}

function otherRows(data: Buffer): Row[] {
  const row = (name: string, chunk: number, make: () => (piece: Buffer, index: number) => unknown, over: Buffer = data): Row => ({
    name: `${name}, ${sizeName(chunk)} PDUs${over.length < data.length ? ` (over ${sizeName(over.length)})` : ''}`,
    bytes: over.length,
    run: () => {
      const fn = make();
      return timeChunks(over, chunk, fn);
    },
    ms: [],
  });
  const rc4Session = () => new Rc4Session({ method: ENCRYPTION_METHOD_128BIT, macKey: MAC_KEY, encryptKey: RC4_KEY, decryptKey: RC4_KEY });
  const fips = () => new FipsSession({ encryptKey: Buffer.alloc(24, 0x5a), decryptKey: Buffer.alloc(24, 0xa5), hmacKey: Buffer.alloc(20, 0x3c) });
  return [
    row('macSignature (5.3.6.1)', 1 * KiB, () => (p) => macSignature(MAC_KEY, p)),
    row('macSignature (5.3.6.1)', 16 * KiB, () => (p) => macSignature(MAC_KEY, p)),
    row('saltedMacSignature (5.3.6.1.1)', 1 * KiB, () => (p, i) => saltedMacSignature(MAC_KEY, p, i)),
    row('saltedMacSignature (5.3.6.1.1)', 16 * KiB, () => (p, i) => saltedMacSignature(MAC_KEY, p, i)),
    row('  for reference: SHA-1 alone (node:crypto)', 1 * KiB, () => (p) => createHash('sha1').update(p).digest()),
    row('  for reference: SHA-1 alone (node:crypto)', 16 * KiB, () => (p) => createHash('sha1').update(p).digest()),
    row('Rc4Session.encrypt salted (MAC + RC4)', 1 * KiB, () => {
      const s = rc4Session();
      return (p) => s.encrypt(p, 'salted');
    }),
    row('Rc4Session.encrypt salted (MAC + RC4)', 16 * KiB, () => {
      const s = rc4Session();
      return (p) => s.encrypt(p, 'salted');
    }),
    // 3DES runs at ~20 MB/s: over less data, or it would take most of the run
    row(
      'FipsSession.encrypt (HMAC-SHA1 + 3DES-CBC)',
      16 * KiB,
      () => {
        const s = fips();
        return (p) => s.encrypt(p);
      },
      data.subarray(0, Math.min(data.length, FIPS_BYTES)),
    ),
  ];
}

// ---------------------------------------------------------------------------------------------

async function main(): Promise<number> {
  const runs = intEnv('BENCH_RUNS', 5, 1, 100);
  const mib = intEnv('BENCH_MIB', 64, 1, 1024);
  const bytes = mib * MiB;

  const rc4Cases: (Rc4Case & { name: string })[] = [
    { name: '4 KiB chunks', chunk: 4 * KiB, offset: 0 },
    { name: '16 KiB chunks', chunk: 16 * KiB, offset: 0 },
    { name: '16 KiB chunks, unaligned (+1)', chunk: 16 * KiB, offset: 1 },
    { name: '64 KiB chunks', chunk: 64 * KiB, offset: 0 },
    { name: `one ${mib} MiB buffer`, chunk: 0, offset: 0 },
  ];

  const ref = Reference.start();
  const onSignal = (sig: NodeJS.Signals) => {
    ref.stop();
    process.exit(sig === 'SIGINT' ? 130 : 143);
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  try {
    const data = makeData(bytes);
    const setup = await ref.setup(bytes);
    const ourDigest = streamDigest(ours, data);
    console.log(`crypto throughput over ${mib} MiB per run; ${runs} counted runs per row after one warm-up; median MB/s (10^6 bytes/s), min-max`);
    console.log(`node ${process.version}, OpenSSL ${setup.openssl} (legacy provider, in a child process); ${cpus().length} CPUs (${cpus()[0]?.model.trim() ?? '?'})`);
    if (ourDigest !== setup.digest) {
      throw new BenchExit(`bench: our RC4 and OpenSSL's disagree over ${mib} MiB (SHA-256 ${ourDigest} vs ${setup.digest})`, 1);
    }
    console.log(`RC4 ciphertexts identical (SHA-256 of the whole ${mib} MiB stream, 128-bit key): ${ourDigest.slice(0, 16)}...`);
    const loadBefore = load();
    const tty = Boolean(process.stderr.isTTY);
    const progress = (text: string) => {
      if (tty) process.stderr.write(`\r${text.padEnd(40)}`);
    };

    // RC4: ours and OpenSSL's alternate, the first of the two rotating from run to run
    const rc4Ms = rc4Cases.map(() => ({ ours: [] as number[], openssl: [] as number[] }));
    for (let r = -1; r < runs; r++) {
      progress(r < 0 ? 'RC4 warm-up' : `RC4 run ${r + 1}/${runs}`);
      for (const [k, c] of rc4Cases.entries()) {
        const oursFirst = (r + k) % 2 === 0;
        let a: number;
        let b: number;
        if (oursFirst) {
          a = timeStream(ours, data, c);
          b = await ref.run(c);
        } else {
          b = await ref.run(c);
          a = timeStream(ours, data, c);
        }
        if (r < 0) continue;
        rc4Ms[k]!.ours.push(a);
        rc4Ms[k]!.openssl.push(b);
      }
    }
    ref.stop();

    // the MACs, FIPS
    const rows = otherRows(data);
    for (let r = -1; r < runs; r++) {
      progress(r < 0 ? 'MAC/FIPS warm-up' : `MAC/FIPS run ${r + 1}/${runs}`);
      for (const row of rows) {
        const ms = row.run();
        if (r >= 0) row.ms.push(ms);
      }
    }
    progress('');
    if (tty) process.stderr.write('\r');
    console.log('');

    console.log(`RC4, ours (src/crypto/rc4.ts) vs OpenSSL's (createCipheriv('rc4')), MB/s:`);
    const ratios: { name: string; ratio: number }[] = [];
    const rc4Body = rc4Cases.map((c, k) => {
      const n = bytes - c.offset;
      const o = figures(n, rc4Ms[k]!.ours);
      const s = figures(n, rc4Ms[k]!.openssl);
      // the ratio of the medians; and the median of the per-run ratios (same run, same load)
      const ratio = o.median / s.median;
      const perRun = median(rc4Ms[k]!.ours.map((ms, i) => rc4Ms[k]!.openssl[i]! / ms));
      ratios.push({ name: c.name, ratio });
      return [c.name, fmtRate(o.median), fmtRange(o), fmtRate(s.median), fmtRange(s), ratio.toFixed(2), perRun.toFixed(2)];
    });
    printTable(['', 'ours', 'min-max', 'OpenSSL', 'min-max', 'ratio', 'per-run'], rc4Body);
    console.log('(ratio = ours / OpenSSL, medians; per-run = median of the ratios of the two runs measured side by side)');
    console.log('');

    console.log('MAC and FIPS (in-process, for information), MB/s:');
    printTable(
      ['', 'MB/s', 'min-max'],
      rows.map((row) => {
        const f = figures(row.bytes, row.ms);
        return [row.name, fmtRate(f.median), fmtRange(f)];
      }),
    );
    console.log(`(1-minute load average ${loadBefore} at the start, ${load()} at the end: above ~1 per CPU the figures are noisy)`);
    console.log('');

    const worst = ratios.reduce((w, x) => (x.ratio < w.ratio ? x : w));
    console.log(`ratio ours/OpenSSL RC4: ${worst.ratio.toFixed(2)} at worst (${worst.name}), ${median(ratios.map((x) => x.ratio)).toFixed(2)} median over the rows`);
    console.log(`target >= ${TARGET_RATIO}: ${worst.ratio >= TARGET_RATIO ? 'met' : 'not met'} (on every row)`);
    return 0;
  } finally {
    ref.stop();
    process.removeListener('SIGINT', onSignal);
    process.removeListener('SIGTERM', onSignal);
  }
}

if (process.argv[2] === CHILD_FLAG) {
  child();
} else {
  runBench(main);
}
