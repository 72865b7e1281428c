/**
 * nmap's `rdp-enum-encryption` NSE script (nmap 7.93) as a reference prober: run it against a
 * loopback peer and parse its output.
 *
 * The rdp scripts' portrule only matches port 3389 / service ms-wbt-server, so on any other port
 * the script must be forced with a leading '+'. What the script does (see
 * /usr/share/nmap/scripts/rdp-enum-encryption.nse):
 * - "Security layer": one connection per requestedProtocols value — Native RDP 0, SSL 1,
 *   CredSSP (NLA) 3, RDSTLS 4, CredSSP with Early User Auth 8 — and SUCCESS for ANY RDP_NEG_RSP
 *   (whatever selectedProtocol says: xrdp answers RSP(RDP) to everything, so all five are
 *   SUCCESS on xrdp), "FAILED (CODE)" for an RDP_NEG_FAILURE (only shown with -d), "Unknown" when
 *   the CC has no negotiation data. Lines are sorted by name.
 * - "RDP Encryption level: X": four legacy connections each offering ONE encryption method;
 *   SUCCESS when the server's encryptionMethod equals it, nothing when it differs, "FAILURE" (only
 *   with -d) when the exchange failed. The header is printed only when at least one method
 *   succeeded; with -d and every method failed, the FAILURE lines come WITHOUT the header, at the
 *   same indentation as the protocols (so classify by name, not by indentation).
 * - "RDP Protocol Version:  RDP 5.x, 6.x, 7.x, or 8.x server" (two spaces: nmap's table value
 *   starts with one) from the server core data, when some exchange got that far.
 * - A Lua error in the script prints nothing in the port table; with -d the debug log has
 *   "NSE: rdp-enum-encryption against H:P threw an error!" and the error on the next line (e.g.
 *   xrdp security_layer=tls: "asn1.lua:153: bad argument #2 to 'unpack' (data string too short)").
 */
import { runCommand, type CommandResult } from './harness.js';

export const NMAP_PROTOCOL_NAMES = ['CredSSP (NLA)', 'CredSSP with Early User Auth', 'Native RDP', 'RDSTLS', 'SSL'] as const;
export const NMAP_METHOD_NAMES = ['40-bit RC4', '56-bit RC4', '128-bit RC4', 'FIPS 140-1'] as const;
/** requestedProtocols nmap sends for each protocol line */
export const NMAP_PROTOCOL_REQUEST: Record<(typeof NMAP_PROTOCOL_NAMES)[number], number> = {
  'Native RDP': 0,
  SSL: 1,
  'CredSSP (NLA)': 3,
  RDSTLS: 4,
  'CredSSP with Early User Auth': 8,
};
/** encryptionMethods nmap offers (alone) for each method line */
export const NMAP_METHOD_FLAG: Record<(typeof NMAP_METHOD_NAMES)[number], number> = {
  '40-bit RC4': 0x01,
  '56-bit RC4': 0x08,
  '128-bit RC4': 0x02,
  'FIPS 140-1': 0x10,
};

export interface NmapProtocolResult {
  result: 'SUCCESS' | 'FAILED' | 'Unknown';
  /** the RDP_NEG_FAILURE code name nmap printed, e.g. "HYBRID_REQUIRED_BY_SERVER" (or "Unknown") */
  failure?: string;
  /** the text after "name: ", e.g. "FAILED (SSL_NOT_ALLOWED_BY_SERVER)" */
  text: string;
}

export type NmapMethodResult = 'SUCCESS' | 'FAILURE';

