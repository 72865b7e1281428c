import { NEG_RSP_FLAGS, PROTOCOL, PROTOCOL_NAMES, flagNames, type ProtocolName } from '../pdu/nego.js';
import { selectEncryptionMethod } from '../policy/encryption-method.js';
import { negotiate, type NegotiationDecision } from '../policy/negotiation.js';
import { TLS_VERSIONS, type ServerPolicy, type TlsVersion } from '../policy/server-policy.js';
import { METHOD_QUESTIONS, PROTOCOL_QUESTIONS } from '../probe/probe.js';
import type { Posture } from '../probe/posture.js';


/**
 * The probe's answers and a policy's predicted answers to the same questions, as comparable
 * "decisions" (one string per question). infer-policy.ts scores candidate policies with these;
 * the tests compare a real server's posture with our acceptor's under the inferred policy.
 * Predictions use the very functions the acceptor runs (policy/negotiation.ts,
 * policy/encryption-method.ts).
 */

export interface PolicyDifference {
  /** the postureDecisions key */
  question: string;
  observed: string;
  /** what our acceptor answers under the inferred policy */
  predicted: string;
}

/** The probe's questions as a decision map; an answer that says nothing about the server (a timeout) is left out. */
export type Decisions = Record<string, string>;

/** What the probe requests to learn the server's preference, and again (mstsc's set) when that is dropped (probe.ts). */
export const ALL_PROTOCOLS = PROTOCOL.SSL | PROTOCOL.HYBRID | PROTOCOL.RDSTLS | PROTOCOL.HYBRID_EX | PROTOCOL.RDSAAD;
export const MSTSC_PROTOCOLS = PROTOCOL.SSL | PROTOCOL.HYBRID | PROTOCOL.HYBRID_EX;
export const ALL_METHODS = Object.values(METHOD_QUESTIONS).reduce((a, b) => a | b, 0);
export const CREDSSP_PROTOCOLS = PROTOCOL.HYBRID | PROTOCOL.HYBRID_EX;
export const PROBED_TLS: readonly TlsVersion[] = ['TLSv1', 'TLSv1.1', 'TLSv1.2', 'TLSv1.3'];
/** from-server-policy.ts DEFAULT_CREDSSP: what the acceptor runs when a policy says nothing of CredSSP */
export const DEFAULT_CREDSSP_VERSIONS = [2, 3, 4, 5, 6];
/** TS_UD_SC_CORE.version our acceptor announces per flavor (from-server-policy.ts) */
export const CORE_VERSION: Record<ServerPolicy['flavor'], string> = { xrdp: '0x00080004', windows: '0x0008000c' };

export function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null;
}
export function rec(v: unknown): Record<string, unknown> | undefined {
  return isRecord(v) ? v : undefined;
}
export function str(v: unknown): string | undefined {
  return typeof v === 'string' ? v : undefined;
}
export function kind(o: unknown): string | undefined {
  return isRecord(o) && isRecord(o.error) ? str(o.error.kind) : undefined;
}

/**
 * The probe's answers as decisions. Posture fields are read defensively: a posture comes from
 * JSON (`probe --json`, the scan history) as often as from probeServer, and a missing or odd
 * field means "not observed", never a crash.
 */
