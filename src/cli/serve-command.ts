import type { Command } from 'commander';
import { appendFileSync, chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import type { ServerPolicy } from '../policy/server-policy.js';
import { serverCredsspOverrides, type ServerCredsspOverrides } from './credssp-options.js';
import { parsePort, UsageError } from './target.js';

interface ServeCliOptions {
  port: string;
  host: string;
  preset?: string;
  windowsSecurityLayer?: string;
  nla?: boolean;
  minEncryptionLevel?: string;
  xrdpIni?: string;
  reg?: string;
  cert?: string;
  key?: string;
  jsonLog?: string;
  maxConnections: string;
  maxTlsHandshakes: string;
  licensing: string;
  users?: string;
  credsspVersion?: string;
  allowEncryptionOracle?: string;
  restrictedAdmin?: boolean;
  remoteCredentialGuard?: boolean;
  ntlmComputer?: string;
  ntlmDomain?: string;
  heap: string;
}

/** --credssp-version, --allow-encryption-oracle, --restricted-admin, --ntlm-computer, --ntlm-domain. */
function credsspOptions(o: ServeCliOptions) {
  const credssp: ServerCredsspOverrides & { restrictedAdmin?: boolean; redirectedAuthentication?: boolean } = serverCredsspOverrides(o);
  if (o.restrictedAdmin) credssp.restrictedAdmin = true;
  if (o.remoteCredentialGuard) credssp.redirectedAuthentication = true;
  const name = o.ntlmComputer;
  const domain = o.ntlmDomain;
  if (name !== undefined && !/^[A-Za-z0-9-]{1,15}$/.test(name)) throw new UsageError('--ntlm-computer takes a NetBIOS name (1-15 letters, digits, -)');
  const ntlmNames =
    name !== undefined || domain !== undefined
      ? {
          nbComputerName: (name ?? 'RDPSEC').toUpperCase(),
          nbDomainName: (domain ?? name ?? 'RDPSEC').split('.')[0]!.toUpperCase(),
          dnsComputerName: domain ? `${(name ?? 'rdpsec').toLowerCase()}.${domain.toLowerCase()}` : (name ?? 'rdpsec').toLowerCase(),
          dnsDomainName: (domain ?? name ?? 'rdpsec').toLowerCase(),
          ...(domain ? { dnsTreeName: domain.toLowerCase() } : {}),
        }
      : undefined;
  return { credssp, ...(ntlmNames ? { ntlmNames } : {}) };
}

/** A port or a range A-B (one listener per port, for test fleets). */
export function parsePorts(text: string): number[] {
  const m = /^(\d+)-(\d+)$/.exec(text);
  if (!m) return [parsePort(text)];
  const [a, b] = [parsePort(m[1]!), parsePort(m[2]!)];
  if (b < a || b - a >= 1024) throw new UsageError(`invalid port range "${text}" (at most 1024 ports)`);
  return Array.from({ length: b - a + 1 }, (_, i) => a + i);
}

/** The policy modules are loaded only by `serve`, so that `probe` starts fast. */
async function policyFrom(o: ServeCliOptions): Promise<ServerPolicy> {
  const { preset, presetNames } = await import('../policy/presets.js');
  const { fromWindowsFlags } = await import('../policy/windows-settings.js');
  const { policyFromRegExport } = await import('../policy/windows-registry.js');
  const { policyFromXrdpIni } = await import('../policy/xrdp-ini.js');
  const chosen = [o.preset, o.windowsSecurityLayer, o.xrdpIni, o.reg].filter((v) => v !== undefined);
  if (chosen.length > 1) throw new UsageError('choose one of --preset, --windows-security-layer, --xrdp-ini, --reg');
  if (o.xrdpIni) return policyFromXrdpIni(readFileSync(o.xrdpIni), { file: o.xrdpIni });
  if (o.reg) return policyFromRegExport(readFileSync(o.reg), { file: o.reg });
  if (o.windowsSecurityLayer !== undefined) {
    const securityLayer = Number(o.windowsSecurityLayer);
    const minEncryptionLevel = Number(o.minEncryptionLevel ?? 2);
    if (![0, 1, 2].includes(securityLayer)) throw new UsageError('--windows-security-layer takes 0, 1 or 2');
    if (![1, 2, 3, 4].includes(minEncryptionLevel)) throw new UsageError('--min-encryption-level takes 1 to 4');
    return fromWindowsFlags({ securityLayer, userAuthentication: o.nla ? 1 : 0, minEncryptionLevel });
  }
  if (o.nla || o.minEncryptionLevel !== undefined) throw new UsageError('--nla and --min-encryption-level go with --windows-security-layer');
  const name = o.preset ?? 'windows-2019';
  if (!presetNames().includes(name)) throw new UsageError(`unknown preset "${name}" (known: ${presetNames().join(', ')})`);
  return preset(name);
}

/**
 * The TLS certificate: --cert/--key, the policy's own files (xrdp.ini), or one we make once and
 * keep in the user's data directory so that it stays the same between runs (key mode 0600).
 */
async function certificate(o: ServeCliOptions, p: ServerPolicy): Promise<{ certPem: string; keyPem: string }> {
  if (o.cert || o.key) {
    if (!o.cert || !o.key) throw new UsageError('--cert and --key go together');
    return { certPem: readFileSync(o.cert, 'utf8'), keyPem: readFileSync(o.key, 'utf8') };
  }
  const c = p.tls.certificate;
  if (c.kind === 'files' && existsSync(c.certFile) && existsSync(c.keyFile)) {
    return { certPem: readFileSync(c.certFile, 'utf8'), keyPem: readFileSync(c.keyFile, 'utf8') };
  }
  const dir = join(process.env.XDG_DATA_HOME || join(homedir(), '.local', 'share'), 'rdpsec', 'serve');
  const certFile = join(dir, 'cert.pem');
  const keyFile = join(dir, 'key.pem');
  if (existsSync(certFile) && existsSync(keyFile)) return { certPem: readFileSync(certFile, 'utf8'), keyPem: readFileSync(keyFile, 'utf8') };
  const { generateSelfSignedCertificate } = await import('../crypto/self-signed.js');
  const pair = await generateSelfSignedCertificate('rdpsec-serve');
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  writeFileSync(keyFile, pair.keyPem, { mode: 0o600 });
  chmodSync(keyFile, 0o600);
  writeFileSync(certFile, pair.certPem);
  return pair;
}

export function registerServe(program: Command): void {
  program
    .command('serve')
    .description('a negotiating RDP server that behaves like a Windows or xrdp policy, logging what each client asks for')
    .option('-p, --port <port>', 'a port or a range A-B', '3389')
    .option('--host <host>', 'address to listen on', '127.0.0.1')
    .option('--preset <name>', 'a server preset from data/presets.yaml (default windows-2019)')
    .option('--windows-security-layer <n>', 'Windows SecurityLayer: 0 RDP, 1 Negotiate, 2 SSL')
    .option('--nla', 'Windows UserAuthentication=1 (NLA required)')
    .option('--min-encryption-level <n>', 'Windows MinEncryptionLevel: 1 Low, 2 Client Compatible, 3 High, 4 FIPS')
    .option('--xrdp-ini <file>', 'behave like xrdp with this xrdp.ini')
    .option('--reg <file>', 'behave like Windows with this `reg export` of the RDP-Tcp key')
    .option('--cert <file>', 'TLS certificate (PEM)')
    .option('--key <file>', 'TLS private key (PEM)')
    .option('--json-log <file>', 'append one JSON object per connection to this file')
    .option('--max-connections <n>', 'connections served at once (pre-authentication limit)', '64')
    .option('--max-tls-handshakes <n>', 'TLS handshakes in progress at once; other connections wait their turn within the read deadline', '16')
    .option('--licensing <mode>', 'valid-client (STATUS_VALID_CLIENT at once) or platform-challenge (the full MS-RDPELE exchange, as Windows in its grace period)', 'valid-client')
    .option('--users <file>', 'NLA accounts: user:domain:NTHASH[:STATE] lines, or the lines of winpr-hash -f sam')
    .option('--credssp-version <n>', 'the highest CredSSP version spoken: 6 (patched, default), or 2-4 as a host before the March 2018 update')
    .option('--allow-encryption-oracle <n>', 'CredSSP AllowEncryptionOracle: 0 Force Updated Clients, 1 Mitigated, 2 Vulnerable')
    .option('--restricted-admin', 'accept restricted admin logons (DisableRestrictedAdmin=0)')
    .option('--remote-credential-guard', 'accept redirected authentication (Remote Credential Guard: TSRemoteGuardCreds)')
    .option('--ntlm-computer <name>', 'the NetBIOS computer name in the NTLM CHALLENGE (default RDPSEC)')
    .option('--ntlm-domain <name>', 'the DNS domain in the NTLM CHALLENGE (default: a workgroup host)')
    .option('--heap <mode>', "small: V8's young generation kept at its start-up size, the old one grows 30% between full collections (less memory per connection, a little more CPU); node: V8's defaults (or NODE_OPTIONS)", 'small')
    .action(async (o: ServeCliOptions) => {
      if (o.heap !== 'small' && o.heap !== 'node') throw new UsageError('--heap takes small or node');
      // first, before the policy and certificate are loaded: the young generation stays the size it has now
      const { useHeapMode } = await import('../serve/heap.js');
      useHeapMode(o.heap);
      const { PolicyError } = await import('../policy/errors.js');
      const { formatRecord, serve } = await import('../serve/server.js');
      let policy: ServerPolicy;
      try {
        policy = await policyFrom(o);
      } catch (err) {
        if (err instanceof PolicyError) throw new UsageError(err.message);
        throw err;
      }
      const ports = parsePorts(o.port);
      const maxConnections = Number(o.maxConnections);
      if (!Number.isInteger(maxConnections) || maxConnections < 1) throw new UsageError('--max-connections takes a positive integer');
      const maxTlsHandshakes = Number(o.maxTlsHandshakes);
      if (!Number.isInteger(maxTlsHandshakes) || maxTlsHandshakes < 1) throw new UsageError('--max-tls-handshakes takes a positive integer');
      if (o.licensing !== 'valid-client' && o.licensing !== 'platform-challenge') throw new UsageError('--licensing takes valid-client or platform-challenge');
      const credssp = credsspOptions(o);
      let users;
      if (o.users) {
        const { parseUsersFile } = await import('../policy/users-file.js');
        try {
          users = parseUsersFile(readFileSync(o.users, 'utf8'), o.users);
        } catch (err) {
          if (err instanceof PolicyError) throw new UsageError(err.message);
          throw err;
        }
      }
      const tls = await certificate(o, policy);
      // a warning read from a file already names it (file:line: key: ...)
      for (const w of policy.warnings) process.stderr.write(`rdpsec serve: ${w.message.startsWith(policy.name) ? w.message : `${policy.name}: ${w.message}`}\n`);
      const listeners = await serve({
        host: o.host,
        ports,
        policy,
        tls,
        maxConnections,
        maxTlsHandshakes,
        licensing: o.licensing,
        credssp,
        ...(users ? { users } : {}),
        onConnection: (r) => {
          process.stdout.write(formatRecord(r) + '\n');
          if (o.jsonLog) appendFileSync(o.jsonLog, JSON.stringify(r) + '\n');
        },
      });
      for (const l of listeners) process.stdout.write(`listening on ${l.host}:${l.port}\n`);
      await new Promise<void>((resolve) => {
        const stop = () => resolve();
        process.once('SIGINT', stop);
        process.once('SIGTERM', stop);
      });
      await Promise.all(listeners.map((l) => l.close()));
      process.exitCode = 0;
    });
}
