/**
 * `npm run bench:serve`: pre-authentication handshakes per second and memory of `rdpsec serve`
 * against the real xrdp with the same xrdp.ini settings, in the same run, on 127.0.0.1.
 *
 * A load generator of ours (this process) keeps BENCH_CONCURRENCY (default 200) connections in
 * flight; each worker loops: TCP connect, X.224 Connection Request with an RDP_NEG_REQ (RDP, or
 * SSL for the TLS layer), Connection Confirm, the TLS handshake (TLS layer), MCS Connect Initial
 * (`buildMcsConnectInitial(DEFAULT_CLIENT_DATA, ...)`), MCS Connect Response (decoded and
 * checked: rt-successful), then a graceful close, for BENCH_SECONDS (default 10) per server and
 * at most BENCH_MAX handshakes per server. Connection openings go through one pacer shared by
 * the workers (BENCH_PACE_MS between two openings, the same for both servers).
 *
 * The servers:
 * - xrdp 0.9 from the peer harness (`startXrdp(layer, 'high')`): one process per connection
 *   (it forks), listen backlog 2. Its memory is the sum over its process group (/proc/PID/stat
 *   pgrp), its CPU the group's utime+stime (reaped children included).
 * - ours: `node dist/src/cli/main.js serve --xrdp-ini INI` as a child process, INI being a copy
 *   of the real xrdp's own xrdp.ini (same security_layer, crypt_level, certificate and key,
 *   ssl_protocols); XDG_DATA_HOME in a temp dir. Memory: /proc/PID/status VmRSS sampled, and
 *   VmHWM after a reset of the peak (`echo 5 > /proc/PID/clear_refs`) just before the load.
 *
 * Per server: a warm-up (BENCH_WARMUP_SECONDS at 20 connections, not counted), a settle, the idle
 * RSS; a hold: BENCH_CONCURRENCY connections brought to the Connect Response and kept open, so
 * the memory of pre-auth connections is seen without the churn of a load; a settle, the idle RSS
 * again; then the load (handshakes/s, failures by kind, p50/p95 latency from connect to Connect
 * Response, peak RSS, CPU). Memory per pre-auth connection = (peak RSS during the load - idle
 * RSS before it) / concurrency (the figure the target is checked on), and (RSS held - idle RSS)
 * / connections held (the hold, for information).
 *
 * Environment: BENCH_SECONDS (10), BENCH_CONCURRENCY (200), BENCH_MAX (200000 per server),
 * BENCH_PACE_MS (0.25, i.e. at most 4000 openings/s; 0 = no pacing), BENCH_TIMEOUT_MS (5000,
 * each connect, read and TLS handshake), BENCH_LAYERS (rdp,tls), BENCH_WARMUP_SECONDS (1),
 * BENCH_HOLD (1; 0 skips the hold), BENCH_SERVE_NODE_ARGS (extra node flags for our server,
 * e.g. "--cpu-prof --cpu-prof-dir=/tmp/p"), BENCH_SERVE_ARGS (extra `serve` options, e.g.
 * "--heap node" for V8's default heap settings instead of serve's own).
 *
 * Prints figures and exits 0 (it is a measurement, not a test); 1 when a peer or the built CLI
 * is missing or a server does not start; 2 on a bad BENCH_* value. Loopback only; every run
 * stops by itself (time and count caps, timeouts on every wait); both servers are stopped at the
 * end, also on Ctrl-C.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { accessSync, constants as fsConstants, copyFileSync, mkdtempSync, openSync, closeSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort, missingPeerMessage, REPO_ROOT, startXrdp, type RunningPeer } from '../test/peers/harness.js';
import { buildMcsConnectInitial, DEFAULT_CLIENT_DATA, readMcsConnectResponse } from '../src/connector/mcs-connect.js';
import { DecodeError } from '../src/pdu/errors.js';
import { PROTOCOL, failureCodeName } from '../src/pdu/nego.js';
import { TPKT_HINT } from '../src/pdu/tpkt.js';
import { decodeServerConnectionAnswer, encodeConnectionRequest } from '../src/pdu/x224.js';
import { connectPacer } from '../src/probe/attempt.js';
import { TransportError } from '../src/transport/errors.js';
import { RdpSocket } from '../src/transport/socket.js';
import { BenchExit, runBench } from './common.js';

const TARGET_RATIO = 2;
const TARGET_BYTES_PER_CONNECTION = 64 * 1024;
const CLI = join(REPO_ROOT, 'dist', 'src', 'cli', 'main.js');
const HOST = '127.0.0.1';
const CLOSE_GRACE_MS = 250;
const SAMPLE_MS = 100;
const WARMUP_CONCURRENCY = 20;
const PAGE = 4096;


// ---------------------------------------------------------------------------------------------
// Settings

function numEnv(name: string, fallback: number, min: number, max: number, integer: boolean): number {
  const raw = process.env[name];
  if (raw === undefined || raw.trim() === '') return fallback;
  const n = Number(raw);
  if (!Number.isFinite(n) || (integer && !Number.isInteger(n)) || n < min || n > max) {
    throw new BenchExit(`bench: invalid ${name}="${raw}" (${integer ? 'an integer' : 'a number'} ${min}-${max})`, 2);
  }
  return n;
}

type Layer = 'rdp' | 'tls';

interface Settings {
  seconds: number;
  concurrency: number;
  max: number;
  paceMs: number;
  timeoutMs: number;
  layers: Layer[];
  warmupSeconds: number;
  hold: boolean;
  serveNodeArgs: string[];
  serveArgs: string[];
}

function settings(): Settings {
  const rawLayers = (process.env.BENCH_LAYERS ?? '').trim() || 'rdp,tls';
  const layers: Layer[] = [];
  for (const l of rawLayers.split(',').map((s) => s.trim())) {
    if (l !== 'rdp' && l !== 'tls') throw new BenchExit(`bench: invalid BENCH_LAYERS="${rawLayers}" (rdp, tls, comma-separated)`, 2);
    if (!layers.includes(l)) layers.push(l);
  }
  const hold = (process.env.BENCH_HOLD ?? '1').trim();
  if (hold !== '0' && hold !== '1' && hold !== '') throw new BenchExit(`bench: invalid BENCH_HOLD="${hold}" (0 or 1)`, 2);
  return {
    seconds: numEnv('BENCH_SECONDS', 10, 1, 600, false),
    concurrency: numEnv('BENCH_CONCURRENCY', 200, 1, 5000, true),
    max: numEnv('BENCH_MAX', 200_000, 1, 10_000_000, true),
    paceMs: numEnv('BENCH_PACE_MS', 0.25, 0, 1000, false),
    timeoutMs: numEnv('BENCH_TIMEOUT_MS', 5000, 100, 60_000, true),
    layers,
    warmupSeconds: numEnv('BENCH_WARMUP_SECONDS', 1, 0, 60, false),
    hold: hold !== '0',
    serveNodeArgs: (process.env.BENCH_SERVE_NODE_ARGS ?? '').split(/\s+/).filter(Boolean),
    serveArgs: (process.env.BENCH_SERVE_ARGS ?? '').split(/\s+/).filter(Boolean),
  };
}

function checkTools(): void {
  const problems: string[] = [];
  const xrdp = missingPeerMessage('xrdp');
  if (xrdp) problems.push(xrdp);
  try {
    accessSync(CLI, fsConstants.R_OK);
  } catch {
    problems.push(`${CLI} is missing: build first (npm run bench:serve builds, or npx tsc -p tsconfig.json)`);
  }
  try {
    accessSync('/proc/self/status', fsConstants.R_OK);
  } catch {
    problems.push('/proc is not readable (memory is read from /proc/PID/status and /proc/PID/stat: Linux only)');
  }
  if (problems.length) throw new BenchExit(`bench: cannot run, something is missing:\n  - ${problems.join('\n  - ')}`, 1);
}

// ---------------------------------------------------------------------------------------------
// /proc

/** utime+stime (+ cutime+cstime: reaped children), process group and RSS from /proc/PID/stat. */
interface ProcStat {
  pid: number;
  pgrp: number;
  cpuTicks: number;
  childTicks: number;
  rssBytes: number;
}

