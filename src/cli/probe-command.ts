import type { Command } from 'commander';
import { postureFindings } from '../diagnose/posture-findings.js';
import { probeServer } from '../probe/probe.js';
import type { ProbeCredentials } from '../probe/credssp-probe.js';
import { renderPosture, wantColor } from '../report/terminal.js';
import { toJson } from '../report/json.js';
import { parsePort, parseTarget, UsageError } from './target.js';

export const EXIT = { OK: 0, ERROR: 1, USAGE: 2, UNREACHABLE: 3 } as const;

export interface ProbeCliOptions {
  port?: string;
  timeout: string;
  parallel: string;
  json?: boolean;
  color?: boolean;
  handshake?: boolean;
  user?: string;
  passwordEnv: string;
}

/** DOMAIN\\user, user@domain or user (MS-NLMP: the domain goes into NTOWFv2 as given). */
export function parseUser(text: string): { user: string; domain: string } {
  const slash = text.indexOf('\\');
  if (slash >= 0) return { domain: text.slice(0, slash), user: text.slice(slash + 1) };
  const at = text.lastIndexOf('@');
  if (at > 0) return { user: text.slice(0, at), domain: text.slice(at + 1) };
  return { user: text, domain: '' };
}

/**
 * The password for --user: from the environment variable named by --password-env (default
 * RDPSEC_PASSWORD), else asked on the terminal without echo. Never from argv, where any user of
 * the machine can read it (ps, /proc).
 */
export async function readPassword(envName: string): Promise<string> {
  const fromEnv = process.env[envName];
  if (fromEnv !== undefined) return fromEnv;
  if (!process.stdin.isTTY) throw new UsageError(`--user needs a password: set ${envName} (it is never read from the command line)`);
  const { createInterface } = await import('node:readline');
  const rl = createInterface({ input: process.stdin, output: process.stderr, terminal: true });
  // mute the echo of what is typed after the prompt
  const out = rl as unknown as { _writeToOutput: (s: string) => void; output: NodeJS.WritableStream };
  let prompted = false;
  out._writeToOutput = (text: string) => {
    if (!prompted) {
      out.output.write(text);
      prompted = true;
    }
  };
  const answer = await new Promise<string>((resolve) => rl.question('password: ', resolve));
  rl.close();
  process.stderr.write('\n');
  return answer;
}

/** Probe one target and print the report; returns the exit code. */
export async function probeAndReport(
  host: string,
  port: number,
  o: { timeoutMs: number; parallel: number; json: boolean; color: boolean; handshake?: boolean; credentials?: ProbeCredentials },
): Promise<number> {
  const posture = await probeServer({
    host,
    port,
    timeoutMs: o.timeoutMs,
    parallel: o.parallel,
    handshake: Boolean(o.handshake),
    ...(o.credentials ? { credentials: o.credentials } : {}),
  });
  o.credentials?.password.fill(0);
  posture.findings = postureFindings(posture);
  process.stdout.write(o.json ? toJson(posture) : renderPosture(posture, { color: o.color }));
  return posture.reachable ? EXIT.OK : EXIT.UNREACHABLE;
}

export function registerProbe(program: Command): void {
  program
    .command('probe')
    .description('map one RDP server\'s security negotiation on the wire')
    .argument('<target>', 'HOST, HOST:PORT or [IPv6]:PORT')
    .option('-p, --port <port>', 'TCP port (default 3389, or the one in TARGET)')
    .option('-t, --timeout <seconds>', 'timeout for each connect, read and TLS handshake', '5')
    .option('--parallel <n>', 'connections in flight at once', '4')
    .option('--handshake', 'also complete a whole connection with each accepted security layer and encryption method')
    .option('--user <name>', 'also try a CredSSP logon as DOMAIN\\user, user@domain or user (the password comes from --password-env or a prompt)')
    .option('--password-env <name>', 'environment variable holding the --user password', 'RDPSEC_PASSWORD')
    .option('--json', 'print the posture as JSON (schemaVersion 1, see schemas/probe.schema.json)')
    .option('--no-color', 'no colours (NO_COLOR is respected too)')
    .action(async (targetText: string, opts: ProbeCliOptions) => {
      const target = parseTarget(targetText);
      const port = opts.port !== undefined ? parsePort(opts.port) : target.port;
      const timeout = Number(opts.timeout);
      if (!Number.isFinite(timeout) || timeout <= 0 || timeout > 300) throw new UsageError(`invalid --timeout "${opts.timeout}" (seconds, 0-300)`);
      const parallel = Number(opts.parallel);
      if (!Number.isInteger(parallel) || parallel < 1 || parallel > 32) throw new UsageError(`invalid --parallel "${opts.parallel}" (1-32)`);
      let credentials: ProbeCredentials | undefined;
      if (opts.user !== undefined) {
        const { user, domain } = parseUser(opts.user);
        if (!user) throw new UsageError(`invalid --user "${opts.user}"`);
        const password = Buffer.from(await readPassword(opts.passwordEnv), 'utf16le');
        const { ntHashOfUtf16 } = await import('../crypto/md4.js');
        credentials = { user, domain, password, ntHash: await ntHashOfUtf16(password) };
      }
      process.exitCode = await probeAndReport(target.host, port, {
        ...(credentials ? { credentials } : {}),
        timeoutMs: Math.round(timeout * 1000),
        parallel,
        json: Boolean(opts.json),
        color: opts.color !== false && wantColor(process.stdout),
        handshake: Boolean(opts.handshake),
      });
    });
}
