import type { ConnectorConfig } from '../connector/connector.js';
import { DEFAULT_CLIENT_DATA, methodName, levelName } from '../connector/mcs-connect.js';
import { summarizeProprietary, summarizeX509 } from '../crypto/certificate-summary.js';
import { decodeServerCertificate, x509LeafCertificate } from '../pdu/server-certificate.js';
import { NEG_RSP_FLAGS, PROTOCOL, PROTOCOL_NAMES, failureCodeName, flagNames, protocolName, type ProtocolName } from '../pdu/nego.js';
import { ENCRYPTION_METHOD } from '../pdu/client-data.js';
import { attachHandshakeEntries, runHandshakes } from './handshake.js';
import { probeCredssp, type ProbeCredentials } from './credssp-probe.js';
import { attemptError, connectPacer, limiter, runAttempt, type AttemptOutcome, type AttemptSpec, type AttemptTarget } from './attempt.js';
import {
  POSTURE_SCHEMA_VERSION,
  type DowngradeCheck,
  type LegacyProbe,
  type MethodName,
  type MethodProbe,
  type Posture,
  type ProtocolProbe,
  type HybridProbe,
  type NtlmInfo,
  type ServerCertificateInfo,
  type StandardSecurity,
  type TlsPosture,
  type TlsVersionName,
} from './posture.js';

/**
 * `probe`: map one server's negotiation posture by asking one question per connection, with
 * the real connector, in two rounds (the second depends on what the first found), at most
 * `parallel` connections at once.
 */
export interface ProbeOptions {
  host: string;
  port: number;
  /** per connect, per read, per TLS handshake */
  timeoutMs: number;
  /** connections in flight at once */
  parallel: number;
  /** minimum time between two connection openings (see connectPacer) */
  connectSpacingMs?: number;
  /** also complete a whole connection with each accepted layer and method (`--handshake`) */
  handshake?: boolean;
  /** TLS versions to test one by one */
  tlsVersions?: TlsVersionName[];
  onAttempt?: (o: AttemptOutcome) => void;
  /** `--user`: try a logon with these over CredSSP (and restricted admin, HYBRID_EX) */
  credentials?: ProbeCredentials;
}

/**
 * requestedProtocols per question. HYBRID and HYBRID_EX carry the bits real clients send with
 * them (MS-RDPBCGR 2.2.1.1.1: HYBRID_EX SHOULD come with HYBRID; mstsc sends SSL|HYBRID|HYBRID_EX),
 * so a server that answers with a lesser protocol shows as "ignored", not "refused".
 */
export const PROTOCOL_QUESTIONS: Record<ProtocolName, number> = {
  RDP: PROTOCOL.RDP,
  SSL: PROTOCOL.SSL,
  HYBRID: PROTOCOL.SSL | PROTOCOL.HYBRID,
  RDSTLS: PROTOCOL.RDSTLS,
  HYBRID_EX: PROTOCOL.SSL | PROTOCOL.HYBRID | PROTOCOL.HYBRID_EX,
  RDSAAD: PROTOCOL.RDSAAD,
};
const ALL_PROTOCOLS = PROTOCOL.SSL | PROTOCOL.HYBRID | PROTOCOL.RDSTLS | PROTOCOL.HYBRID_EX | PROTOCOL.RDSAAD;
/** What mstsc requests (SSL|HYBRID|HYBRID_EX). */
const MSTSC_PROTOCOLS = PROTOCOL.SSL | PROTOCOL.HYBRID | PROTOCOL.HYBRID_EX;

export const METHOD_QUESTIONS: Record<MethodName, number> = {
  '40BIT': ENCRYPTION_METHOD['40BIT'],
  '56BIT': ENCRYPTION_METHOD['56BIT'],
  '128BIT': ENCRYPTION_METHOD['128BIT'],
  FIPS: ENCRYPTION_METHOD.FIPS,
};
const ALL_METHODS = Object.values(METHOD_QUESTIONS).reduce((a, b) => a | b, 0);
export const DEFAULT_CONNECT_SPACING_MS = 10;
export const TLS_VERSIONS: TlsVersionName[] = ['TLSv1', 'TLSv1.1', 'TLSv1.2', 'TLSv1.3'];

