/**
 * `npm run bench:probe`: wall time of `rdpsec probe` against nmap's rdp-enum-encryption, both
 * as a user runs them (a child process each, so Node's and nmap's start-up count), against the
 * same real xrdp (security_layer=negotiate, crypt_level=high) on 127.0.0.1, in the same run.
 *
 * One warm-up run of each (not counted), then BENCH_RUNS (default 7) rounds; each round runs
 * every command once, the order rotating from round to round so that neither always runs
 * right after the other. For information it also times, in the same rounds:
 * - `probeServer()` in this process (the library alone: no process start, no module loading);
 * - `rdpsec --version` (Node start-up and loading every module of the CLI, no probe).
 *
 * Environment:
 *   BENCH_RUNS=N            counted rounds (default 7)
 *   BENCH_PARALLEL=N[,M..]  run the CLI with `--parallel N` (and probeServer() with parallel N);
 *                           a list times one row per value (default: the CLI's own default, 4)
 *
 * Prints figures and exits 0 (it is not a test); exits 1 when a tool is missing (xrdp and its
 * peer scripts, nmap, the built CLI) or xrdp does not start, 2 on a bad BENCH_* value. Only
 * loopback traffic: the server listens on 127.0.0.1, nmap runs with -n (no reverse DNS).
 */
import { accessSync, constants as fsConstants } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { join, relative } from 'node:path';
import {
  INSTALL_HINT,
  REPO_ROOT,
  missingPeerMessage,
  runCommand,
  startXrdp,
  which,
  type CommandResult,
  type RunningPeer,
} from '../test/peers/harness.js';
import { nmapEnumEncryptionArgs, parseNmapEnumEncryption, type NmapEnumEncryption } from '../test/peers/nmap.js';
import { probeServer } from '../src/index.js';
import type { Posture } from '../src/probe/posture.js';
import { BenchExit, runBench, intEnv, median } from './common.js';

const TARGET_RATIO = 0.25;
const CLI = join(REPO_ROOT, 'dist', 'src', 'cli', 'main.js');
const CLI_DEFAULT_PARALLEL = 4; // `rdpsec probe --parallel` default (src/cli/probe-command.ts)
const PROBE_TIMEOUT_MS = 5000; // the CLI's default --timeout 5


// ---------------------------------------------------------------------------------------------
// Settings


/** BENCH_PARALLEL: null = no --parallel flag (the CLI default); otherwise the values to time. */
function parallelEnv(): (number | null)[] {
  const raw = process.env.BENCH_PARALLEL;
  if (raw === undefined || raw.trim() === '') return [null];
  const values = raw.split(',').map((s) => s.trim());
  const out: number[] = [];
  for (const v of values) {
    const n = Number(v);
    if (v === '' || !Number.isInteger(n) || n < 1 || n > 32) throw new BenchExit(`bench: invalid BENCH_PARALLEL="${raw}" (integers 1-32, comma-separated)`, 2);
    if (!out.includes(n)) out.push(n);
  }
  return out;
}

function checkTools(): void {
  const problems: string[] = [];
  const xrdp = missingPeerMessage('xrdp');
  if (xrdp) problems.push(xrdp);
  if (!which('nmap')) problems.push(`nmap not found on PATH; install the peers with \`${INSTALL_HINT}\` (as root, from the repo root)`);
  try {
    accessSync(CLI, fsConstants.R_OK);
  } catch {
    problems.push(`${CLI} is missing: build first (npm run bench:probe builds, or npx tsc -p tsconfig.json)`);
  }
  if (problems.length) throw new BenchExit(`bench: cannot run, a tool is missing:\n  - ${problems.join('\n  - ')}`, 1);
}

// ---------------------------------------------------------------------------------------------
// The measured things

interface Sample {
  ms: number;
  ok: boolean;
  /** why a run is not ok */
  problem?: string;
}

interface Row {
  name: string;
  note: string;
  samples: Sample[];
  run: () => Promise<Sample>;
}

function describeExit(r: CommandResult): string {
  if (r.timedOut) return 'timed out';
  const why = r.code !== null ? `exit ${r.code}` : `signal ${r.signal}`;
  // the error itself, not Node's trailing "Node.js v20..." line after an uncaught exception
  const lines = r.stderr.split('\n').map((l) => l.trim()).filter(Boolean);
  const err = lines.find((l) => /^(rdpsec:|\w*Error\b|Error:)/.test(l)) ?? lines[0];
  return err ? `${why}: ${err.slice(0, 300)}` : why;
}

