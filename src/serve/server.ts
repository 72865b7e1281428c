import { randomBytes } from 'node:crypto';
import { acceptorPolicy, serverTlsSettings, type AcceptorPolicyOptions } from '../acceptor/from-server-policy.js';
import { ACCOUNT_STATES, type UserDirectory } from '../policy/users-file.js';
import { ServerAcceptor, type ConnectionSummary } from '../acceptor/acceptor.js';
import { ServerIdentity } from '../acceptor/server-identity.js';
import { fingerprintClient, type ClientTraits } from '../policy/client-fingerprint.js';
import type { ServerPolicy } from '../policy/server-policy.js';
import { listenSequences, type Listening } from '../transport/listener.js';

/**
 * `rdpsec serve`: the acceptor under a ServerPolicy on one or more ports, one log record per
 * connection (what the client asked for, what was selected, how it ended, which client it was).
 */
export interface ServeOptions {
  host: string;
  ports: number[];
  policy: ServerPolicy;
  tls: { certPem: string; keyPem: string };
  maxConnections?: number;
  /** TLS handshakes in progress at once (SERVE_DEFAULTS.maxTlsHandshakes) */
  maxTlsHandshakes?: number;
  handshakeTimeoutMs?: number;
  readTimeoutMs?: number;
  onConnection: (record: ConnectionRecord) => void;
  /** licensing after the Client Info (AcceptorPolicy.licensing); STATUS_VALID_CLIENT at once by default */
  licensing?: 'valid-client' | 'platform-challenge';
  /** the accounts CredSSP logons are checked against (--users); none: every NLA logon fails */
  users?: UserDirectory;
  /** NTLM names and CredSSP overrides (--credssp-version, --allow-encryption-oracle, --restricted-admin) */
  credssp?: Pick<AcceptorPolicyOptions, 'ntlmNames' | 'credssp'>;
}

export interface ConnectionRecord extends ConnectionSummary {
  time: string;
  remote: string;
  port: number;
  policy: string;
  clientFamily: string;
  clientEvidence: string[];
  /** the listener ended it: over the connection cap, or past the handshake deadline */
  cutOff?: string;
}

/**
 * Pre-authentication limits (issue 4): few connections, short deadlines, small PDUs. Every PDU
 * of the connection sequence fits in 16 KiB (the largest, a Confirm Active, is a few KiB), so a
 * larger declared length is refused before anything is read or allocated. At most 16 TLS
 * handshakes at once: each holds ~40 KiB of OpenSSL state until it ends (transport/handshake-slots.ts).
 */
export const SERVE_DEFAULTS = { maxConnections: 64, maxTlsHandshakes: 16, handshakeTimeoutMs: 30_000, readTimeoutMs: 10_000, maxPduSize: 16 * 1024 };