const CLK_TCK = 100; // USER_HZ on Linux

function readStat(pid: number): ProcStat | null {
  let text: string;
  try {
    text = readFileSync(`/proc/${pid}/stat`, 'latin1');
  } catch {
    return null; // gone
  }
  // "pid (comm) state ppid pgrp ...": comm may hold spaces and parentheses, cut at the last ')'
  const f = text.slice(text.lastIndexOf(')') + 2).split(' ');
  // fields from `state` (field 3): pgrp 5, utime 14, stime 15, cutime 16, cstime 17, rss 24
  const at = (field: number): number => Number(f[field - 3]);
  return { pid, pgrp: at(5), cpuTicks: at(14) + at(15), childTicks: at(16) + at(17), rssBytes: at(24) * PAGE };
}

function statusKiB(pid: number, key: string): number | null {
  try {
    const m = new RegExp(`^${key}:\\s+(\\d+) kB`, 'm').exec(readFileSync(`/proc/${pid}/status`, 'latin1'));
    return m ? Number(m[1]) : null;
  } catch {
    return null;
  }
}

/** Proportional set size (shared pages split between the processes that map them). */
function pssBytes(pid: number): number | null {
  try {
    const m = /^Pss:\s+(\d+) kB/m.exec(readFileSync(`/proc/${pid}/smaps_rollup`, 'latin1'));
    return m ? Number(m[1]) * 1024 : null;
  } catch {
    return null;
  }
}

