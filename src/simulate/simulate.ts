import { acceptorPolicy, serverTlsSettings } from '../acceptor/from-server-policy.js';
import { ServerIdentity } from '../acceptor/server-identity.js';
import {
  attemptOutcome,
  clientFailureWording,
  connectorConfigFor,
  nextAttempt,
  type ClientFailureWording,
  type ClientProfile,
  type FailureCode,
  type SimulationStage,
} from '../connector/client-profiles.js';
import type { ClientConnector } from '../connector/connector.js';
import { loadCredsspClient } from '../connector/credssp-loader.js';
import { ConnectorError } from '../connector/errors.js';
import { initMd4, ntHash } from '../crypto/md4.js';
import { generateSelfSignedCertificate, type PemPair } from '../crypto/self-signed.js';
import { ENCRYPTION_METHOD } from '../pdu/client-data.js';
import { protocolMaskNames, protocolName } from '../pdu/nego.js';
import { ntStatusName } from '../pdu/ntstatus.js';
import { ENCRYPTION_LEVEL } from '../pdu/server-data.js';
import type { ServerPolicy } from '../policy/server-policy.js';
import type { TransportError } from '../transport/errors.js';
import type { TlsClientOptions } from '../transport/socket.js';
import { runPair, type ExchangeLine, type PairResult } from './run-pair.js';

/**
 * `simulate`: a client profile against a server policy, in memory. Each connection the client
 * makes is the real connector (configured by the profile, connector/client-profiles.ts) against
 * the real acceptor (configured by the policy, acceptor/from-server-policy.ts) over a real TLS
 * handshake (run-pair.ts); which connection comes next is the profile's fallback graph. The
 * outcome is what the machines did; the words the client shows come from the profile's data.
 */
export const SIMULATION_SCHEMA_VERSION = 1;

export type Logon =
  /** the server knows the user and the password the client sends */
  | 'valid'
  /** the server knows the user, the client sends another password */
  | 'wrong-password'
  /** the client has no credentials to give (no user name, no password) */
  | 'none';

export interface SimulateOptions {
  client: ClientProfile;
  server: ServerPolicy;
  logon?: Logon;
  /** per read and TLS handshake on each side (default 5 s: nothing waits on a network here) */
  timeoutMs?: number;
}

export interface Negotiated {
  /** selectedProtocol: RDP, SSL, HYBRID, HYBRID_EX */
  protocol: string;
  tlsVersion: string | null;
  /** Standard RDP Security method and level (NONE inside TLS) */
  encryptionMethod: string | null;
  encryptionLevel: string | null;
  credsspVersion?: number;
}

export interface SimulatedFailure {
  stage: SimulationStage;
  /** the machine's code: an RDP_NEG_FAILURE name, a ConnectorError code, TRANSPORT_CLOSED ... */
  code: FailureCode;
  /** the NTSTATUS of a failed logon */
  detail?: string;
  /** what the connector saw, in our words */
  reason: string;
  /** what this client shows the user */
  clientMessage: string;
  clientCode: string | null;
  exitCode: number | null;
  /** data/errors entry that explains it (`rdpsec explain`) */
  explain: string | null;
  source: string;
}

export interface SimulatedAttempt {
  /** index into the profile's attempts */
  attempt: number;
  note?: string;
  requestedProtocols: string[] | null;
  outcome: 'connected' | FailureCode;
  negotiated: Negotiated | null;
  failure: SimulatedFailure | null;
  /** how the server saw the connection end */
  server: { outcome: string; reason: string; phase: string };
  exchange: ExchangeLine[];
}

export interface SimulationResult {
  schemaVersion: typeof SIMULATION_SCHEMA_VERSION;
  client: string;
  server: string;
  logon: Logon;
  connects: boolean;
  negotiated: Negotiated | null;
  failure: SimulatedFailure | null;
  /** what is weak about the connection it makes (empty when it fails) */
  risks: Risk[];
  attempts: SimulatedAttempt[];
}

/** A weakness of a connection that works. */
export interface Risk {
  id: 'no-server-authentication' | 'no-encryption' | 'server-to-client-in-clear' | 'weak-rc4-key' | 'old-tls' | 'no-nla' | 'credssp-unpatched';
  summary: string;
}

/**
 * What a connection that works still exposes, from what was negotiated (MS-RDPBCGR 5.3.1 for
 * the levels, 5.3.3 for the proprietary certificate, MS-CSSP 2.2.1 for CVE-2018-0886).
 */