function cfg(requestedProtocols: number | null, stopAfter: ConnectorConfig['stopAfter'], encryptionMethods = ALL_METHODS): AttemptSpec['config'] {
  return { requestedProtocols, stopAfter, clientData: { ...DEFAULT_CLIENT_DATA, encryptionMethods } };
}

export async function probeServer(opts: ProbeOptions): Promise<Posture> {
  const started = new Date();
  const t0 = performance.now();
  const target: AttemptTarget = {
    host: opts.host,
    port: opts.port,
    timeoutMs: opts.timeoutMs,
    closing: [],
    pace: connectPacer(opts.connectSpacingMs ?? DEFAULT_CONNECT_SPACING_MS),
  };
  let connections = 0;
  const limit = limiter(opts.parallel);
  const run = (spec: AttemptSpec): Promise<AttemptOutcome> =>
    limit(async () => {
      connections++;
      const o = await runAttempt(target, spec);
      opts.onAttempt?.(o);
      return o;
    });

  // One connection per question. RDP, SSL and legacy go on to the MCS Connect Response (what
  // the server really does with them: encryption with every method offered, downgrade echo,
  // certificate), and are asked first because other questions depend on their answers; those
  // start as soon as the answer they need is in.
  const order: ProtocolName[] = ['RDP', 'SSL', 'HYBRID', 'HYBRID_EX', 'RDSTLS', 'RDSAAD'];
  const attemptOf = new Map<ProtocolName, Promise<AttemptOutcome>>();
  const legacyP = run({ label: 'legacy request', config: cfg(null, 'mcs-connect') });
  for (const name of order) {
    const stopAfter = name === 'RDP' || name === 'SSL' ? 'mcs-connect' : name === 'HYBRID' ? 'credssp-challenge' : 'negotiation';
    attemptOf.set(name, run({ label: `protocol ${name}`, config: cfg(PROTOCOL_QUESTIONS[name], stopAfter) }));
  }
  const allP = run({ label: 'all protocols', config: cfg(ALL_PROTOCOLS, 'negotiation') });
  const probeOf = async (n: ProtocolName) => protocolProbe(await attemptOf.get(n)!, PROTOCOL[n]);

  // Standard RDP Security: each method alone, through whichever request reaches it.
  const methodsP = (async () => {
    const rdp = await attemptOf.get('RDP')!;
    const via: 'RDP_NEG_REQ' | 'legacy' | null =
      protocolProbe(rdp, PROTOCOL.RDP).status === 'accepted' && mcsOk(rdp)
        ? 'RDP_NEG_REQ'
        : legacyProbe(await legacyP).status === 'accepted'
          ? 'legacy'
          : null;
    if (!via) return null;
    const entries = await Promise.all(
      Object.entries(METHOD_QUESTIONS).map(async ([m, bits]) => {
        const o = await run({ label: `method ${m}`, config: cfg(via === 'legacy' ? null : PROTOCOL.RDP, 'mcs-connect', bits) });
        return [m, methodProbe(o, bits)] as const;
      }),
    );
    return { via, base: via === 'legacy' ? await legacyP : rdp, methods: Object.fromEntries(entries) as StandardSecurity['methods'] };
  })();

  // TLS: each version alone, through the first protocol that reaches TLS.
  const versions = opts.tlsVersions ?? TLS_VERSIONS;
  const tlsP = (async () => {
    for (const via of ['SSL', 'HYBRID', 'HYBRID_EX'] as const) {
      if ((await probeOf(via)).status !== 'accepted') continue;
      const outcomes = await Promise.all(
        versions.map((v) => run({ label: v, config: cfg(PROTOCOL_QUESTIONS[via], 'security-upgrade'), tls: { minVersion: v, maxVersion: v } })),
      );
      return { via, outcomes };
    }
    return null;
  })();

  // A server that drops a request with flags it does not know (xrdp 0.9 drops any
  // requestedProtocols above 0xb) has its preference asked again with what mstsc sends.
  const preferredP = (async () => {
    const first = protocolProbe(await allP, -1);
    if (!first.disconnect) return first;
    return protocolProbe(await run({ label: 'mstsc protocols', config: cfg(MSTSC_PROTOCOLS, 'negotiation') }), -1);
  })();

  // CredSSP beyond the first round trip, alongside the TLS and method questions
  const credsspP = (async () => {
    const first = Object.fromEntries(await Promise.all(PROTOCOL_NAMES.map(async (n) => [n, await probeOf(n)] as const))) as Record<ProtocolName, ProtocolProbe>;
    if (first.HYBRID.status !== 'accepted') return null;
    const hybrid = hybridProbe(await attemptOf.get('HYBRID')!);
    if (!hybrid.credssp) return null;
    return probeCredssp(run, { protocols: first, legacy: legacyProbe(await legacyP) }, hybrid, opts.credentials);
  })();

  const [legacyAttempt, methodsResult, tlsResult, preferredDetail, credssp] = await Promise.all([legacyP, methodsP, tlsP, preferredP, credsspP]);
  const byProtocol = new Map<ProtocolName, AttemptOutcome>();
  for (const n of PROTOCOL_NAMES) byProtocol.set(n, await attemptOf.get(n)!);
  const protocols = Object.fromEntries(PROTOCOL_NAMES.map((n) => [n, protocolProbe(byProtocol.get(n)!, PROTOCOL[n])])) as Record<
    ProtocolName,
    ProtocolProbe
  >;
  const legacy = legacyProbe(legacyAttempt);
  const reachable = [legacyAttempt, ...byProtocol.values()].some((o) => !o.transportError || o.transportError.phase !== 'connect');

  let standardSecurity: StandardSecurity | null = null;
  if (methodsResult) {
    const { via, base, methods } = methodsResult;
    const allOffered = methodProbe(base, ALL_METHODS);
    const sec = base.result?.mcs?.kind === 'response' ? base.result.mcs.serverSecurity : undefined;
    const imposes = new Set<string>();
    for (const m of [...Object.values(methods), allOffered]) if (m?.notOffered && m.selected) imposes.add(m.selected);
    standardSecurity = {
      encryptionLevel: sec ? levelName(sec.encryptionLevel) : 'UNKNOWN',
      via,
      methods,
      allOffered,
      serverRandom: Boolean(sec?.serverRandom?.length),
      certificate: sec?.serverCertificate ? serverCertificateInfo(sec.serverCertificate) : null,
      imposesMethods: [...imposes],
    };
  }

  let tls: TlsPosture | null = null;
  if (tlsResult) {
    const { via, outcomes } = tlsResult;
    const tlsVersions: TlsPosture['versions'] = {};
    versions.forEach((v, i) => {
      const o = outcomes[i]!;
      tlsVersions[v] = o.tls
        ? { accepted: true, cipher: o.tls.cipher.standardName, opensslCipher: o.tls.cipher.name }
        : { accepted: false, reason: o.transportError?.reason ?? o.transportError?.message ?? attemptError(o)?.message ?? 'no TLS handshake' };
    });
    const withTls = [byProtocol.get('SSL')!, ...outcomes].find((o) => o.tls?.peerCertificateChain.length);
    const def = byProtocol.get(via)!.tls ?? byProtocol.get('SSL')!.tls;
    tls = {
      via,
      versions: tlsVersions,
      ...(def ? { default: { version: def.version, cipher: def.cipher.standardName } } : {}),
      certificate: withTls?.tls ? safeSummary(withTls.tls.peerCertificateChain[0]!) : null,
    };
  }

  const requires =
    protocols.RDP.failureCode === 'HYBRID_REQUIRED_BY_SERVER' || protocols.SSL.failureCode === 'HYBRID_REQUIRED_BY_SERVER'
      ? 'HYBRID'
      : protocols.RDP.failureCode === 'SSL_WITH_USER_AUTH_REQUIRED_BY_SERVER'
        ? 'SSL_WITH_USER_AUTH'
        : protocols.RDP.failureCode === 'SSL_REQUIRED_BY_SERVER'
          ? 'SSL'
          : null;

  const posture: Posture = {
    schemaVersion: POSTURE_SCHEMA_VERSION,
    target: { host: opts.host, port: opts.port },
    startedAt: started.toISOString(),
    durationMs: 0,
    reachable,
    protocols,
    preferred: preferredDetail.status === 'accepted' || preferredDetail.status === 'ignored' ? (preferredDetail.selected ?? null) : null,
    preferredDetail,
    requires,
    legacy,
    standardSecurity,
    tls,
    downgrade: downgradeCheck(byProtocol.get('SSL')!, byProtocol.get('RDP')!),
    hybrid: protocols.HYBRID.status === 'accepted' ? hybridProbe(byProtocol.get('HYBRID')!) : null,
    credssp,
    connections,
    findings: [],
  };
  const core = [byProtocol.get('SSL')!, byProtocol.get('RDP')!, legacyAttempt]
    .map((o) => (o.result?.mcs?.kind === 'response' ? o.result.mcs.serverCore : undefined))
    .find(Boolean);
  if (core) {
    posture.serverCore = {
      version: `0x${core.version.toString(16).padStart(8, '0')}`,
      ...(core.earlyCapabilityFlags !== undefined ? { earlyCapabilityFlags: core.earlyCapabilityFlags } : {}),
    };
  }
  if (opts.handshake) {
    posture.handshake = await runHandshakes(posture, run, opts.credentials);
    attachHandshakeEntries(posture, posture.handshake);
  }
  posture.connections = connections;
  posture.durationMs = Math.round(performance.now() - t0);
  await Promise.all(target.closing!); // no socket outlives the probe
  return posture;
}