export function postureDecisions(posture: Posture): Decisions {
  const d: Decisions = {};
  const p: unknown = posture;
  if (!isRecord(p)) return d;
  const protocols = isRecord(p.protocols) ? p.protocols : {};
  for (const name of PROTOCOL_NAMES) {
    const q = protocols[name];
    if (!isRecord(q)) continue;
    const status = str(q.status);
    if (status === 'accepted' || status === 'ignored') {
      d[`protocol.${name}`] = `${status} ${str(q.selected) ?? '?'}`;
      d[`flags.${name}`] = Array.isArray(q.flags) ? q.flags.filter((f) => typeof f === 'string').join('|') || 'none' : 'none';
    } else if (status === 'refused') {
      d[`protocol.${name}`] = str(q.failureCode) ? `refused ${q.failureCode as string}` : 'refused (disconnect)';
    } else if (status === 'error' && isRecord(q.error) && q.error.phase === 'x224' && (q.error.kind === 'closed' || q.error.kind === 'reset')) {
      d[`protocol.${name}`] = 'no answer';
    }
  }
  const legacy = p.legacy;
  if (isRecord(legacy) && (legacy.status === 'accepted' || legacy.status === 'refused')) {
    d.legacy = `${legacy.status} ${str(legacy.failureCode) ?? '-'}`;
    d['legacy.confirm'] = str(legacy.confirm) ?? 'no confirm';
  }
  const pd = p.preferredDetail;
  if (isRecord(pd) && pd.status !== 'error') d.preferred = str(p.preferred) ?? 'none';
  else if (str(p.preferred)) d.preferred = p.preferred as string;

  const ss = p.standardSecurity;
  if (isRecord(ss)) {
    d.level = str(ss.encryptionLevel) ?? '?';
    const methods = isRecord(ss.methods) ? ss.methods : {};
    const m = (k: string, probe: unknown): void => {
      if (!isRecord(probe)) return;
      if (probe.status === 'accepted') d[k] = `accepted ${str(probe.selected) ?? '?'}`;
      else if (probe.status === 'refused') d[k] = 'refused';
    };
    for (const name of Object.keys(METHOD_QUESTIONS)) m(`method.${name}`, methods[name]);
    m('method.all', ss.allOffered);
    if (typeof ss.serverRandom === 'boolean') d.serverRandom = String(ss.serverRandom);
    if (Array.isArray(ss.handshakes)) {
      const hs: unknown[] = ss.handshakes;
      for (const method of ['40BIT', '56BIT', '128BIT']) {
        const of = (mac: string) => hs.find((h: unknown) => isRecord(h) && h.method === method && h.mac === mac) as Record<string, unknown> | undefined;
        const plain = of('plain');
        const salted = of('salted');
        if (plain && salted) d[`mac.${method}`] = `plain ${plain.completed === true ? 'works' : 'fails'}, salted ${salted.completed === true ? 'works' : 'fails'}`;
      }
    }
  }
  const tls = p.tls;
  if (isRecord(tls) && isRecord(tls.versions)) {
    for (const v of PROBED_TLS) {
      const r = tls.versions[v];
      if (isRecord(r) && typeof r.accepted === 'boolean') d[`tls.${v}`] = r.accepted ? 'accepted' : 'refused';
    }
  }
  const c = p.credssp;
  if (isRecord(c)) {
    if (typeof c.version === 'number') d['credssp.version'] = String(c.version);
    if (typeof c.nlaRequired === 'boolean') d['credssp.nlaRequired'] = String(c.nlaRequired);
    if (typeof c.acceptsLegacyVersions === 'boolean') d['credssp.acceptsLegacyVersions'] = `${c.acceptsLegacyVersions} (${str(c.legacyCheck) ?? '?'})`;
    if (isRecord(c.restrictedAdmin) && typeof c.restrictedAdmin.advertised === 'boolean') d['credssp.restrictedAdmin'] = String(c.restrictedAdmin.advertised);
    if (isRecord(c.ntlm) && str(c.ntlm.osVersion)) d['credssp.ntlmVersion'] = c.ntlm.osVersion as string;
    const reply = failureReplyOf(posture);
    if (reply) d['credssp.failureReply'] = reply;
  }
  const dg = p.downgrade;
  if (isRecord(dg) && typeof dg.ok === 'boolean') d.downgrade = dg.ok ? 'echoed' : 'differs';
  if (isRecord(p.serverCore) && str(p.serverCore.version)) d.serverCore = p.serverCore.version as string;
  return d;
}

/** How a failed logon was answered, when the probe had credentials and the logon failed. */
export function failureReplyOf(posture: Posture): 'error-code' | 'close' | undefined {
  const cred = isRecord(posture.credssp) ? posture.credssp.credentials : null;
  if (!isRecord(cred) || cred.accepted !== false) return undefined;
  if (str(cred.errorCode)) return 'error-code';
  if (typeof cred.observation === 'string' && /without a TSRequest errorCode/.test(cred.observation)) return 'close';
  return undefined;
}