export interface NmapEnumEncryption {
  /** by nmap's protocol name (NMAP_PROTOCOL_NAMES); only the lines nmap printed */
  protocols: Record<string, NmapProtocolResult>;
  /** by nmap's method name (NMAP_METHOD_NAMES); only the lines nmap printed */
  methods: Record<string, NmapMethodResult>;
  /** "None" | "Low" | "Client Compatible" | "High" | "FIPS Compliant" | "Unknown", when printed */
  encryptionLevel?: string;
  /** e.g. "RDP 5.x, 6.x, 7.x, or 8.x server" (trimmed), when printed */
  rdpProtocolVersion?: string;
  /** "open", "closed", "filtered"... of the scanned port, when the port table was printed */
  portState?: string;
  /** true when the script printed a result block under the port */
  scriptOutput: boolean;
  /** the script's error: "ERROR: ..." result lines, or the Lua error from the -d log */
  scriptError?: string;
  /** result lines that matched none of the above */
  unparsed: string[];
  /** the whole stdout */
  raw: string;
}

const SCRIPT = 'rdp-enum-encryption';
const METHOD_SET = new Set<string>(NMAP_METHOD_NAMES);

/** Parse the stdout of `nmap [-d] -p PORT --script +rdp-enum-encryption HOST` (one host, one port). */
export function parseNmapEnumEncryption(stdout: string): NmapEnumEncryption {
  const out: NmapEnumEncryption = { protocols: {}, methods: {}, scriptOutput: false, unparsed: [], raw: stdout };
  const lines = stdout.split('\n').map((l) => l.replace(/\r$/, ''));

  // the port table: "34010/tcp open  unknown syn-ack ttl 64"
  for (const l of lines) {
    const m = /^\d+\/tcp\s+(\S+)/.exec(l);
    if (m) {
      out.portState = m[1]!;
      break;
    }
  }

  // -d: "NSE: rdp-enum-encryption against 127.0.0.1:34010 threw an error!" then the Lua error
  const threw = lines.findIndex((l) => l.startsWith(`NSE: ${SCRIPT} against `) && l.endsWith(' threw an error!'));
  if (threw >= 0) out.scriptError = (lines[threw + 1] ?? '').trim() || 'threw an error';

  // the script block: "| rdp-enum-encryption: " ... "|_..." (or one line "|_rdp-enum-encryption: text")
  const start = lines.findIndex((l) => l.startsWith(`| ${SCRIPT}:`) || l.startsWith(`|_${SCRIPT}:`));
  if (start < 0) return out;
  out.scriptOutput = true;
  const body: string[] = [];
  const head = lines[start]!;
  const inline = head.slice(head.indexOf(':') + 1).trim();
  if (inline) body.push(inline);
  if (!head.startsWith('|_')) {
    for (let i = start + 1; i < lines.length; i++) {
      const l = lines[i]!;
      if (!l.startsWith('|')) break;
      body.push(l.replace(/^\|_?/, '').trim());
      if (l.startsWith('|_')) break;
    }
  }

  for (const text of body) {
    let m: RegExpExecArray | null;
    if (text === '' || text === 'Security layer') continue;
    if (text.startsWith('ERROR: ')) {
      out.scriptError = text.slice('ERROR: '.length);
    } else if ((m = /^RDP Encryption level: (.*)$/.exec(text))) {
      out.encryptionLevel = m[1]!.trim();
    } else if ((m = /^RDP Protocol Version: (.*)$/.exec(text))) {
      out.rdpProtocolVersion = m[1]!.trim();
    } else if ((m = /^(.+?): (SUCCESS|FAILURE|Unknown|FAILED(?: \((.*)\))?)$/.exec(text))) {
      const name = m[1]!;
      const status = m[2]!;
      if (METHOD_SET.has(name)) {
        if (status === 'SUCCESS' || status === 'FAILURE') out.methods[name] = status;
        else out.unparsed.push(text);
      } else if (status === 'SUCCESS' || status === 'Unknown') {
        out.protocols[name] = { result: status, text: status };
      } else if (status.startsWith('FAILED')) {
        const r: NmapProtocolResult = { result: 'FAILED', text: status };
        if (m[3] !== undefined) r.failure = m[3];
        out.protocols[name] = r;
      } else {
        out.unparsed.push(text);
      }
    } else if (!out.scriptError && body.length === 1) {
      out.scriptError = text; // a one-line result without "ERROR: " (e.g. "Failed to connect to server")
    } else {
      out.unparsed.push(text);
    }
  }
  return out;
}