function parsePosture(stdout: string): Posture | null {
  try {
    const p = JSON.parse(stdout) as Posture;
    return p && typeof p === 'object' && p.schemaVersion === 1 ? p : null;
  } catch {
    return null;
  }
}


// ---------------------------------------------------------------------------------------------
// What each reported

function countNmap(n: NmapEnumEncryption): string {
  const prot = Object.entries(n.protocols);
  const definite = prot.filter(([, p]) => p.result !== 'Unknown');
  const ok = definite.filter(([, p]) => p.result === 'SUCCESS').length;
  const methods = Object.entries(n.methods);
  const parts = [
    `protocols ${definite.length} definite (${ok} SUCCESS, ${definite.length - ok} FAILED; nmap cannot tell accepted from ignored)`,
    `methods ${methods.length}${methods.length ? ` (${methods.map(([m, r]) => `${m} ${r}`).join(', ')})` : ''}${n.encryptionLevel ? `, level ${n.encryptionLevel}` : ''}`,
    'TLS versions 0',
    'certificate no',
    'downgrade no',
  ];
  if (n.scriptError) parts.push(`script error: ${n.scriptError}`);
  return parts.join('; ');
}

function countRdpsec(p: Posture): string {
  const prot = Object.values(p.protocols);
  const by = (s: string) => prot.filter((x) => x.status === s).length;
  const definite = prot.length - by('error');
  const methods = Object.entries(p.standardSecurity?.methods ?? {});
  const methodsDefinite = methods.filter(([, m]) => m && m.status !== 'error');
  const imposed = methods.filter(([, m]) => m?.notOffered).length;
  const versions = Object.entries(p.tls?.versions ?? {});
  const accepted = versions.filter(([, v]) => v?.accepted).map(([v]) => v);
  const certs: string[] = [];
  if (p.tls?.certificate) certs.push(`TLS ${p.tls.certificate.keyType} ${p.tls.certificate.keyBits}${p.tls.certificate.selfSigned ? ' self-signed' : ''}`);
  if (p.standardSecurity?.certificate) certs.push(`RDP ${p.standardSecurity.certificate.type} ${p.standardSecurity.certificate.keyBits}`);
  const d = p.downgrade;
  return [
    `protocols ${definite} definite (${by('accepted')} accepted, ${by('ignored')} ignored, ${by('refused')} refused)`,
    `methods ${methodsDefinite.length}${p.standardSecurity ? ` (level ${p.standardSecurity.encryptionLevel}, ${imposed} answered with a method not offered)` : ''}`,
    `TLS versions ${versions.length} (${accepted.length} accepted${accepted.length ? `: ${accepted.join(', ')}` : ''})`,
    `certificate ${certs.length ? certs.join(' + ') : 'no'}`,
    `downgrade ${d.ok === null ? 'not checked' : d.ok ? 'checked: ok' : 'checked: NOT ok'}`,
    `${p.findings.length} findings`,
  ].join('; ');
}

// ---------------------------------------------------------------------------------------------

function fmt(ms: number): string {
  return Math.abs(ms) >= 10 ? ms.toFixed(0) : ms.toFixed(1);
}

/** The 1-minute load average (other work on the machine makes the figures noisy). */
function load(): string {
  return loadavg()[0]!.toFixed(2);
}

function printTable(rows: Row[]): void {
  const head = ['', 'runs', 'min ms', 'median ms', 'max ms'];
  const body = rows.map((r) => {
    const ok = r.samples.filter((s) => s.ok).map((s) => s.ms);
    const failed = r.samples.length - ok.length;
    const runs = `${ok.length}${failed ? ` (+${failed} failed)` : ''}`;
    if (!ok.length) return [r.name, runs, '-', '-', '-'];
    return [r.name, runs, fmt(Math.min(...ok)), fmt(median(ok)), fmt(Math.max(...ok))];
  });
  const widths = head.map((h, i) => Math.max(h.length, ...body.map((b) => b[i]!.length)));
  const line = (cells: string[]) => cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  ');
  console.log(line(head));
  for (const b of body) console.log(line(b));
}

function okMedian(r: Row): number | null {
  const ok = r.samples.filter((s) => s.ok).map((s) => s.ms);
  return ok.length ? median(ok) : null;
}