/** Every process whose process group is `pgid` (xrdp leads its own group: xrdp-serve uses setsid). */
function groupStats(pgid: number): ProcStat[] {
  const out: ProcStat[] = [];
  for (const name of readdirSync('/proc')) {
    const c = name.charCodeAt(0);
    if (c < 48 || c > 57) continue;
    const s = readStat(Number(name));
    if (s && s.pgrp === pgid) out.push(s);
  }
  return out;
}

/** What the bench reads of a server's processes. */
interface Measured {
  /** resident bytes now (the sum over the processes) */
  rss(): number;
  /** processes now */
  processes(): number;
  /** CPU milliseconds used so far (reaped children included) */
  cpuMs(): number;
  /** proportional set size, summed (null when smaps_rollup is unreadable) */
  pss(): number | null;
  /** reset the kernel's peak RSS; false when it cannot */
  resetPeak(): boolean;
  /** the kernel's peak RSS since the reset (null when not tracked) */
  peak(): number | null;
}

function singleProcess(pid: number): Measured {
  return {
    rss: () => (statusKiB(pid, 'VmRSS') ?? 0) * 1024,
    processes: () => (readStat(pid) ? 1 : 0),
    cpuMs: () => {
      const s = readStat(pid);
      return s ? ((s.cpuTicks + s.childTicks) * 1000) / CLK_TCK : 0;
    },
    pss: () => pssBytes(pid),
    resetPeak: () => {
      try {
        writeFileSync(`/proc/${pid}/clear_refs`, '5');
        return true;
      } catch {
        return false;
      }
    },
    peak: () => {
      const k = statusKiB(pid, 'VmHWM');
      return k === null ? null : k * 1024;
    },
  };
}

function processGroup(pgid: number): Measured {
  return {
    rss: () => groupStats(pgid).reduce((a, s) => a + s.rssBytes, 0),
    processes: () => groupStats(pgid).length,
    cpuMs: () => {
      // live processes' own time, plus what the leader has reaped (children that exited)
      const all = groupStats(pgid);
      const ticks = all.reduce((a, s) => a + s.cpuTicks + (s.pid === pgid ? s.childTicks : 0), 0);
      return (ticks * 1000) / CLK_TCK;
    },
    pss: () => {
      let sum = 0;
      for (const s of groupStats(pgid)) {
        const p = pssBytes(s.pid);
        if (p === null) {
          if (readStat(s.pid)) return null; // there but unreadable
          continue; // exited meanwhile
        }
        sum += p;
      }
      return sum;
    },
    resetPeak: () => false,
    peak: () => null,
  };
}

/** Samples RSS every SAMPLE_MS; keeps the largest. */
function rssSampler(m: Measured): { stop(): { max: number; samples: number } } {
  let max = m.rss();
  let samples = 1;
  const timer = setInterval(() => {
    const r = m.rss();
    samples++;
    if (r > max) max = r;
  }, SAMPLE_MS);
  return {
    stop() {
      clearInterval(timer);
      const r = m.rss();
      if (r > max) max = r;
      return { max, samples: samples + 1 };
    },
  };
}

// ---------------------------------------------------------------------------------------------
// The client side of one handshake

const REQUESTED: Record<Layer, number> = { rdp: PROTOCOL.RDP, tls: PROTOCOL.SSL };
const CONNECTION_REQUEST: Record<Layer, Buffer> = {
  rdp: encodeConnectionRequest({ cookie: 'rdpsecbench', negReq: { type: 'RDP_NEG_REQ', flags: 0, requestedProtocols: PROTOCOL.RDP } }),
  tls: encodeConnectionRequest({ cookie: 'rdpsecbench', negReq: { type: 'RDP_NEG_REQ', flags: 0, requestedProtocols: PROTOCOL.SSL } }),
};
const CONNECT_INITIAL: Record<Layer, Buffer> = {
  rdp: buildMcsConnectInitial(DEFAULT_CLIENT_DATA, PROTOCOL.RDP),
  tls: buildMcsConnectInitial(DEFAULT_CLIENT_DATA, PROTOCOL.SSL),
};