/**
 * Errors that say nothing about the server's will: a wait that ran out, bytes we could not
 * decode. Only the rest (a disconnect, a reset, a refusal result) counts as a refusal.
 */
const NOT_A_REFUSAL = new Set(['timeout', 'DECODE_ERROR', 'malformed', 'oversized', 'UNEXPECTED_PDU']);

function mcsOk(o: AttemptOutcome): boolean {
  return o.result?.mcs?.kind === 'response' && o.result.mcs.result === 0 && !o.connectorError;
}

/** accepted: the server selected exactly the protocol asked about; ignored: it selected another. */
function protocolProbe(o: AttemptOutcome, protocol: number): ProtocolProbe {
  const requested = o.spec.config.requestedProtocols ?? 0;
  const neg = o.result?.confirm.negotiation;
  const base: ProtocolProbe = { status: 'error', requested };
  if (neg?.type === 'RDP_NEG_FAILURE') return { ...base, status: 'refused', failureCode: failureCodeName(neg.failureCode) };
  if (o.result && o.result.selectedProtocol >= 0) {
    const selected = o.result.selectedProtocol;
    const p: ProtocolProbe = {
      ...base,
      status: protocol < 0 || selected === protocol ? 'accepted' : 'ignored',
      selected: protocolName(selected),
    };
    if (neg?.type === 'RDP_NEG_RSP') p.flags = flagNames(neg.flags, NEG_RSP_FLAGS);
    if (o.result.legacyConfirm) p.legacyConfirm = true;
    const err = attemptError(o);
    if (err) p.error = err; // e.g. selected, but the MCS Connect Response was malformed
    return p;
  }
  const err = attemptError(o);
  if (err && err.phase === 'x224' && (err.kind === 'MCS_DISCONNECT_PROVIDER_ULTIMATUM' || err.kind === 'X224_DISCONNECT')) {
    // no RDP_NEG_FAILURE, but an explicit disconnect in answer to the request
    return { ...base, status: 'refused', disconnect: err.message, error: err };
  }
  return err ? { ...base, error: err } : base;
}