export interface NmapRunOptions {
  /** add -d (default true): FAILED protocols with their failure codes, FAILURE methods, Lua errors */
  debug?: boolean;
  /** more nmap arguments, placed before the target (e.g. ['-n'] to skip reverse DNS) */
  extraArgs?: string[];
  timeoutMs?: number;
}

export interface NmapRun extends NmapEnumEncryption {
  command: string[];
  exitCode: number | null;
  stderr: string;
  elapsedMs: number;
}

/** The argument list used by runNmapEnumEncryption (target: 127.0.0.1 only). */
export function nmapEnumEncryptionArgs(port: number, opts: NmapRunOptions = {}): string[] {
  if (!Number.isInteger(port) || port < 1 || port > 65535) throw new RangeError(`bad port ${port}`);
  // -n: no reverse DNS, so that nmap sends nothing but to 127.0.0.1 (a lookup of 127.0.0.1
  // would go to the machine's DNS server, off loopback).
  return [...((opts.debug ?? true) ? ['-d'] : []), '-n', '-p', String(port), '--script', `+${SCRIPT}`, ...(opts.extraArgs ?? []), '127.0.0.1'];
}

/** `nmap -d -p PORT --script +rdp-enum-encryption 127.0.0.1`, parsed (≈ 1.7–3.5 s against the peers). */
export async function runNmapEnumEncryption(port: number, opts: NmapRunOptions = {}): Promise<NmapRun> {
  const args = nmapEnumEncryptionArgs(port, opts);
  const res = await runCommand('nmap', args, { timeoutMs: opts.timeoutMs ?? 120_000 });
  return { ...parseNmapEnumEncryption(res.stdout), command: ['nmap', ...args], exitCode: res.code, stderr: res.stderr, elapsedMs: res.elapsedMs };
}

export interface TimedRuns {
  runs: CommandResult[];
  /** elapsed times in ms, in run order */
  times: number[];
  minMs: number;
  medianMs: number;
  maxMs: number;
}

/**
 * Run a command `repeat` times in sequence and time each run (wall clock, spawn to exit), e.g.
 * to compare our prober with nmap: `timeCommand('nmap', nmapEnumEncryptionArgs(port), 5)`.
 */
export async function timeCommand(
  cmd: string,
  args: readonly string[],
  repeat = 1,
  opts: { timeoutMs?: number; env?: Record<string, string | undefined> } = {},
): Promise<TimedRuns> {
  const runs: CommandResult[] = [];
  for (let i = 0; i < repeat; i++) runs.push(await runCommand(cmd, args, opts));
  const times = runs.map((r) => r.elapsedMs);
  const sorted = [...times].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  const median = sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
  return { runs, times, minMs: sorted[0] ?? 0, medianMs: median ?? 0, maxMs: sorted[sorted.length - 1] ?? 0 };
}

/** nmap's rdp-ntlm-info fields (nmap 7.93), e.g. { Target_Name: 'VM', Product_Version: '6.1.7601' }. */
export function parseNmapNtlmInfo(stdout: string): Record<string, string> {
  const out: Record<string, string> = {};
  let inScript = false;
  for (const line of stdout.split('\n')) {
    if (/^\| rdp-ntlm-info:/.test(line)) inScript = true;
    else if (inScript) {
      const m = /^\|_?\s+([A-Za-z_]+): (.*)$/.exec(line);
      if (!m) break;
      out[m[1]!] = m[2]!.trim();
      if (line.startsWith('|_')) break;
    }
  }
  return out;
}

/** Run `nmap -n -p PORT --script +rdp-ntlm-info 127.0.0.1` (loopback only, no reverse DNS). */
export async function runNmapNtlmInfo(port: number): Promise<Record<string, string>> {
  const res = await runCommand('nmap', ['-n', '-p', String(port), '--script', '+rdp-ntlm-info', '127.0.0.1'], { timeoutMs: 120_000 });
  return parseNmapNtlmInfo(res.stdout);
}