class HandshakeFailure extends Error {
  constructor(readonly kind: string) {
    super(kind);
  }
}

interface Handshake {
  ok: boolean;
  /** failure kind: "PHASE: KIND" ("connect: timeout", "x224: closed", "mcs: result ...") */
  kind?: string;
  /** connect to Connect Response (or to the failure) */
  ms: number;
  endedAt: number;
  sock?: RdpSocket;
}

/**
 * One handshake up to the MCS Connect Response. `keep`: leave the socket open (the hold phase);
 * otherwise close it gracefully (our FIN, the server's, within CLOSE_GRACE_MS).
 */
async function handshake(port: number, layer: Layer, timeoutMs: number, keep: boolean): Promise<Handshake> {
  const t0 = performance.now();
  let sock: RdpSocket | undefined;
  let result: Handshake;
  try {
    sock = await RdpSocket.connect(HOST, port, { timeoutMs });
    await sock.write(CONNECTION_REQUEST[layer], { phase: 'x224', timeoutMs });
    const answer = decodeServerConnectionAnswer(await sock.readPdu(TPKT_HINT, { timeoutMs, phase: 'x224' }));
    if (answer.tpdu === 'DR') throw new HandshakeFailure('x224: disconnect request');
    const neg = answer.negotiation;
    if (neg?.type === 'RDP_NEG_FAILURE') throw new HandshakeFailure(`x224: RDP_NEG_FAILURE ${failureCodeName(neg.failureCode)}`);
    const selected = neg ? neg.selectedProtocol : PROTOCOL.RDP;
    if (selected !== REQUESTED[layer]) throw new HandshakeFailure(`x224: selected protocol ${selected}, asked ${REQUESTED[layer]}`);
    if (layer === 'tls') await sock.upgradeToTls({ timeoutMs, phase: 'tls' });
    await sock.write(CONNECT_INITIAL[layer], { phase: 'mcs', timeoutMs });
    const reply = readMcsConnectResponse(await sock.readPdu(TPKT_HINT, { timeoutMs, phase: 'mcs' }));
    if (reply.kind === 'disconnect') throw new HandshakeFailure(`mcs: disconnect ${reply.reasonName}`);
    if (reply.result !== 0) throw new HandshakeFailure(`mcs: result ${reply.resultName}`);
    if (layer === 'rdp' && !reply.serverSecurity?.serverCertificate) throw new HandshakeFailure('mcs: no server certificate');
    const now = performance.now();
    result = { ok: true, ms: now - t0, endedAt: now };
  } catch (err) {
    const now = performance.now();
    let kind: string;
    if (err instanceof HandshakeFailure) kind = err.kind;
    else if (err instanceof TransportError) kind = `${err.phase}: ${err.kind}${err.code ? ` ${err.code}` : ''}`;
    else if (err instanceof DecodeError) kind = `malformed ${err.root().pdu}`;
    else throw err;
    result = { ok: false, kind, ms: now - t0, endedAt: now };
  }
  if (sock) {
    if (keep && result.ok) result.sock = sock;
    else await sock.close(CLOSE_GRACE_MS);
  }
  return result;
}

// ---------------------------------------------------------------------------------------------
// Load

interface LoadResult {
  ok: number;
  failures: Map<string, number>;
  latencies: number[];
  /** the counted window: start to the deadline, or to the last handshake when the cap came first */
  windowMs: number;
  started: number;
  /** this process's CPU during the window */
  generatorCpuMs: number;
}

