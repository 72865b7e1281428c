import type { Command } from 'commander';
import { readFileSync } from 'node:fs';
import { UsageError } from './target.js';

/**
 * `rdpsec simulate --client PROFILE|FILE --server PRESET|FILE`: the real connector (as the
 * client profile configures it) against the real acceptor (as the server policy configures it),
 * in memory; the exchange as a sequence diagram, the outcome in the client's own words, and the
 * fixes that the simulation confirms. `--matrix` runs every client against a server, every
 * server preset against a client, or everything against everything.
 *
 * Exit codes: 0 the client connects (with --matrix: the grid was made), 1 it does not, 2 usage.
 */
export const SIMULATE_EXIT = { CONNECTS: 0, FAILS: 1, USAGE: 2 } as const;

interface SimulateCliOptions {
  client?: string;
  server?: string;
  logon: string;
  json?: boolean;
  matrix?: boolean;
  fixes: boolean;
  color?: boolean;
  credsspVersion?: string;
  allowEncryptionOracle?: string;
}

const LOGONS = ['valid', 'wrong-password', 'none'] as const;

export function registerSimulate(program: Command): void {
  program
    .command('simulate')
    .description('run a client profile against a server policy in memory (real connector, real acceptor, real TLS): outcome, exchange, what the client shows, fixes')
    .option('--client <profile|file>', 'a client profile (rdpsec profiles), a .rdp file, an xfreerdp command line in a file, or a .reg of the client')
    .option('--server <preset|file>', 'a server preset, an xrdp.ini, or a `reg export` of the RDP-Tcp key')
    .option('--credssp-version <n>', "the server's highest CredSSP version: 2-4 as a host before the March 2018 update, 5-6 patched")
    .option('--allow-encryption-oracle <n>', "the server's AllowEncryptionOracle: 0 Force Updated Clients, 1 Mitigated, 2 Vulnerable")
    .option('--logon <kind>', `the credentials the client gives: ${LOGONS.join(', ')}`, 'valid')
    .option('--matrix', 'every client against --server, every preset against --client, or all of both')
    .option('--no-fixes', 'do not try the fix candidates')
    .option('--json', 'JSON output (schemaVersion 1, schemas/simulate.schema.json)')
    .option('--no-color', 'no colours (NO_COLOR is respected too)')
    .action(async (o: SimulateCliOptions) => {
      const logon = o.logon as (typeof LOGONS)[number];
      if (!LOGONS.includes(logon)) throw new UsageError(`--logon takes ${LOGONS.join(', ')}`);
      if (!o.matrix && (!o.client || !o.server)) throw new UsageError('simulate needs --client and --server (or --matrix)');
      const { resolveClient, resolveServer } = await import('./inputs.js');
      const { serverCredsspOverrides } = await import('./credssp-options.js');
      const overrides = serverCredsspOverrides(o);
      const { DEFAULT_CREDSSP } = await import('../acceptor/from-server-policy.js');
      /** the server as given, with --credssp-version / --allow-encryption-oracle applied */
      const serverFrom = (spec: string) => {
        const p = resolveServer(spec, readFileSync);
        return Object.keys(overrides).length ? { ...p, credssp: { ...DEFAULT_CREDSSP, ...p.credssp, ...overrides } } : p;
      };
      const { simulate } = await import('../simulate/simulate.js');
      const { wantColor } = await import('../report/terminal.js');
      const color = o.color !== false && wantColor(process.stdout);
      const width = Math.max(60, Math.min(process.stdout.columns ?? 100, 140));
      process.stdout.on('error', (err: NodeJS.ErrnoException) => {
        if (err.code !== 'EPIPE') throw err;
      });

      if (o.matrix) {
        const { clientProfiles } = await import('../connector/client-profiles.js');
        const { presetNames, preset } = await import('../policy/presets.js');
        const { renderMatrix } = await import('../report/simulation.js');
        const clients = o.client ? [resolveClient(o.client, readFileSync).profile] : [...clientProfiles().values()];
        const servers = o.server ? [serverFrom(o.server)] : presetNames().map((n) => preset(n));
        const cells = [];
        for (const client of clients) {
          for (const server of servers) {
            const r = await simulate({ client, server, logon });
            cells.push({ client: client.name, server: server.name, connects: r.connects, negotiated: r.negotiated, failure: r.failure });
          }
        }
        if (o.json) process.stdout.write(JSON.stringify({ schemaVersion: 1, logon, matrix: cells }, null, 2) + '\n');
        else process.stdout.write(renderMatrix(cells, { color, width }));
        process.exitCode = SIMULATE_EXIT.CONNECTS;
        return;
      }

      const { profile, notes, notModelled } = resolveClient(o.client!, readFileSync);
      const server = serverFrom(o.server!);
      const result = await simulate({ client: profile, server, logon });
      let fixes;
      if (o.fixes) {
        const { checkedFixes } = await import('../diagnose/fixes.js');
        fixes = await checkedFixes({ client: profile, server, logon, baseline: result });
      }
      if (o.json) {
        process.stdout.write(JSON.stringify({ ...result, ...(notes.length ? { clientNotes: notes } : {}), ...(notModelled.length ? { notSimulated: notModelled } : {}), ...(profile.notModelled ? { clientNotModelled: profile.notModelled } : {}), serverWarnings: server.warnings, fixes: fixes ?? [] }, null, 2) + '\n');
      } else {
        const { renderSimulation } = await import('../report/simulation.js');
        for (const n of notes) process.stdout.write(`client input: ${n}\n`);
        for (const n of notModelled) process.stdout.write(`NOT SIMULATED: ${n}\n`);
        for (const w of server.warnings) process.stdout.write(`server input: ${w.message}\n`);
        process.stdout.write(renderSimulation(result, fixes, { color, width, ...(profile.notModelled ? { notModelled: profile.notModelled } : {}) }));
      }
      process.exitCode = result.connects ? SIMULATE_EXIT.CONNECTS : SIMULATE_EXIT.FAILS;
    });
}