export function risksOf(n: Negotiated): Risk[] {
  const out: Risk[] = [];
  if (n.protocol === 'RDP') {
    out.push({ id: 'no-server-authentication', summary: 'Standard RDP Security: the server is not authenticated (its proprietary certificate is signed with a key Microsoft published), so a man in the middle can read everything' });
    if (n.encryptionLevel === 'NONE' || n.encryptionMethod === 'NONE') out.push({ id: 'no-encryption', summary: 'encryption level NONE: nothing is encrypted, the logon password included' });
    else if (n.encryptionLevel === 'LOW') out.push({ id: 'server-to-client-in-clear', summary: 'encryption level LOW: only client-to-server traffic is encrypted; what the server sends (the screen) travels in the clear' });
    if (n.encryptionMethod === '40BIT' || n.encryptionMethod === '56BIT') out.push({ id: 'weak-rc4-key', summary: `${n.encryptionMethod} RC4 keys can be brute-forced` });
  } else {
    if (n.tlsVersion === 'TLSv1' || n.tlsVersion === 'TLSv1.1') out.push({ id: 'old-tls', summary: `${n.tlsVersion}: deprecated (RFC 8996)` });
    if (n.protocol === 'SSL') out.push({ id: 'no-nla', summary: 'TLS without NLA: the server hands a logon screen and a session to anyone before they authenticate' });
  }
  if (n.credsspVersion !== undefined && n.credsspVersion < 5) out.push({ id: 'credssp-unpatched', summary: `CredSSP ${n.credsspVersion}: without the CVE-2018-0886 fix (versions 5 and 6), the exchange can be abused by a man in the middle` });
  return out;
}

/** What the simulated client and server share: one TLS certificate and one RSA identity per process. */
interface Fixtures {
  cert: PemPair;
  identity: ServerIdentity;
}
let fixtures: Promise<Fixtures> | undefined;
function sharedFixtures(): Promise<Fixtures> {
  fixtures ??= (async () => {
    await Promise.all([initMd4(), loadCredsspClient()]);
    return { cert: await generateSelfSignedCertificate('rdpsec-simulate'), identity: new ServerIdentity() };
  })();
  return fixtures;
}

const SIM_USER = 'simuser';
const SIM_DOMAIN = 'RDPSEC';
const SIM_PASSWORD = 'Correct-Horse-7';
const WRONG_PASSWORD = 'Wrong-Password-7';
/** a profile's attempts graph is acyclic (checked at load), so this only bounds hostile input */
const MAX_ATTEMPTS = 16;


export async function simulate(o: SimulateOptions): Promise<SimulationResult> {
  const { cert, identity } = await sharedFixtures();
  const logon = o.logon ?? 'valid';
  const timeoutMs = o.timeoutMs ?? 5_000;
  const hash = await ntHash(SIM_PASSWORD);
  const policy = acceptorPolicy(o.server, {
    accounts: (user, domain) => (user.toLowerCase() === SIM_USER && (domain === '' || domain.toUpperCase() === SIM_DOMAIN) ? { ntHash: hash, status: 0 } : undefined),
  });
  const password = logon === 'valid' ? SIM_PASSWORD : WRONG_PASSWORD;
  const configs = connectorConfigFor(o.client, {
    ...(logon !== 'none' ? { credentials: { user: SIM_USER, domain: SIM_DOMAIN, ntHash: await ntHash(password), password: Buffer.from(password, 'utf16le') } } : {}),
  });
  const serverTls = { key: cert.keyPem, cert: cert.certPem, ...serverTlsSettings(o.server) };
  const clientTls = clientTlsOptions(o.client.tls);

  const attempts: SimulatedAttempt[] = [];
  let index: number | undefined = 0;
  while (index !== undefined && attempts.length < MAX_ATTEMPTS) {
    const base = configs[index]!;
    const config = logon === 'none' ? base : { ...base, activation: { ...base.activation, credentials: { user: SIM_USER, domain: SIM_DOMAIN, password } } };
    const pair = await runPair({ config, policy, identity, clientTls, serverTls, timeoutMs });
    const attempt = describeAttempt(o.client, index, pair);
    attempts.push(attempt);
    index = nextAttempt(o.client, index, endedAs(pair, attempt));
  }
  const last = attempts[attempts.length - 1]!;
  return {
    schemaVersion: SIMULATION_SCHEMA_VERSION,
    client: o.client.name,
    server: o.server.name,
    logon,
    connects: last.outcome === 'connected',
    negotiated: last.outcome === 'connected' ? last.negotiated : null,
    failure: last.failure,
    risks: last.outcome === 'connected' && last.negotiated ? risksOf(last.negotiated) : [],
    attempts,
  };
}

function clientTlsOptions(t: ClientProfile['tls']): Omit<TlsClientOptions, 'timeoutMs'> {
  if (!t) return {};
  const ciphers = t.ciphers ?? (t.securityLevel !== undefined ? `DEFAULT:@SECLEVEL=${t.securityLevel}` : undefined);
  return {
    ...(t.minVersion ? { minVersion: t.minVersion } : {}),
    ...(t.maxVersion ? { maxVersion: t.maxVersion } : {}),
    ...(ciphers ? { ciphers } : {}),
  };
}

/** How the attempt ended, in the profile graph's words (a network end is its own code, which no `after` names unless the profile says so). */
function endedAs(pair: PairResult, a: SimulatedAttempt): Parameters<typeof nextAttempt>[2] {
  const c = pair.connector;
  if (a.failure && !c.error && a.failure.code !== 'CREDSSP_NOT_ATTEMPTED') {
    return { config: c.config, result: c.result, error: new ConnectorError(a.failure.code as ConnectorError['code'], a.failure.stage, a.failure.reason) };
  }
  return c;
}