function hybridProbe(o: AttemptOutcome): HybridProbe {
  const c = o.result?.credssp;
  const err = attemptError(o);
  if (!c) return { credssp: false, ...(err ? { error: err } : {}) };
  const out: HybridProbe = { credssp: true, serverVersion: c.serverVersion };
  if (c.errorCode !== undefined) out.errorCode = `0x${c.errorCode.toString(16).padStart(8, '0')}`;
  if (c.challenge) {
    out.mechanism = 'NTLM';
    const ti = c.challenge.targetInfo;
    const v = c.challenge.version;
    const ntlm: NtlmInfo = { targetName: c.challenge.targetName };
    if (ti?.nbComputerName !== undefined) ntlm.nbComputerName = ti.nbComputerName;
    if (ti?.nbDomainName !== undefined) ntlm.nbDomainName = ti.nbDomainName;
    if (ti?.dnsComputerName !== undefined) ntlm.dnsComputerName = ti.dnsComputerName;
    if (ti?.dnsDomainName !== undefined) ntlm.dnsDomainName = ti.dnsDomainName;
    if (ti?.dnsTreeName !== undefined) ntlm.dnsTreeName = ti.dnsTreeName;
    if (v) ntlm.productVersion = `${v.major}.${v.minor}.${v.build}`;
    if (ti?.timestamp) {
      ntlm.serverTime = ti.timestamp.date.toISOString();
      ntlm.clockSkewSeconds = Math.round((ti.timestamp.date.getTime() - o.finishedAt) / 1000);
    }
    out.ntlm = ntlm;
  } else if (c.otherToken) {
    out.mechanism = 'other';
  }
  return out;
}