export function protocolAnswer(policy: ServerPolicy, d: NegotiationDecision, asked: number): string {
  if (d.outcome === 'selected') return `${d.selectedProtocol === asked ? 'accepted' : 'ignored'} ${d.selected}`;
  if (d.outcome === 'failure') return `refused ${d.failureCode}`;
  // the acceptor: a Disconnect Provider Ultimatum for xrdp, a plain close otherwise (from-server-policy.ts)
  return policy.flavor === 'xrdp' ? 'refused (disconnect)' : 'no answer';
}

/** RDP_NEG_RSP.flags the acceptor sends with a selection (from-server-policy.ts acceptorPolicy). */
export function responseFlags(policy: ServerPolicy, d: NegotiationDecision): string {
  if (d.outcome !== 'selected') return 'none';
  let flags = d.responseFlags;
  if ((d.selectedProtocol & CREDSSP_PROTOCOLS) !== 0 && policy.nla.supported) {
    if (policy.credssp?.restrictedAdmin) flags |= NEG_RSP_FLAGS.RESTRICTED_ADMIN_MODE_SUPPORTED;
    if (policy.credssp?.redirectedAuthentication) flags |= NEG_RSP_FLAGS.REDIRECTED_AUTHENTICATION_MODE_SUPPORTED;
  }
  return flagNames(flags, NEG_RSP_FLAGS).join('|') || 'none';
}

/** What the probe reports of our acceptor's X.224 answers under `policy` (no TLS, no MCS: pure functions). */
export function predictNegotiation(policy: ServerPolicy): Decisions {
  const d: Decisions = {};
  for (const name of PROTOCOL_NAMES) {
    const asked = PROTOCOL_QUESTIONS[name];
    const dec = negotiate(policy, asked);
    d[`protocol.${name}`] = protocolAnswer(policy, dec, PROTOCOL[name]);
    if (dec.outcome === 'selected') d[`flags.${name}`] = responseFlags(policy, dec);
  }
  const legacy = negotiate(policy, null);
  if (legacy.outcome === 'selected') {
    d.legacy = 'accepted -';
    d['legacy.confirm'] = legacy.negData ? 'RDP_NEG_RSP' : 'no-negotiation-data';
  } else if (legacy.outcome === 'failure') {
    const inBand = legacy.delivery === 'neg-failure';
    d.legacy = `refused ${inBand ? legacy.failureCode : '-'}`;
    d['legacy.confirm'] = inBand ? 'RDP_NEG_FAILURE' : 'no-negotiation-data';
  } else {
    d.legacy = 'refused -';
    d['legacy.confirm'] = 'no confirm';
  }
  let all = negotiate(policy, ALL_PROTOCOLS);
  if (all.outcome === 'drop') all = negotiate(policy, MSTSC_PROTOCOLS);
  d.preferred = all.outcome === 'selected' ? all.selected : 'none';
  return d;
}

/**
 * What the probe reports of our acceptor under `policy`, for the questions a posture answered
 * (`like`: encryption only when the posture reached Standard RDP Security, TLS only when it
 * reached TLS, CredSSP only when it saw CredSSP, as the probe asks them).
 */