function describeAttempt(profile: ClientProfile, index: number, pair: PairResult): SimulatedAttempt {
  const c = pair.connector;
  const req = c.config.requestedProtocols;
  const ended = classify(pair);
  const failure = ended ? failureOf(profile, ended) : null;
  const s = pair.acceptor.summary;
  const exchange = [...pair.lines];
  if (failure) exchange.push({ kind: 'note', side: 'client', text: `${failure.clientCode ?? failure.code}: ${failure.reason}` });
  const note = profile.attempts[index]?.note;
  return {
    attempt: index,
    ...(note ? { note } : {}),
    requestedProtocols: req === null ? null : req === 0 ? ['RDP'] : protocolMaskNames(req),
    outcome: failure ? failure.code : 'connected',
    negotiated: negotiatedOf(c),
    failure,
    // a server still waiting when the client hung up saw the connection end, in that phase
    server:
      s.outcome === 'in-progress'
        ? { outcome: 'ended-by-client', reason: pair.serverTransportError?.message ?? 'the client closed the connection', phase: pair.serverPhase }
        : { outcome: s.outcome, reason: s.reason, phase: pair.serverPhase },
    exchange,
  };
}

interface Ended {
  code: FailureCode;
  stage: SimulationStage;
  reason: string;
  detail?: string;
}

/** The attempt's end as the client saw it: the connector's error, the network's, or none. */
function classify(pair: PairResult): Ended | undefined {
  const c = pair.connector;
  const err = c.error;
  if (err) {
    const detail = err.code === 'CREDSSP_LOGON_FAILED' && err.value !== undefined ? ntStatusName(err.value) : undefined;
    return { code: err.code, stage: stageOf(c, err.phase), reason: err.message, ...(detail ? { detail } : {}) };
  }
  const t = pair.clientTransportError;
  if (t) return { code: transportCode(t), stage: stageOf(c, pair.clientStoppedIn?.phase ?? c.phase), reason: t.message };
  if (!c.done) return { code: 'TIMEOUT', stage: stageOf(c, c.phase), reason: 'the connection stopped without an end' };
  if (attemptOutcome(c) === 'credssp-not-attempted') {
    return { code: 'CREDSSP_NOT_ATTEMPTED', stage: 'credssp', reason: 'the server selected CredSSP and this client has no logon it can make (no Kerberos ticket, no credentials)' };
  }
  return undefined;
}

function transportCode(t: TransportError): FailureCode {
  switch (t.kind) {
    case 'tls':
      return 'TLS_HANDSHAKE_FAILED';
    case 'timeout':
      return 'TIMEOUT';
    case 'malformed':
    case 'oversized':
      return 'DECODE_ERROR';
    default:
      return 'TRANSPORT_CLOSED';
  }
}

/**
 * The stage, from the connector's phase; inside activation, from how far it got (a server that
 * drops the client after its Client Info, xrdp's MAC check, failed the security exchange).
 */
function stageOf(c: ClientConnector, phase: string): SimulationStage {
  switch (phase) {
    case 'x224':
    case 'tls':
    case 'credssp':
    case 'mcs':
      return phase;
    case 'licensing':
      return 'licensing';
    default: {
      const reached = c.result?.activation?.reached;
      if (reached === 'security-exchange' || reached === 'client-info') return 'security-exchange';
      if (reached === 'licensing') return 'licensing';
      if (reached === 'mcs') return 'mcs';
      return 'activation';
    }
  }
}

function failureOf(profile: ClientProfile, e: Ended): SimulatedFailure {
  const w: ClientFailureWording = clientFailureWording(profile, e.code, e.stage, e.detail);
  return {
    stage: e.stage,
    code: e.code,
    ...(e.detail ? { detail: e.detail } : {}),
    reason: e.reason,
    clientMessage: w.message,
    clientCode: w.code ?? null,
    exitCode: w.exitCode ?? null,
    explain: w.explain ?? null,
    source: w.source,
  };
}

function negotiatedOf(c: ClientConnector): Negotiated | null {
  const r = c.result;
  if (!r || r.selectedProtocol < 0) return null;
  const sec = r.mcs?.kind === 'response' ? r.mcs.serverSecurity : undefined;
  return {
    protocol: protocolName(r.selectedProtocol),
    tlsVersion: r.security?.version ?? null,
    encryptionMethod: sec ? nameOf(ENCRYPTION_METHOD, sec.encryptionMethod) : null,
    encryptionLevel: sec ? nameOf(ENCRYPTION_LEVEL, sec.encryptionLevel) : null,
    ...(r.credssp ? { credsspVersion: Math.min(r.credssp.serverVersion, r.credssp.clientVersion) } : {}),
  };
}

/** The short name (NONE, 128BIT, CLIENT_COMPATIBLE) of a value in one of the spec's tables. */
function nameOf(table: Readonly<Record<string, number>>, value: number): string {
  return Object.keys(table).find((k) => table[k] === value) ?? `0x${value.toString(16)}`;
}
