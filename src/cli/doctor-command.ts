import type { Command } from 'commander';
import { readFileSync } from 'node:fs';
import { parseUser, readPassword } from './probe-command.js';
import { parsePort, parseTarget, UsageError } from './target.js';

/**
 * `rdpsec doctor HOST[:PORT] --client PROFILE|FILE`: probe the host, model it, run the client
 * against the model, and say whether it connects, what the user sees if not, and the fixes the
 * simulation confirms, safest first.
 *
 * Exit codes: 0 the client will connect, 1 it will not, 2 usage, 3 the host did not answer.
 */
export const DOCTOR_EXIT = { CONNECTS: 0, FAILS: 1, USAGE: 2, UNREACHABLE: 3 } as const;

interface DoctorCliOptions {
  client?: string;
  port?: string;
  timeout: string;
  logon: string;
  user?: string;
  passwordEnv: string;
  json?: boolean;
  color?: boolean;
  exchange?: boolean;
}

export function registerDoctor(program: Command): void {
  program
    .command('doctor')
    .description('will this client connect to this host? probe it, simulate the client against what was seen, and rank the fixes by safety')
    .argument('[target]', 'HOST, HOST:PORT or [IPv6]:PORT (default: the host a .rdp file or command line names)')
    .requiredOption('--client <profile|file>', 'a client profile (rdpsec simulate --matrix lists them), a .rdp file, an xfreerdp command line in a file, or a client .reg')
    .option('-p, --port <port>', 'TCP port (default 3389, or the one in TARGET)')
    .option('-t, --timeout <seconds>', 'timeout for each connect, read and TLS handshake of the probe', '5')
    .option('--logon <kind>', 'the credentials the simulated client gives: valid, wrong-password, none', 'valid')
    .option('--user <name>', 'also check a CredSSP logon on the host as DOMAIN\\user (password from --password-env or a prompt)')
    .option('--password-env <name>', 'environment variable holding the --user password', 'RDPSEC_PASSWORD')
    .option('--exchange', 'show the simulated exchange as a sequence diagram')
    .option('--json', 'JSON output (schemaVersion 1, schemas/simulate.schema.json)')
    .option('--no-color', 'no colours (NO_COLOR is respected too)')
    .action(async (targetText: string | undefined, o: DoctorCliOptions) => {
      const logon = o.logon as 'valid' | 'wrong-password' | 'none';
      if (!['valid', 'wrong-password', 'none'].includes(logon)) throw new UsageError('--logon takes valid, wrong-password, none');
      const timeout = Number(o.timeout);
      if (!Number.isFinite(timeout) || timeout <= 0 || timeout > 300) throw new UsageError(`invalid --timeout "${o.timeout}" (seconds, 0-300)`);
      const { resolveClient } = await import('./inputs.js');
      const client = resolveClient(o.client!, readFileSync);
      const text = targetText ?? (client.target ? `${client.target.host.includes(':') ? `[${client.target.host}]` : client.target.host}${client.target.port ? `:${client.target.port}` : ''}` : undefined);
      if (!text) throw new UsageError('doctor needs the host (or a client file that names one)');
      const target = parseTarget(text);
      const port = o.port !== undefined ? parsePort(o.port) : target.port;
      let credentials;
      if (o.user !== undefined) {
        const { user, domain } = parseUser(o.user);
        if (!user) throw new UsageError(`invalid --user "${o.user}"`);
        const password = Buffer.from(await readPassword(o.passwordEnv), 'utf16le');
        const { ntHashOfUtf16 } = await import('../crypto/md4.js');
        credentials = { user, domain, password, ntHash: await ntHashOfUtf16(password) };
      }
      const { doctor } = await import('../diagnose/doctor.js');
      const { wantColor } = await import('../report/terminal.js');
      const color = o.color !== false && wantColor(process.stdout);
      const { result, posture } = await doctor({
        host: target.host,
        port,
        client: client.profile,
        timeoutMs: Math.round(timeout * 1000),
        logon,
        ...(credentials ? { credentials } : {}),
        ...(o.json ? {} : { onProgress: (s: string) => process.stderr.write(`${s}\n`) }),
      });
      credentials?.password.fill(0);
      if (!posture.reachable) {
        process.stderr.write(`rdpsec doctor: ${target.host}:${port} did not answer: no RDP server to diagnose\n`);
        process.exitCode = DOCTOR_EXIT.UNREACHABLE;
        return;
      }
      if (o.json) process.stdout.write(JSON.stringify({ ...result, ...(client.notes.length ? { clientNotes: client.notes } : {}), ...(client.notModelled.length ? { notSimulated: client.notModelled } : {}), ...(client.profile.notModelled ? { clientNotModelled: client.profile.notModelled } : {}) }, null, 2) + '\n');
      else {
        const { renderDoctor } = await import('../report/simulation.js');
        for (const n of client.notes) process.stdout.write(`client input: ${n}\n`);
        for (const n of client.notModelled) process.stdout.write(`NOT SIMULATED: ${n}\n`);
        process.stdout.write(renderDoctor(result, { color, width: Math.max(60, Math.min(process.stdout.columns ?? 100, 140)), exchange: Boolean(o.exchange), ...(client.profile.notModelled ? { notModelled: client.profile.notModelled } : {}) }));
      }
      process.exitCode = result.connects ? DOCTOR_EXIT.CONNECTS : DOCTOR_EXIT.FAILS;
    });
}