async function runLoad(port: number, layer: Layer, o: { concurrency: number; seconds: number; max: number; paceMs: number; timeoutMs: number }): Promise<LoadResult> {
  const pace = o.paceMs > 0 ? connectPacer(o.paceMs) : () => Promise.resolve();
  const cpu0 = process.cpuUsage();
  const start = performance.now();
  const deadline = start + o.seconds * 1000;
  const res: LoadResult = { ok: 0, failures: new Map(), latencies: [], windowMs: 0, started: 0, generatorCpuMs: 0 };
  let lastEnd = start;
  const worker = async (): Promise<void> => {
    while (performance.now() < deadline && res.started < o.max) {
      res.started++;
      await pace();
      if (performance.now() >= deadline) {
        res.started--; // never opened
        break;
      }
      const h = await handshake(port, layer, o.timeoutMs, false);
      if (h.endedAt > deadline) continue; // finished after the window: not counted
      lastEnd = Math.max(lastEnd, h.endedAt);
      if (h.ok) {
        res.ok++;
        res.latencies.push(h.ms);
      } else {
        res.failures.set(h.kind!, (res.failures.get(h.kind!) ?? 0) + 1);
      }
    }
  };
  await Promise.all(Array.from({ length: o.concurrency }, worker));
  const cpu = process.cpuUsage(cpu0);
  res.windowMs = res.started >= o.max ? lastEnd - start : o.seconds * 1000;
  res.generatorCpuMs = (cpu.user + cpu.system) / 1000;
  return res;
}

interface HoldResult {
  held: number;
  failures: Map<string, number>;
  /** time to bring them all up */
  ms: number;
  rss: number;
  pss: number | null;
  processes: number;
}

/** Bring `n` connections to the Connect Response, keep them open, measure, close them. */
async function runHold(port: number, layer: Layer, n: number, paceMs: number, timeoutMs: number, m: Measured): Promise<HoldResult> {
  const pace = paceMs > 0 ? connectPacer(paceMs) : () => Promise.resolve();
  const t0 = performance.now();
  const all = await Promise.all(
    Array.from({ length: n }, async () => {
      await pace();
      return handshake(port, layer, timeoutMs, true);
    }),
  );
  const ms = performance.now() - t0;
  await sleep(300); // let the server finish writing and settle
  const out: HoldResult = { held: 0, failures: new Map(), ms, rss: m.rss(), pss: m.pss(), processes: m.processes() };
  for (const h of all) {
    if (h.ok) out.held++;
    else out.failures.set(h.kind!, (out.failures.get(h.kind!) ?? 0) + 1);
  }
  await Promise.all(all.map((h) => h.sock?.close(CLOSE_GRACE_MS)));
  return out;
}

// ---------------------------------------------------------------------------------------------
// Servers