function legacyProbe(o: AttemptOutcome): LegacyProbe {
  const neg = o.result?.confirm.negotiation;
  const confirm: LegacyProbe['confirm'] = o.result ? (neg ? neg.type : 'no-negotiation-data') : null;
  if (neg?.type === 'RDP_NEG_FAILURE') return { status: 'refused', failureCode: failureCodeName(neg.failureCode), confirm };
  const err = attemptError(o);
  if (mcsOk(o)) return { status: 'accepted', failureCode: null, confirm, selected: protocolName(o.result!.selectedProtocol), detail: 'MCS Connect Response received' };
  if (o.result && err && (err.phase === 'mcs' || err.phase === 'tls') && !NOT_A_REFUSAL.has(err.kind)) {
    // the Confirm came, but the server ended the connection at the next step
    return { status: 'refused', failureCode: null, confirm, detail: `the server ended the connection after the Confirm: ${err.message}`, error: err };
  }
  if (!o.result && err && (err.kind === 'closed' || err.kind === 'reset') && err.phase === 'x224') {
    return { status: 'refused', failureCode: null, confirm, detail: 'the server closed the connection without a Connection Confirm', error: err };
  }
  return { status: 'error', failureCode: null, confirm, ...(err ? { error: err } : {}) };
}

function methodProbe(o: AttemptOutcome, offered: number): MethodProbe {
  const mcs = o.result?.mcs;
  if (mcs?.kind === 'response' && mcs.result === 0) {
    const sec = mcs.serverSecurity;
    const method = sec?.encryptionMethod ?? 0;
    const p: MethodProbe = { status: 'accepted', offered, selected: methodName(method) };
    if (sec) p.encryptionLevel = levelName(sec.encryptionLevel);
    if (method !== 0 && (method & offered) === 0) p.notOffered = true;
    return p;
  }
  const err = attemptError(o);
  if ((mcs && !err) || (err && err.phase === 'mcs' && !NOT_A_REFUSAL.has(err.kind))) {
    return { status: 'refused', offered, ...(err ? { error: err } : {}) };
  }
  return { status: 'error', offered, ...(err ? { error: err } : {}) };
}

function downgradeCheck(ssl: AttemptOutcome, rdp: AttemptOutcome): DowngradeCheck {
  for (const [o, via] of [[ssl, 'SSL'], [rdp, 'RDP']] as const) {
    const mcs = o.result?.mcs;
    if (mcs?.kind !== 'response' || mcs.result !== 0 || !mcs.serverCore) continue;
    const sent = o.spec.config.requestedProtocols ?? 0;
    const echoed = mcs.serverCore.clientRequestedProtocols;
    if (echoed === undefined) return { ok: false, sent, echoed: null, via };
    return { ok: echoed === sent, sent, echoed, via };
  }
  return { ok: null, reason: 'no connection reached the MCS Connect Response (NLA-only servers need CredSSP first)' };
}

/** The Standard RDP Security certificate (TS_UD_SC_SEC1), or null when it does not decode. */
function serverCertificateInfo(bytes: Uint8Array): ServerCertificateInfo | null {
  try {
    const cert = decodeServerCertificate(bytes);
    if (cert.kind === 'proprietary') {
      const s = summarizeProprietary(cert);
      return { type: 'proprietary', keyType: s.keyType, keyBits: s.keyBits, temporary: s.temporary };
    }
    const leaf = summarizeX509(x509LeafCertificate(cert));
    return { type: 'x509', keyType: leaf.keyType, keyBits: leaf.keyBits, temporary: cert.temporary, subject: leaf.subject, issuer: leaf.issuer };
  } catch {
    return null;
  }
}

function safeSummary(der: Uint8Array) {
  try {
    return summarizeX509(der);
  } catch {
    return null;
  }
}
