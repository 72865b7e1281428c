import type { Command } from 'commander';
import { postureFindings } from '../diagnose/posture-findings.js';
import { probeServer } from '../probe/probe.js';
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
}

/** Probe one target and print the report; returns the exit code. */
export async function probeAndReport(
  host: string,
  port: number,
  o: { timeoutMs: number; parallel: number; json: boolean; color: boolean; handshake?: boolean },
): Promise<number> {
  const posture = await probeServer({ host, port, timeoutMs: o.timeoutMs, parallel: o.parallel, handshake: Boolean(o.handshake) });
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
    .option('--json', 'print the posture as JSON (schemaVersion 1, see schemas/probe.schema.json)')
    .option('--no-color', 'no colours (NO_COLOR is respected too)')
    .action(async (targetText: string, opts: ProbeCliOptions) => {
      const target = parseTarget(targetText);
      const port = opts.port !== undefined ? parsePort(opts.port) : target.port;
      const timeout = Number(opts.timeout);
      if (!Number.isFinite(timeout) || timeout <= 0 || timeout > 300) throw new UsageError(`invalid --timeout "${opts.timeout}" (seconds, 0-300)`);
      const parallel = Number(opts.parallel);
      if (!Number.isInteger(parallel) || parallel < 1 || parallel > 32) throw new UsageError(`invalid --parallel "${opts.parallel}" (1-32)`);
      process.exitCode = await probeAndReport(target.host, port, {
        timeoutMs: Math.round(timeout * 1000),
        parallel,
        json: Boolean(opts.json),
        color: opts.color !== false && wantColor(process.stdout),
        handshake: Boolean(opts.handshake),
      });
    });
}