export async function serve(o: ServeOptions): Promise<Listening[]> {
  const identity = new ServerIdentity();
  const users = o.users;
  const accounts = users
    ? (user: string, domain: string) => {
        const a = users.find(user, domain);
        return a ? { ntHash: a.ntHash, status: ACCOUNT_STATES[a.state] } : undefined;
      }
    : undefined;
  const policy = {
    ...acceptorPolicy(o.policy, { ...o.credssp, ...(accounts ? { accounts } : {}) }),
    ...(o.licensing ? { licensing: o.licensing } : {}),
  };
  const tlsSettings = serverTlsSettings(o.policy);
  const listeners: Listening[] = [];
  for (const port of o.ports) {
    const l = await listenSequences(
      {
        host: o.host,
        port,
        maxConnections: o.maxConnections ?? SERVE_DEFAULTS.maxConnections,
        handshakeTimeoutMs: o.handshakeTimeoutMs ?? SERVE_DEFAULTS.handshakeTimeoutMs,
        readTimeoutMs: o.readTimeoutMs ?? SERVE_DEFAULTS.readTimeoutMs,
        maxPduSize: SERVE_DEFAULTS.maxPduSize,
        maxTlsHandshakes: o.maxTlsHandshakes ?? SERVE_DEFAULTS.maxTlsHandshakes,
        tls: { key: o.tls.keyPem, cert: o.tls.certPem, ...tlsSettings },
      },
      () => new ServerAcceptor(policy, identity, (n) => randomBytes(n)),
      (end) => {
        const s = end.sequence.summary;
        if (s.outcome === 'in-progress') {
          s.outcome = 'error';
          s.reason = end.cutOff ? `cut off (${end.cutOff}) in ${end.sequence.phaseName}` : `${end.run?.error?.message ?? String(end.error ?? 'connection ended')} in ${end.sequence.phaseName}`;
          if (!end.cutOff && s.nla?.credentials && end.sequence.phaseName === 'ConnectInitial') {
            // xfreerdp +auth-only, impacket rdp_check: they came to check the credentials only
            s.reason = `authenticated by CredSSP, then the client closed before the MCS Connect Initial (an authentication-only client): ${s.reason}`;
          }
        }
        const fp = fingerprintClient(traitsOf(s));
        o.onConnection({
          time: new Date().toISOString(),
          remote: end.remote,
          port: l.port,
          policy: o.policy.name,
          ...s,
          clientFamily: fp.family,
          clientEvidence: fp.evidence,
          ...(end.cutOff ? { cutOff: end.cutOff } : {}),
        });
      },
    );
    listeners.push(l);
  }
  return listeners;
}

/** What the fingerprint looks at, set field by field (one object per connection, not one per field). */
function traitsOf(s: ConnectionSummary): ClientTraits {
  const t: ClientTraits = { requestedProtocols: s.requestedProtocols };
  if (s.cookie !== undefined) t.cookie = s.cookie;
  const c = s.client;
  if (c) {
    t.clientName = c.name;
    t.clientBuild = c.build;
    t.version = c.version;
    t.encryptionMethods = c.encryptionMethods;
    if (c.earlyCapabilityFlags !== undefined) t.earlyCapabilityFlags = c.earlyCapabilityFlags;
  }
  const n = s.nla;
  if (n?.clientVersion !== undefined) t.credsspVersion = n.clientVersion;
  if (n?.negotiateFlags !== undefined) t.ntlmNegotiateFlags = n.negotiateFlags;
  if (n?.ntlmVersion !== undefined) t.ntlmVersion = n.ntlmVersion;
  return t;
}

/** Client-chosen text in a log line: no control characters (no forged lines, no terminal escapes). */
function clean(s: string): string {
  return JSON.stringify(s).slice(1, -1);
}

/** One human line per connection. */
export function formatRecord(r: ConnectionRecord): string {
  const req = r.requestedProtocols === null ? 'legacy' : r.requestedProtocols.join('|');
  const sel = r.selectedProtocol ?? (r.failureCode ? `FAIL ${r.failureCode}` : '-');
  const enc = r.encryption && r.encryption.method ? ` enc=0x${r.encryption.method.toString(16)}/level ${r.encryption.level}` : '';
  const tls = r.tls ? ` ${r.tls.version}` : '';
  const who = `${r.clientFamily}${r.client ? ` "${clean(r.client.name)}" build ${r.client.build}` : ''}${r.user ? ` user "${clean(r.user)}"` : ''}`;
  const n = r.nla;
  const nla = n
    ? ` CredSSP v${n.clientVersion ?? '?'}${n.user !== undefined ? ` "${clean(n.domain ? `${n.domain}\\${n.user}` : n.user)}"` : ''}${n.credentials ? ` ${n.credentials}` : ''}${n.status ? ` ${n.status}` : ''}`
    : '';
  return `${r.time} ${r.remote} -> :${r.port} ${who}: requested ${req}, selected ${sel}${tls}${nla}${enc}: ${r.outcome} (${clean(r.reason)})`;
}