interface Server {
  name: string;
  port: number;
  measured: Measured;
  /** where it logs (one line per connection for ours, xrdp's DEBUG log) */
  log: string;
  stop(): Promise<void>;
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

async function startOurs(ini: string, workDir: string, s: Settings): Promise<Server> {
  const port = await freePort();
  const log = join(workDir, 'serve.log');
  const errLog = join(workDir, 'serve.err');
  const outFd = openSync(log, 'w');
  const errFd = openSync(errLog, 'w');
  const args = [
    ...s.serveNodeArgs,
    CLI,
    'serve',
    '--port',
    String(port),
    '--xrdp-ini',
    ini,
    '--max-connections',
    String(Math.max(1000, s.concurrency * 2)),
    ...s.serveArgs,
  ];
  let child: ChildProcess;
  try {
    child = spawn(process.execPath, args, {
      cwd: REPO_ROOT,
      env: { ...process.env, XDG_DATA_HOME: join(workDir, 'xdg') },
      stdio: ['ignore', outFd, errFd],
    });
  } finally {
    closeSync(outFd);
    closeSync(errFd);
  }
  let exited: string | null = null;
  const exitedP = new Promise<void>((r) =>
    child.once('exit', (code, signal) => {
      exited = code !== null ? `exit ${code}` : `signal ${signal}`;
      r();
    }),
  );
  child.once('error', (err) => {
    exited = err.message;
  });
  const deadline = Date.now() + 20_000;
  for (;;) {
    if (readFileSync(log, 'utf8').includes('listening on')) break;
    if (exited !== null || Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new BenchExit(
        `bench: rdpsec serve did not start (${exited ?? 'not listening after 20 s'}): ${readFileSync(errLog, 'utf8').trim().slice(0, 500)}`,
        1,
      );
    }
    await sleep(50);
  }
  const pid = child.pid!;
  return {
    name: 'rdpsec serve',
    port,
    measured: singleProcess(pid),
    log,
    async stop() {
      if (exited !== null) return;
      child.kill('SIGTERM'); // serve closes its listeners and exits (profiles written then)
      const killer = setTimeout(() => child.kill('SIGKILL'), 10_000);
      await exitedP;
      clearTimeout(killer);
    },
  };
}

function xrdpServer(peer: RunningPeer): Server {
  return { name: 'xrdp', port: peer.port, measured: processGroup(peer.pid), log: peer.log, stop: () => peer.stop() };
}

// ---------------------------------------------------------------------------------------------
// One measurement

interface Measurement {
  server: string;
  layer: Layer;
  /** RSS after the warm-up, before the hold */
  idleRss: number;
  /** PSS at the same time (null when unreadable) */
  idlePss: number | null;
  /** RSS right before the load (after the hold, when there is one) */
  loadIdleRss: number;
  idleProcesses: number;
  load: LoadResult;
  peakRss: number;
  /** how the peak was read */
  peakSource: string;
  serverCpuMs: number;
  hold: HoldResult | null;
  warmupFailures: number;
}

async function measure(server: Server, layer: Layer, s: Settings): Promise<Measurement> {
  const m = server.measured;
  let warmupFailures = 0;
  if (s.warmupSeconds > 0) {
    // JIT, lazily loaded modules, xrdp's first forks; not counted
    const w = await runLoad(server.port, layer, { ...s, concurrency: Math.min(WARMUP_CONCURRENCY, s.concurrency), seconds: s.warmupSeconds });
    warmupFailures = [...w.failures.values()].reduce((a, b) => a + b, 0);
  }
  await sleep(1000); // closes finish, xrdp's children exit
  const idleRss = m.rss();
  const idlePss = m.pss();
  const idleProcesses = m.processes();
  // the hold first, while the heap is still the size the warm-up left it
  let hold: HoldResult | null = null;
  if (s.hold) {
    hold = await runHold(server.port, layer, s.concurrency, s.paceMs, s.timeoutMs, m);
    await sleep(1000);
  }
  const loadIdleRss = m.rss();
  const peakReset = m.resetPeak();
  const sampler = rssSampler(m);
  const cpu0 = m.cpuMs();
  const load = await runLoad(server.port, layer, s);
  const cpu1 = m.cpuMs();
  const sampled = sampler.stop();
  const kernelPeak = peakReset ? m.peak() : null;
  const peakRss = Math.max(sampled.max, kernelPeak ?? 0);
  const peakSource = kernelPeak !== null ? `VmHWM since reset${kernelPeak < sampled.max ? ' (sample higher)' : ''}` : `max of ${sampled.samples} samples`;
  return { server: server.name, layer, idleRss, idlePss, loadIdleRss, idleProcesses, load, peakRss, peakSource, serverCpuMs: cpu1 - cpu0, hold, warmupFailures };
}

// ---------------------------------------------------------------------------------------------
// Report

function percentile(sorted: number[], p: number): number | null {
  if (!sorted.length) return null;
  const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[i]!;
}

const mib = (b: number): string => (b / (1024 * 1024)).toFixed(1);
const kib = (b: number): string => (b / 1024).toFixed(1);
const ms = (x: number | null): string => (x === null ? '-' : x >= 100 ? x.toFixed(0) : x.toFixed(1));

function rate(m: Measurement): number {
  return m.load.windowMs > 0 ? (m.load.ok * 1000) / m.load.windowMs : 0;
}
function failures(m: Map<string, number>): number {
  return [...m.values()].reduce((a, b) => a + b, 0);
}
function perConnectionLoad(m: Measurement, concurrency: number): number {
  return Math.max(0, m.peakRss - m.loadIdleRss) / concurrency;
}
function perConnectionHeld(m: Measurement): number | null {
  return m.hold && m.hold.held > 0 ? Math.max(0, m.hold.rss - m.idleRss) / m.hold.held : null;
}
function pssPerConnectionHeld(m: Measurement): number | null {
  return m.hold && m.hold.held > 0 && m.hold.pss !== null && m.idlePss !== null ? Math.max(0, m.hold.pss - m.idlePss) / m.hold.held : null;
}

function printTable(head: string[], body: string[][]): void {
  const widths = head.map((h, i) => Math.max(h.length, ...body.map((b) => b[i]!.length)));
  const line = (cells: string[]) => cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  ');
  console.log(line(head));
  for (const b of body) console.log(line(b));
}

function report(layer: Layer, ours: Measurement, xrdp: Measurement, s: Settings): { ratio: number; perConn: number } {
  console.log('');
  console.log(`== security_layer=${layer} crypt_level=high: ${layer === 'rdp' ? 'RDP_NEG_REQ RDP, Standard RDP Security' : 'RDP_NEG_REQ SSL, TLS handshake, then MCS'}`);
  const head = ['', 'handshakes/s', 'ok', 'failed', 'p50 ms', 'p95 ms', 'idle RSS MiB', 'peak RSS MiB', 'KiB/conn', 'server CPU ms/hs', 'gen CPU %'];
  const body = [ours, xrdp].map((m) => {
    const sorted = [...m.load.latencies].sort((a, b) => a - b);
    return [
      m.server,
      rate(m).toFixed(0),
      String(m.load.ok),
      String(failures(m.load.failures)),
      ms(percentile(sorted, 50)),
      ms(percentile(sorted, 95)),
      mib(m.loadIdleRss),
      mib(m.peakRss),
      kib(perConnectionLoad(m, s.concurrency)),
      m.load.ok ? (m.serverCpuMs / m.load.ok).toFixed(2) : '-',
      ((m.load.generatorCpuMs / m.load.windowMs) * 100).toFixed(0),
    ];
  });
  printTable(head, body);
  const paceCap = s.paceMs > 0 ? 1000 / s.paceMs : Infinity;
  for (const m of [ours, xrdp]) {
    if (rate(m) >= 0.9 * paceCap) {
      console.log(`  ${m.server}: PACING-BOUND: ${rate(m).toFixed(0)}/s is >= 90% of the ${paceCap.toFixed(0)} openings/s that BENCH_PACE_MS=${s.paceMs} allows; lower it to see the server's own limit`);
    }
    if (m.load.failures.size) {
      const kinds = [...m.load.failures.entries()].sort((a, b) => b[1] - a[1]).map(([k, n]) => `${k} x${n}`);
      console.log(`  ${m.server} failures: ${kinds.join('; ')}`);
    }
    if (m.warmupFailures) console.log(`  ${m.server}: ${m.warmupFailures} failure(s) during the warm-up (not counted)`);
    console.log(
      `  ${m.server}: ${m.load.started} started in ${(m.load.windowMs / 1000).toFixed(1)} s; server CPU ${(m.serverCpuMs / 1000).toFixed(1)} s ` +
        `(${((m.serverCpuMs / m.load.windowMs) * 100).toFixed(0)}% of one CPU); peak: ${m.peakSource}; ${m.idleProcesses} process(es) idle`,
    );
  }
  if (s.hold) {
    console.log(`  hold: ${s.concurrency} connections brought to the Connect Response and kept open:`);
    const hh = ['', 'held', 'failed', 'up in ms', 'processes', 'idle RSS MiB', 'RSS MiB', 'RSS-idle KiB/conn', 'idle PSS MiB', 'PSS MiB', 'PSS-idle KiB/conn'];
    const hb = [ours, xrdp].map((m) => {
      const h = m.hold!;
      const per = perConnectionHeld(m);
      const pssPer = pssPerConnectionHeld(m);
      return [
        `  ${m.server}`,
        String(h.held),
        String(failures(h.failures)),
        ms(h.ms),
        String(h.processes),
        mib(m.idleRss),
        mib(h.rss),
        per === null ? '-' : kib(per),
        m.idlePss === null ? '-' : mib(m.idlePss),
        h.pss === null ? '-' : mib(h.pss),
        pssPer === null ? '-' : kib(pssPer),
      ];
    });
    printTable(hh, hb);
    for (const m of [ours, xrdp]) {
      if (m.hold!.failures.size) console.log(`    ${m.server} hold failures: ${[...m.hold!.failures.entries()].map(([k, n]) => `${k} x${n}`).join('; ')}`);
    }
  }
  const xr = rate(xrdp);
  const ratio = xr > 0 ? rate(ours) / xr : Infinity;
  const perConn = perConnectionLoad(ours, s.concurrency);
  const paced = rate(ours) >= 0.9 * paceCap;
  console.log(
    `  ratio ours/xrdp handshakes/s: ${Number.isFinite(ratio) ? ratio.toFixed(2) : 'xrdp completed none'}: target >= ${TARGET_RATIO}x: ` +
      (ratio >= TARGET_RATIO ? 'met' : paced ? 'not measurable (ours is PACING-BOUND)' : 'NOT met'),
  );
  console.log(
    `  memory per pre-auth connection (ours, (peak - idle) / ${s.concurrency}): ${kib(perConn)} KiB: target < ${TARGET_BYTES_PER_CONNECTION / 1024} KiB: ${perConn < TARGET_BYTES_PER_CONNECTION ? 'met' : 'NOT met'}` +
      (perConnectionHeld(ours) !== null ? ` (held: ${kib(perConnectionHeld(ours)!)} KiB)` : ''),
  );
  return { ratio: paced && ratio < TARGET_RATIO ? NaN : ratio, perConn };
}

// ---------------------------------------------------------------------------------------------

async function main(): Promise<number> {
  const s = settings();
  checkTools();
  const stoppers: (() => Promise<void>)[] = [];
  const workDirs: string[] = [];
  const onSignal = (sig: NodeJS.Signals) => {
    process.stderr.write(`\nbench: ${sig}, stopping the servers\n`);
    void Promise.allSettled(stoppers.map((f) => f())).finally(() => process.exit(sig === 'SIGINT' ? 130 : 143));
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);

  console.log(
    `rdpsec serve vs xrdp: ${s.concurrency} concurrent clients, ${s.seconds} s per server and layer (at most ${s.max} handshakes), ` +
      `connect pacing ${s.paceMs > 0 ? `${s.paceMs} ms` : 'none'} (both), timeouts ${s.timeoutMs} ms`,
  );
  console.log(`node ${process.version}; ${cpus().length} CPUs (the generator, this process, shares them with the server); 1-minute load average ${loadavg()[0]!.toFixed(2)}`);
  const verdicts: { layer: Layer; ratio: number; perConn: number }[] = [];
  try {
    for (const [i, layer] of s.layers.entries()) {
      let peer: RunningPeer;
      try {
        peer = await startXrdp(layer, 'high');
      } catch (err) {
        throw new BenchExit(`bench: xrdp did not start: ${(err as Error).message}`, 1);
      }
      stoppers.push(() => peer.stop());
      const workDir = mkdtempSync(join(tmpdir(), 'rdpsec-bench-serve-'));
      workDirs.push(workDir);
      // the real xrdp's own xrdp.ini: the same security_layer, crypt_level, certificate, key_file, ssl_protocols
      const ini = join(workDir, 'xrdp.ini');
      copyFileSync(join(peer.dir, 'xrdp.ini'), ini);
      const ours = await startOurs(ini, workDir, s);
      stoppers.push(() => ours.stop());
      const xrdp = xrdpServer(peer);
      console.log(`\n${layer}: xrdp pid ${peer.pid} on :${xrdp.port}; rdpsec serve on :${ours.port} with a copy of its xrdp.ini${s.serveNodeArgs.length ? ` (node ${s.serveNodeArgs.join(' ')})` : ''}${s.serveArgs.length ? ` (serve ${s.serveArgs.join(' ')})` : ''}`);
      // alternate which server goes first from layer to layer
      const order = i % 2 === 0 ? [ours, xrdp] : [xrdp, ours];
      const results = new Map<Server, Measurement>();
      for (const server of order) {
        if (process.stderr.isTTY) process.stderr.write(`  measuring ${server.name} (${layer})...\n`);
        results.set(server, await measure(server, layer, s));
        await sleep(1000);
      }
      await ours.stop();
      const ourLines = readFileSync(ours.log, 'utf8').split('\n').filter((l) => / -> :\d+ /.test(l)).length;
      await peer.stop();
      const v = report(layer, results.get(ours)!, results.get(xrdp)!, s);
      console.log(`  (rdpsec serve logged ${ourLines} connections)`);
      verdicts.push({ layer, ...v });
    }
  } finally {
    await Promise.allSettled(stoppers.map((f) => f()));
    for (const d of workDirs) rmSync(d, { recursive: true, force: true });
  }
  console.log('');
  for (const v of verdicts) {
    console.log(
      `${v.layer}: ours/xrdp ${Number.isNaN(v.ratio) ? 'pacing-bound' : Number.isFinite(v.ratio) ? `${v.ratio.toFixed(2)}x` : 'inf'} ` +
        `(target >= ${TARGET_RATIO}x: ${v.ratio >= TARGET_RATIO ? 'met' : Number.isNaN(v.ratio) ? 'not measurable' : 'not met'}); ` +
        `${kib(v.perConn)} KiB per pre-auth connection (target < ${TARGET_BYTES_PER_CONNECTION / 1024} KiB: ${v.perConn < TARGET_BYTES_PER_CONNECTION ? 'met' : 'not met'})`,
    );
  }
  console.log(`(1-minute load average at the end ${loadavg()[0]!.toFixed(2)}; above ~1 per CPU the figures are noisy)`);
  return 0;
}

runBench(main, { exit: true });
