/**
 * Helpers for tests against real RDP peers on loopback (xrdp, the FreeRDP shadow server, nmap,
 * xfreerdp), driven through the scripts in `<repo>/../shared/peers/` (see its README.md).
 *
 * - A test that needs a peer starts with `if (!skipOrFail(t, 'xrdp')) return;`: when the peer is
 *   missing the test is skipped, or FAILS when RDPSEC_REQUIRE_PEERS=1 (CI with peers installed).
 * - `startXrdp` / `startShadow` pick a free 127.0.0.1 port, run `xrdp-serve` / `shadow-serve`,
 *   and return a handle whose `stop()` runs `stop DIR` and removes DIR. Pass the TestContext
 *   (`{ t }`) to have it stopped by `t.after` even when the test fails; a process 'exit' hook
 *   stops anything still running as a last resort.
 * - `readXrdpSecurityLog` parses the xrdp log lines that say what was negotiated.
 *
 * Everything listens on and connects to 127.0.0.1 only.
 */
import { execFile, spawnSync } from 'node:child_process';
import { accessSync, constants as fsConstants, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { createServer, Socket } from 'node:net';
import { delimiter, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { TestContext } from 'node:test';

// ---------------------------------------------------------------------------------------------
// Locations

/** The repository root (this module compiles to <repo>/dist/test/peers/harness.js). */
export const REPO_ROOT = fileURLToPath(new URL('../../../', import.meta.url));
/** `<repo>/../shared`: the peer scripts and the captures, shared by all checkouts. */
export const SHARED_DIR = join(REPO_ROOT, '..', 'shared');
export const PEERS_DIR = join(SHARED_DIR, 'peers');
/** How to install the peers, as said in skip / failure messages (run from the repo root, as root). */
export const INSTALL_HINT = 'bash ../shared/peers/install-peers';
/** impacket's example script as Debian ships it (python3-impacket 0.10.0). */
export const IMPACKET_RDP_CHECK = '/usr/share/doc/python3-impacket/examples/rdp_check.py';

const LOOPBACK = '127.0.0.1';

// ---------------------------------------------------------------------------------------------
// Availability

export type PeerKind = 'xrdp' | 'shadow' | 'nmap' | 'xfreerdp' | 'rdesktop' | 'impacket' | 'winpr-hash' | 'chromium';

/** Debian's chromium package (installed by .ci/run); the HTML report test drives it with playwright-core. */
export const CHROMIUM = '/usr/bin/chromium';

/** True when env RDPSEC_REQUIRE_PEERS=1: a missing peer then fails the test instead of skipping it. */
export function requirePeers(): boolean {
  return process.env.RDPSEC_REQUIRE_PEERS === '1';
}

/** Full path of an executable found on PATH, or null. */
export function which(name: string): string | null {
  for (const dir of (process.env.PATH ?? '').split(delimiter)) {
    if (!dir) continue;
    const p = join(dir, name);
    try {
      accessSync(p, fsConstants.X_OK);
      return p;
    } catch {
      // not here
    }
  }
  return null;
}

function readable(path: string): boolean {
  try {
    accessSync(path, fsConstants.R_OK);
    return true;
  } catch {
    return false;
  }
}

/** What each kind needs: binaries on PATH, readable files, the shared scripts. */
const REQUIREMENTS: Record<PeerKind, { bins: string[]; files: string[] }> = {
  // xrdp 0.9 always reads /etc/xrdp/rsakeys.ini (mode 0600: needs root)
  xrdp: { bins: ['xrdp', 'openssl', 'ss'], files: ['/etc/xrdp/rsakeys.ini', join(PEERS_DIR, 'xrdp-serve'), join(PEERS_DIR, 'stop')] },
  shadow: { bins: ['freerdp-shadow-cli', 'Xvfb', 'ss'], files: [join(PEERS_DIR, 'shadow-serve'), join(PEERS_DIR, 'stop')] },
  nmap: { bins: ['nmap'], files: [] },
  // X11 client: needs a display even for +auth-only, so xvfb-run too
  xfreerdp: { bins: ['xfreerdp', 'xvfb-run'], files: [] },
  rdesktop: { bins: ['rdesktop', 'xvfb-run'], files: [] },
  // Debian's python3-impacket, for /usr/bin/python3 only (not pyenv's python3 earlier on PATH)
  impacket: { bins: [], files: ['/usr/bin/python3', IMPACKET_RDP_CHECK, join(PEERS_DIR, 'rdp_check_port.py')] },
  'winpr-hash': { bins: ['winpr-hash'], files: [] },
  // Debian's binary at its own path, never a browser a test tool downloaded
  chromium: { bins: [], files: [CHROMIUM] },
};

const availability = new Map<string, string | null>();

/** Why a peer cannot be used here (null when it can). Cached per process (and PATH). */
export function missingPeerReason(kind: PeerKind): string | null {
  const key = `${kind}\0${process.env.PATH ?? ''}`;
  if (availability.has(key)) return availability.get(key)!;
  const req = REQUIREMENTS[kind];
  const problems: string[] = [];
  for (const b of req.bins) if (!which(b)) problems.push(`${b} not found on PATH`);
  for (const f of req.files) if (!readable(f)) problems.push(`${f} is missing or not readable`);
  const reason = problems.length === 0 ? null : problems.join('; ');
  availability.set(key, reason);
  return reason;
}

/** True when the peer's binaries are on PATH (and, for xrdp, /etc/xrdp/rsakeys.ini is readable). */
export function peerAvailable(kind: PeerKind): boolean {
  return missingPeerReason(kind) === null;
}

/** The skip / failure message for a missing peer. */
export function missingPeerMessage(kind: PeerKind): string | null {
  const reason = missingPeerReason(kind);
  if (reason === null) return null;
  return `peer "${kind}" is not available (${reason}); install the peers with \`${INSTALL_HINT}\` (as root, from the repo root)`;
}

/**
 * Gate a test on peers. Returns true when all are available. Otherwise: with
 * RDPSEC_REQUIRE_PEERS=1 throws (the test FAILS, naming the missing peer and the install
 * command); without it marks the test skipped and returns false (the caller then returns).
 *
 *   it('...', async (t) => { if (!skipOrFail(t, 'xrdp', 'xfreerdp')) return; ... });
 */
export function skipOrFail(t: TestContext, ...kinds: PeerKind[]): boolean {
  const messages = kinds.map(missingPeerMessage).filter((m): m is string => m !== null);
  if (messages.length === 0) return true;
  const text = messages.join('\n');
  if (requirePeers()) throw new Error(`RDPSEC_REQUIRE_PEERS=1 but ${text}`);
  t.skip(text);
  return false;
}

// ---------------------------------------------------------------------------------------------
// Processes

export interface CommandResult {
  /** exit code, null when killed by a signal */
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  /** wall-clock time from spawn to exit */
  elapsedMs: number;
  /** true when the command was killed because it ran past timeoutMs */
  timedOut: boolean;
}

export interface CommandOptions {
  /** merged over process.env */
  env?: Record<string, string | undefined>;
  cwd?: string;
  /** kill (SIGKILL) after this long; default 60 s */
  timeoutMs?: number;
}

/** Run a command to completion (never throws for a non-zero exit), timing it. */
export function runCommand(cmd: string, args: readonly string[], opts: CommandOptions = {}): Promise<CommandResult> {
  const started = process.hrtime.bigint();
  return new Promise((resolve, reject) => {
    execFile(
      cmd,
      args,
      {
        env: { ...process.env, ...opts.env },
        cwd: opts.cwd,
        timeout: opts.timeoutMs ?? 60_000,
        killSignal: 'SIGKILL',
        maxBuffer: 32 * 1024 * 1024,
        encoding: 'utf8',
      },
      (err, stdout, stderr) => {
        const elapsedMs = Number(process.hrtime.bigint() - started) / 1e6;
        const e = err as (NodeJS.ErrnoException & { code?: number | string; killed?: boolean; signal?: NodeJS.Signals }) | null;
        if (e && typeof e.code === 'string') {
          reject(new Error(`cannot run ${cmd}: ${e.message}`)); // ENOENT, EACCES...
          return;
        }
        resolve({
          code: e ? (typeof e.code === 'number' ? e.code : null) : 0,
          signal: e?.signal ?? null,
          stdout,
          stderr,
          elapsedMs,
          timedOut: Boolean(e?.killed),
        });
      },
    );
  });
}

/** A free TCP port on 127.0.0.1 (bound to :0, then closed: it may be taken again before use). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.unref();
    srv.once('error', reject);
    srv.listen(0, LOOPBACK, () => {
      const addr = srv.address();
      const port = typeof addr === 'object' && addr ? addr.port : 0;
      srv.close(() => (port ? resolve(port) : reject(new Error('could not get a free port'))));
    });
  });
}

/** Open (and close) one TCP connection to 127.0.0.1:port; resolves true when it connected. */
export function tcpConnects(port: number, timeoutMs = 3000): Promise<boolean> {
  return new Promise((resolve) => {
    const sock = new Socket();
    const done = (ok: boolean) => {
      sock.destroy();
      resolve(ok);
    };
    sock.setTimeout(timeoutMs, () => done(false));
    sock.once('error', () => done(false));
    sock.connect(port, LOOPBACK, () => done(true));
  });
}

/** Poll `check` every `intervalMs` until it returns a value other than undefined/null/false. */
export async function waitFor<T>(check: () => T | undefined | null | false, timeoutMs = 5000, intervalMs = 100): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = check();
    if (v !== undefined && v !== null && v !== false) return v;
    if (Date.now() >= deadline) throw new Error(`waitFor: condition not met within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, intervalMs));
  }
}

// ---------------------------------------------------------------------------------------------
// Servers

export type XrdpSecurityLayer = 'rdp' | 'tls' | 'negotiate';
export type XrdpCryptLevel = 'none' | 'low' | 'medium' | 'high' | 'fips';
export type ShadowMode = 'nla' | 'tls' | 'rdp' | 'negotiate' | 'default' | 'ext';

export interface RunningPeer {
  kind: 'xrdp' | 'shadow';
  /** 127.0.0.1:port */
  host: string;
  port: number;
  /** the state dir (config, cert, log, pid files); removed by stop() */
  dir: string;
  /** the server's log file (xrdp.log / shadow.log) */
  log: string;
  /** the server's TLS certificate (PEM) */
  cert: string;
  /** the server's pid (process group leader) */
  pid: number;
  /** every key=value line the serve script printed (shadow: display, xvfb_pid, user, password, sam...) */
  info: Record<string, string>;
  /** the serve script's own stderr (warnings) */
  stderr: string;
  /** Stop the server (`stop DIR`) and remove DIR. Idempotent; never throws. */
  stop(): Promise<void>;
}

export interface StartOptions {
  /** extra environment for the serve script (XRDP_SSL_PROTOCOLS, XRDP_TLS_CIPHERS, SHADOW_ARGS, PEER_TIMEOUT...) */
  env?: Record<string, string | undefined>;
  /** register `t.after(() => peer.stop())` */
  t?: TestContext;
  /** port-in-use retries (default 5) */
  attempts?: number;
}

/** Peers started by this process and not yet stopped (stopped synchronously at exit). */
const running = new Map<string, RunningPeer>();
let exitHookInstalled = false;

function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.on('exit', () => {
    for (const peer of running.values()) {
      spawnSync(join(PEERS_DIR, 'stop'), [peer.dir], { stdio: 'ignore', timeout: 10_000 });
      if (!keepDirs()) rmSync(peer.dir, { recursive: true, force: true });
    }
    running.clear();
  });
}

/** RDPSEC_KEEP_PEER_DIRS=1 keeps the state dirs (logs) after stop(), for debugging. */
function keepDirs(): boolean {
  return process.env.RDPSEC_KEEP_PEER_DIRS === '1';
}

/** Parse the serve scripts' `key=value` stdout lines. */
export function parseKeyValues(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const line of text.split('\n')) {
    const m = /^([A-Za-z_][A-Za-z0-9_]*)=(.*)$/.exec(line);
    if (m) out[m[1]!] = m[2]!;
  }
  return out;
}

/**
 * Start-up failures worth another try on a new port / display: the port was taken between
 * freePort() and the server's bind, or (shadow) two Xvfb started at the same time raced for a
 * display: `Xvfb -displayfd` reported a display, then died with "server already running", and
 * freerdp-shadow-cli logged "failed to open display: :N" (seen when peers start concurrently).
 */
const TRANSIENT_START_FAILURE = /already in use|address in use|failed to open display|server already running/i;

async function startPeer(
  kind: 'xrdp' | 'shadow',
  script: string,
  args: string[],
  opts: StartOptions,
): Promise<RunningPeer> {
  const attempts = opts.attempts ?? 5;
  let lastError = '';
  for (let i = 0; i < attempts; i++) {
    const port = await freePort();
    // our own state dir (unless the caller chose one), so a failed start leaves nothing behind
    const ownDir = opts.env?.PEER_DIR ? null : mkdtempSync(join(tmpdir(), `rdpsec-${kind}-${port}-`));
    const env = ownDir ? { ...opts.env, PEER_DIR: ownDir } : opts.env;
    let res: CommandResult;
    try {
      res = await runCommand(join(PEERS_DIR, script), [String(port), ...args], { env, timeoutMs: 60_000 });
    } catch (err) {
      if (ownDir) rmSync(ownDir, { recursive: true, force: true });
      throw err;
    }
    if (res.code !== 0) {
      if (ownDir) rmSync(ownDir, { recursive: true, force: true }); // the script stopped what it started
      lastError = `${script} ${port} ${args.join(' ')} exited ${res.code ?? res.signal}: ${res.stderr.trim() || res.stdout.trim()}`;
      if (TRANSIENT_START_FAILURE.test(res.stderr)) continue;
      throw new Error(lastError);
    }
    const info = parseKeyValues(res.stdout);
    for (const k of ['dir', 'pid', 'port', 'log', 'cert']) {
      if (!info[k]) throw new Error(`${script}: no ${k}= in its output: ${res.stdout}`);
    }
    const dir = info.dir!;
    let stopped: Promise<void> | null = null;
    const peer: RunningPeer = {
      kind,
      host: LOOPBACK,
      port: Number(info.port),
      dir,
      log: info.log!,
      cert: info.cert!,
      pid: Number(info.pid),
      info,
      stderr: res.stderr,
      stop() {
        stopped ??= (async () => {
          try {
            await runCommand(join(PEERS_DIR, 'stop'), [dir], { timeoutMs: 30_000 });
          } finally {
            running.delete(dir);
            if (!keepDirs()) rmSync(dir, { recursive: true, force: true });
          }
        })().catch(() => undefined);
        return stopped;
      },
    };
    running.set(dir, peer);
    installExitHook();
    opts.t?.after(() => peer.stop());
    return peer;
  }
  throw new Error(`could not start ${kind} after ${attempts} attempts: ${lastError}`);
}

/** Start xrdp (`xrdp-serve PORT SECURITY_LAYER CRYPT_LEVEL`) on a free 127.0.0.1 port. */
export function startXrdp(
  securityLayer: XrdpSecurityLayer = 'negotiate',
  cryptLevel: XrdpCryptLevel = 'high',
  env?: Record<string, string | undefined>,
  opts: Omit<StartOptions, 'env'> = {},
): Promise<RunningPeer> {
  return startPeer('xrdp', 'xrdp-serve', [securityLayer, cryptLevel], { ...opts, env });
}

/**
 * Start the FreeRDP shadow server (`shadow-serve PORT MODE [USER PASSWORD]`, own Xvfb) on a free
 * 127.0.0.1 port. NLA credentials default to alice / S3cret! (see `info.user` / `info.password`).
 */
export function startShadow(
  mode: ShadowMode = 'nla',
  env?: Record<string, string | undefined>,
  opts: Omit<StartOptions, 'env'> & { user?: string; password?: string } = {},
): Promise<RunningPeer> {
  const args: string[] = [mode];
  if (opts.user !== undefined || opts.password !== undefined) args.push(opts.user ?? 'alice', opts.password ?? 'S3cret!');
  return startPeer('shadow', 'shadow-serve', args, { ...opts, env });
}

// ---------------------------------------------------------------------------------------------
// Clients

export interface XfreerdpOptions {
  user?: string;
  password?: string;
  /** extra arguments, e.g. ['/sec:rdp'] or ['/log-level:DEBUG'] */
  args?: string[];
  timeoutMs?: number;
  env?: Record<string, string | undefined>;
}

/**
 * `xvfb-run -a xfreerdp /v:127.0.0.1:PORT /cert:ignore +auth-only /u:USER /p:PASSWORD ...`.
 * Exit codes seen: 0 ok, 131 server disconnect, 133 NEGO_FAILURE, 136 pre-connect failed,
 * 147 CONNECT_TRANSPORT_FAILED (see ../shared/peers/README.md).
 */
export function runXfreerdp(port: number, opts: XfreerdpOptions = {}): Promise<CommandResult> {
  return runCommand(
    'xvfb-run',
    [
      '-a',
      'xfreerdp',
      `/v:${LOOPBACK}:${port}`,
      '/cert:ignore',
      '+auth-only',
      `/u:${opts.user ?? 'test'}`,
      `/p:${opts.password ?? 'test'}`,
      ...(opts.args ?? []),
    ],
    { timeoutMs: opts.timeoutMs ?? 30_000, env: opts.env },
  );
}

/**
 * impacket's `rdp_check.py` (CredSSP with NTLM, then nothing else) through
 * ../shared/peers/rdp_check_port.py, which points its hard-coded port 3389 at `port`. It exits 0
 * either way: "[*] Access Granted" or a line starting with "[-] ".
 */
export async function runImpacketRdpCheck(port: number, user: string, password: string): Promise<CommandResult & { granted: boolean; denied: boolean }> {
  const res = await runCommand('/usr/bin/python3', [join(PEERS_DIR, 'rdp_check_port.py'), '-port', String(port), `${user}:${password}@${LOOPBACK}`], { timeoutMs: 30_000 });
  const out = res.stdout + res.stderr;
  return { ...res, granted: /\[\*\] Access Granted/.test(out), denied: /^\[-\]/m.test(out) };
}

/** `winpr-hash -u USER -p PASSWORD -f sam`: the SAM line FreeRDP's server reads (user:::NTHASH:::). */
export async function winprHashSam(user: string, password: string): Promise<string> {
  const res = await runCommand('winpr-hash', ['-u', user, '-p', password, '-f', 'sam'], { timeoutMs: 10_000 });
  if (res.code !== 0) throw new Error(`winpr-hash failed: ${res.stderr}`);
  return res.stdout;
}

// ---------------------------------------------------------------------------------------------
// xrdp log

/** One xrdp log line: `[20261121-23:58:33] [INFO ] message`. */
export interface XrdpLogLine {
  /** 1-based line number in the log */
  lineNo: number;
  /** as printed, e.g. "20261121-23:58:33" */
  time: string;
  level: 'DEBUG' | 'INFO' | 'WARN' | 'ERROR' | 'TRACE' | 'ALWAYS' | string;
  message: string;
}

/** A protocol name as xrdp prints it: SSL, HYBRID, RDSTLS, HYBRID_EX, RDP. */
export type XrdpProtocolName = 'RDP' | 'SSL' | 'HYBRID' | 'RDSTLS' | 'HYBRID_EX' | string;

/** `Security protocol: configured [SSL|RDP], requested [SSL|HYBRID|RDP], selected [SSL]` */
export interface XrdpSecurityEntry extends XrdpLogLine {
  /** what security_layer allows */
  configured: XrdpProtocolName[];
  /** the client's requestedProtocols; [RDP] also when the client sent no RDP_NEG_REQ */
  requested: XrdpProtocolName[];
  /** empty when xrdp refused ("Server requires TLS for security, but the client did not request TLS.") */
  selected: XrdpProtocolName[];
}

/** `TLS connection established from 127.0.0.1 port 54950: TLSv1.3 with cipher TLS_AES_256_GCM_SHA384` */
export interface XrdpTlsEntry extends XrdpLogLine {
  address: string;
  port: number;
  version: string;
  cipher: string;
}

/** `Non-TLS connection established from 127.0.0.1 port 53590: with security level : high` */
export interface XrdpNonTlsEntry extends XrdpLogLine {
  address: string;
  port: number;
  securityLevel: string;
}

/** `Socket 12: AF_INET connection received from 127.0.0.1 port 54950` */
export interface XrdpConnectionEntry extends XrdpLogLine {
  address: string;
  port: number;
}

/**
 * Standard RDP Security encryption choice (DEBUG/WARN lines):
 * `Client supports 40 bit encryption` (one line per method the client offers),
 * `Client and server both support high encryption, using RDP 128-bit encryption.`,
 * `Client and server both support fips encryption, using RDP fips encryption.`,
 * `Client and server do not both support the same encryption.`
 */
export interface XrdpEncryptionEntry extends XrdpLogLine {
  kind: 'client-supports' | 'agreed' | 'no-common';
  /** client-supports: a method the client offers: "40 bit" | "56 bit" | "128 bit" | "fips" */
  offered?: string;
  /** agreed: the level both support ("high", "fips"...; "low"/"medium" at those crypt levels) */
  cryptLevel?: string;
  /** agreed: what xrdp says it uses ("128-bit", "fips"...) */
  method?: string;
}

export interface XrdpSecurityLog {
  /** every parsed line, in order (for ad-hoc searches) */
  lines: XrdpLogLine[];
  connections: XrdpConnectionEntry[];
  security: XrdpSecurityEntry[];
  tls: XrdpTlsEntry[];
  nonTls: XrdpNonTlsEntry[];
  encryption: XrdpEncryptionEntry[];
  /** ERROR lines (including the readiness probe's "CR-TPDU (Connection Request) failed") */
  errors: XrdpLogLine[];
  warnings: XrdpLogLine[];
}

const LINE_RE = /^\[(\d{8}-\d{2}:\d{2}:\d{2})\] \[([A-Z]+)\s*\] (.*)$/;
const SECURITY_RE = /^Security protocol: configured \[([^\]]*)\], requested \[([^\]]*)\], selected \[([^\]]*)\]$/;
const TLS_RE = /^TLS connection established from (\S+) port (\d+): (\S+) with cipher (\S+)$/;
const NON_TLS_RE = /^Non-TLS connection established from (\S+) port (\d+): with security level : (\S+)$/;
const CONN_RE = /^Socket \d+: AF_INET6? connection received from (\S+) port (\d+)$/;
const ENC_SUPPORTS_RE = /^Client supports (.+) encryption$/;
const ENC_AGREED_RE = /^Client and server both support (\S+) encryption, using RDP (\S+) encryption\.?$/;
const ENC_NONE_RE = /^Client and server do not both support the same encryption\.?$/;

const names = (s: string): string[] => (s === '' ? [] : s.split('|'));

/** Parse xrdp log text (see readXrdpSecurityLog). Lines not in xrdp's format are ignored. */
export function parseXrdpLog(text: string): XrdpSecurityLog {
  const log: XrdpSecurityLog = { lines: [], connections: [], security: [], tls: [], nonTls: [], encryption: [], errors: [], warnings: [] };
  text.split('\n').forEach((raw, i) => {
    const m = LINE_RE.exec(raw.replace(/\r$/, ''));
    if (!m) return;
    const line: XrdpLogLine = { lineNo: i + 1, time: m[1]!, level: m[2]!, message: m[3]! };
    log.lines.push(line);
    const msg = line.message;
    let r: RegExpExecArray | null;
    if (line.level === 'ERROR') log.errors.push(line);
    else if (line.level === 'WARN') log.warnings.push(line);
    if ((r = SECURITY_RE.exec(msg))) {
      log.security.push({ ...line, configured: names(r[1]!), requested: names(r[2]!), selected: names(r[3]!) });
    } else if ((r = TLS_RE.exec(msg))) {
      log.tls.push({ ...line, address: r[1]!, port: Number(r[2]), version: r[3]!, cipher: r[4]! });
    } else if ((r = NON_TLS_RE.exec(msg))) {
      log.nonTls.push({ ...line, address: r[1]!, port: Number(r[2]), securityLevel: r[3]! });
    } else if ((r = CONN_RE.exec(msg))) {
      log.connections.push({ ...line, address: r[1]!, port: Number(r[2]) });
    } else if ((r = ENC_SUPPORTS_RE.exec(msg))) {
      log.encryption.push({ ...line, kind: 'client-supports', offered: r[1]! });
    } else if ((r = ENC_AGREED_RE.exec(msg))) {
      log.encryption.push({ ...line, kind: 'agreed', cryptLevel: r[1]!, method: r[2]! });
    } else if (ENC_NONE_RE.test(msg)) {
      log.encryption.push({ ...line, kind: 'no-common' });
    }
  });
  return log;
}

/**
 * Read and parse an xrdp log (`RunningPeer.log`). Needs LogLevel INFO for the security / TLS /
 * connection lines and DEBUG (the xrdp-serve default) for the encryption-method lines.
 */
export function readXrdpSecurityLog(logPath: string): XrdpSecurityLog {
  return parseXrdpLog(readFileSync(logPath, 'utf8'));
}