async function main(): Promise<number> {
  const runs = intEnv('BENCH_RUNS', 7, 1, 1000);
  const parallels = parallelEnv();
  checkTools();

  let peer: RunningPeer | null = null;
  const onSignal = (sig: NodeJS.Signals) => {
    process.stderr.write(`\nbench: ${sig}, stopping xrdp\n`);
    const stopping = peer ? peer.stop() : Promise.resolve();
    void stopping.finally(() => process.exit(sig === 'SIGINT' ? 130 : 143));
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);

  try {
    try {
      peer = await startXrdp('negotiate', 'high');
    } catch (err) {
      throw new BenchExit(`bench: xrdp did not start: ${(err as Error).message}`, 1);
    }
    const port = peer.port;
    const target = `127.0.0.1:${port}`;
    const nmapArgs = nmapEnumEncryptionArgs(port, { debug: false });
    console.log(`rdpsec probe vs nmap rdp-enum-encryption: xrdp (security_layer=negotiate, crypt_level=high) on ${target}`);
    console.log(`${runs} counted rounds after one warm-up; node ${process.version}; ${cpus().length} CPUs; wall time from spawn to exit`);
    const loadBefore = load();

    // filled in by the runs (an object: assignments inside closures do not narrow)
    const last: { posture: Posture | null; nmap: NmapEnumEncryption | null } = { posture: null, nmap: null };
    /** posture.durationMs reported by the CLI runs (the probe itself, inside the process), per parallel */
    const probeInsideCli = new Map<number | null, number[]>();

    const cliRows: Row[] = parallels.map((par) => {
      const args = [CLI, 'probe', target, '--json', ...(par === null ? [] : ['--parallel', String(par)])];
      probeInsideCli.set(par, []);
      return {
        name: `rdpsec probe --json${par === null ? '' : ` --parallel ${par}`}`,
        note: `node ${relative(REPO_ROOT, CLI)} ${args.slice(1).join(' ')}`,
        samples: [],
        run: async () => {
          const r = await runCommand(process.execPath, args, { cwd: REPO_ROOT, timeoutMs: 120_000 });
          const p = r.code === 0 ? parsePosture(r.stdout) : null;
          if (!p) return { ms: r.elapsedMs, ok: false, problem: r.code === 0 ? 'no JSON posture on stdout' : describeExit(r) };
          if (!p.reachable) return { ms: r.elapsedMs, ok: false, problem: 'unreachable' };
          last.posture = p;
          probeInsideCli.get(par)!.push(p.durationMs);
          return { ms: r.elapsedMs, ok: true };
        },
      };
    });
    const nmapRow: Row = {
      name: 'nmap rdp-enum-encryption',
      note: `nmap ${nmapArgs.join(' ')}`,
      samples: [],
      run: async () => {
        const r = await runCommand('nmap', nmapArgs, { timeoutMs: 120_000 });
        const n = parseNmapEnumEncryption(r.stdout);
        if (r.code !== 0) return { ms: r.elapsedMs, ok: false, problem: describeExit(r) };
        if (!n.scriptOutput) return { ms: r.elapsedMs, ok: false, problem: `no rdp-enum-encryption output${n.scriptError ? `: ${n.scriptError}` : ''}` };
        last.nmap = n;
        return { ms: r.elapsedMs, ok: true };
      },
    };
    const libRows: Row[] = parallels.map((par) => {
      const parallel = par ?? CLI_DEFAULT_PARALLEL;
      return {
        name: `probeServer() in-process, parallel ${parallel}`,
        note: 'the library alone: no process start, no module loading, no findings or report',
        samples: [],
        run: async () => {
          const t0 = performance.now();
          try {
            const p = await probeServer({ host: '127.0.0.1', port, timeoutMs: PROBE_TIMEOUT_MS, parallel });
            const ms = performance.now() - t0;
            return p.reachable ? { ms, ok: true } : { ms, ok: false, problem: 'unreachable' };
          } catch (err) {
            return { ms: performance.now() - t0, ok: false, problem: (err as Error).message };
          }
        },
      };
    });
    const versionRow: Row = {
      name: 'rdpsec --version',
      note: 'node start-up + loading every module of the CLI, no probe',
      samples: [],
      run: async () => {
        const r = await runCommand(process.execPath, [CLI, '--version'], { cwd: REPO_ROOT, timeoutMs: 60_000 });
        return r.code === 0 ? { ms: r.elapsedMs, ok: true } : { ms: r.elapsedMs, ok: false, problem: describeExit(r) };
      },
    };
    const nodeRow: Row = {
      name: 'node -e 0',
      note: 'bare node start-up and exit, for reference',
      samples: [],
      run: async () => {
        const r = await runCommand(process.execPath, ['-e', '0'], { timeoutMs: 60_000 });
        return r.code === 0 ? { ms: r.elapsedMs, ok: true } : { ms: r.elapsedMs, ok: false, problem: describeExit(r) };
      },
    };
    const rows = [...cliRows, nmapRow, ...libRows, versionRow, nodeRow];

    // warm-up (not counted): file caches, xrdp's first fork, nmap's script database
    const tty = Boolean(process.stderr.isTTY);
    const progress = (text: string) => {
      if (tty) process.stderr.write(`\r${text.padEnd(24)}`);
    };
    for (const row of rows) {
      progress(`warm-up: ${row.name.split(' ')[0]}`);
      const s = await row.run();
      if (!s.ok) console.log(`warm-up of ${row.name} failed: ${s.problem}`);
    }
    for (const v of probeInsideCli.values()) v.length = 0;

    for (let i = 0; i < runs; i++) {
      progress(`round ${i + 1}/${runs}`);
      // rotate the order so that no command always follows the same one
      const k = i % rows.length;
      for (const row of [...rows.slice(k), ...rows.slice(0, k)]) row.samples.push(await row.run());
    }
    progress('');
    if (tty) process.stderr.write('\r');
    console.log('');

    printTable(rows);
    console.log(`(1-minute load average ${loadBefore} at the start, ${load()} at the end: above ~1 per CPU the figures are noisy)`);
    console.log('');
    for (const row of rows) {
      const bad = row.samples.filter((s) => !s.ok);
      if (bad.length) console.log(`note: ${row.name}: ${bad.length} failed run(s), not counted: ${[...new Set(bad.map((s) => s.problem))].join('; ')}`);
    }

    const nmapMedian = okMedian(nmapRow);
    const versionMedian = okMedian(versionRow);
    const nodeMedian = okMedian(nodeRow);
    console.log('where the CLI\'s time goes (medians, so the parts add up only roughly):');
    for (const [j, row] of cliRows.entries()) {
      const m = okMedian(row);
      const inside = probeInsideCli.get(parallels[j]!)!;
      if (m === null || !inside.length || versionMedian === null || nodeMedian === null) continue;
      const probe = median(inside);
      const loading = versionMedian - nodeMedian;
      const rest = m - versionMedian - probe;
      console.log(
        `  ${row.name}: ${fmt(m)} ms ~ node start-up ${fmt(nodeMedian)} + module loading ${fmt(loading)}` +
          ` + probe ${fmt(probe)} (posture.durationMs) + the rest ${rest > 0 ? fmt(rest) : '~0'} (findings, report, exit)`,
      );
    }
    console.log('');
    for (const row of cliRows) {
      const m = okMedian(row);
      if (m === null || nmapMedian === null) {
        console.log(`median ratio ${row.name} / nmap: n/a (no successful runs)`);
        continue;
      }
      const ratio = m / nmapMedian;
      const met = ratio <= TARGET_RATIO;
      console.log(`median ratio rdpsec/nmap: ${ratio.toFixed(2)} (${fmt(m)} / ${fmt(nmapMedian)} ms)${cliRows.length > 1 ? ` for ${row.name}` : ''}`);
      console.log(`target: ratio <= ${TARGET_RATIO}: ${met ? 'met' : 'NOT met'}`);
    }

    console.log('');
    console.log('what each reported (last successful run):');
    console.log(`  nmap  : ${last.nmap ? countNmap(last.nmap) : 'no successful run'}`);
    console.log(`  rdpsec: ${last.posture ? countRdpsec(last.posture) : 'no successful run'}`);
    console.log('');
    console.log('commands:');
    for (const row of rows) console.log(`  ${row.name}: ${row.note}`);
    return 0;
  } finally {
    await peer?.stop();
    process.removeListener('SIGINT', onSignal);
    process.removeListener('SIGTERM', onSignal);
  }
}

runBench(main);