export function predictDecisions(policy: ServerPolicy, like: Posture): Decisions {
  const d = predictNegotiation(policy);
  const selects = (name: ProtocolName): boolean => /^accepted /.test(d[`protocol.${name}`] ?? '');
  const reachesRdp = /^(accepted|ignored) RDP$/.test(d['protocol.RDP'] ?? '') || d.legacy === 'accepted -';
  if (isRecord(like.standardSecurity) && reachesRdp) {
    d.level = policy.standardSecurity.encryptionLevel;
    const answer = (bits: number): string => {
      const s = selectEncryptionMethod(policy, bits);
      return s.outcome === 'selected' ? `accepted ${s.method}` : 'refused';
    };
    for (const [name, bits] of Object.entries(METHOD_QUESTIONS)) d[`method.${name}`] = answer(bits);
    d['method.all'] = answer(ALL_METHODS);
    const all = selectEncryptionMethod(policy, ALL_METHODS);
    if (all.outcome === 'selected') d.serverRandom = String(!(all.method === 'NONE' && all.level === 'NONE'));
    if (Array.isArray(like.standardSecurity.handshakes)) {
      const salted = policy.standardSecurity.saltedMac === 'accepted' ? 'works' : 'fails';
      for (const m of ['40BIT', '56BIT', '128BIT'] as const) {
        const reached = Object.values(METHOD_QUESTIONS).some((bits) => {
          const s = selectEncryptionMethod(policy, bits);
          return s.outcome === 'selected' && s.method === m;
        });
        if (reached) d[`mac.${m}`] = `plain works, salted ${salted}`;
      }
    }
  }
  if (isRecord(like.tls) && (selects('SSL') || selects('HYBRID') || selects('HYBRID_EX'))) {
    const { minVersion, maxVersion } = policy.tls;
    const lo = minVersion ? TLS_VERSIONS.indexOf(minVersion) : -1;
    const hi = maxVersion ? TLS_VERSIONS.indexOf(maxVersion) : -1;
    const probed = isRecord(like.tls.versions) ? like.tls.versions : {};
    for (const v of PROBED_TLS) {
      if (!(v in probed)) continue;
      const i = TLS_VERSIONS.indexOf(v);
      d[`tls.${v}`] = lo >= 0 && i >= lo && i <= hi ? 'accepted' : 'refused';
    }
  }
  if (isRecord(like.credssp) && selects('HYBRID') && policy.nla.supported) {
    const c = policy.credssp;
    const versions = c?.versions.length ? c.versions : DEFAULT_CREDSSP_VERSIONS;
    const version = Math.max(...versions);
    d['credssp.version'] = String(version);
    d['credssp.nlaRequired'] = String(!selects('SSL') && !selects('RDP') && d.legacy !== 'accepted -');
    const check = like.credssp.legacyCheck === 'logon' ? 'logon' : 'challenge';
    // credssp-server.ts refuses a version below 5 only at its AUTHENTICATE (refuseLegacyClients)
    const refuses = check === 'logon' && Boolean(c?.checkNonce) && version >= 5;
    const logon = rec(like.credssp.credentials)?.accepted;
    // at the logon, credentials our acceptor does not take fail with version 2 as with 6
    if (check === 'challenge') d['credssp.acceptsLegacyVersions'] = 'true (challenge)';
    else if (typeof logon === 'boolean') d['credssp.acceptsLegacyVersions'] = `${logon && !refuses} (logon)`;
    d['credssp.restrictedAdmin'] = String(Boolean(c?.restrictedAdmin));
    d['credssp.ntlmVersion'] = c?.ntlmVersion ?? '10.0.17763';
    if (failureReplyOf(like)) d['credssp.failureReply'] = c?.failureReply ?? 'error-code';
  }
  if (isRecord(like.downgrade) && typeof like.downgrade.ok === 'boolean') d.downgrade = 'echoed';
  if (isRecord(like.serverCore)) d.serverCore = CORE_VERSION[policy.flavor];
  return d;
}

/**
 * Questions where two decision maps disagree (a key only one of them has counts: one side
 * answered, the other did not). The RDP_NEG_RSP flags of a protocol whose answer differs are
 * not counted again.
 */
export function compareDecisions(observed: Decisions, predicted: Decisions): PolicyDifference[] {
  const out: PolicyDifference[] = [];
  for (const k of new Set([...Object.keys(observed), ...Object.keys(predicted)])) {
    const of = k.startsWith('flags.') ? `protocol.${k.slice(6)}` : undefined;
    if (of && observed[of] !== predicted[of]) continue;
    const o = observed[k] ?? '(not observed)';
    const p = predicted[k] ?? '(not asked)';
    if (o !== p) out.push({ question: k, observed: o, predicted: p });
  }
  return out.sort((a, b) => a.question.localeCompare(b.question));
}

