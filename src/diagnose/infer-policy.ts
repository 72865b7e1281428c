import type { NtlmServerNames } from '../acceptor/from-server-policy.js';
import { ENCRYPTION_METHOD } from '../pdu/client-data.js';
import { NEG_RSP_FLAGS, PROTOCOL_NAMES, flagNames, type ProtocolName } from '../pdu/nego.js';
import { warning } from '../policy/errors.js';
import {
  ENCRYPTION_LEVEL_NAMES_ORDERED,
  sortTlsVersions,
  type CredsspPolicy,
  type EncryptionLevelName,
  type EncryptionMethodName,
  type ServerPolicy,
  type TlsVersion,
  type XrdpSettings,
} from '../policy/server-policy.js';
import { fromWindowsFlags } from '../policy/windows-settings.js';
import { XRDP_CRYPT_LEVELS, fromXrdpSettings } from '../policy/xrdp-ini.js';
import type { Posture } from '../probe/posture.js';

import {
  DEFAULT_CREDSSP_VERSIONS,
  PROBED_TLS,
  compareDecisions,
  failureReplyOf,
  isRecord,
  postureDecisions,
  predictDecisions,
  predictNegotiation,
  rec,
  str,
  type Decisions,
  type PolicyDifference,
} from './policy-decisions.js';

export { compareDecisions, postureDecisions, predictDecisions, type Decisions, type PolicyDifference } from './policy-decisions.js';

/**
 * `doctor`'s middle step: a ServerPolicy under which our acceptor answers every question the
 * probe asked as the real server did. Doctor then simulates the client against that policy.
 *
 * How: the probe's answers become "decisions" (postureDecisions: one string per question, e.g.
 * `protocol.SSL` = "ignored RDP"); a policy's answers to the same questions are predicted with the
 * very functions the acceptor runs (policy/negotiation.ts, policy/encryption-method.ts:
 * predictDecisions). Every setting of the flavors' negotiation knobs (Windows SecurityLayer,
 * UserAuthentication, HYBRID_EX, legacy refusal, certificate; xrdp security_layer, certificate)
 * is scored against the observed negotiation answers and the closest one wins; the rest
 * (encryption level and method rule, TLS versions, CredSSP, RDP_NEG_RSP flags) is read off the
 * posture directly. What stays different is returned, question by question, in `differences`:
 * those are the answers our acceptor cannot give under any policy (e.g. FreeRDP's RDP_NEG_RSP to
 * a request without RDP_NEG_REQ).
 */

/** What the probed server most likely is (its tell-tale answers), apart from the flavor that models it. */
export type ServerProduct = 'windows' | 'xrdp' | 'freerdp' | 'unknown';

export interface InferredPolicy {
  policy: ServerPolicy;
  /** every decision, as a sentence: what was observed and what was set from it */
  evidence: string[];
  /** what could not be observed (no credentials, no --handshake, a question without an answer) and was assumed */
  assumptions: string[];
  /** questions the inferred policy answers otherwise than the server did (nothing can express them) */
  differences: PolicyDifference[];
  product: ServerProduct;
  /** the names of the server's NTLM CHALLENGE, for serve's `credssp.ntlmNames` (they are not part of a ServerPolicy) */
  ntlmNames?: NtlmServerNames;
}

// ---------------------------------------------------------------------------------------------
// Negotiation knobs: every candidate scored against the observed X.224 answers

/** How much one wrong answer weighs when the negotiation knobs are chosen. */
const WEIGHTS: Record<string, number> = { legacy: 1, 'legacy.confirm': 0.5, preferred: 1, serverCore: 0.1 };
const weight = (k: string): number => (k.startsWith('protocol.') ? 1 : (WEIGHTS[k] ?? 0));

interface Candidate {
  flavor: ServerPolicy['flavor'];
  /** a small cost for knob values that are not the default, so an unobserved knob keeps its default */
  prior: number;
  windows?: { securityLayer: 0 | 1 | 2; userAuthentication: 0 | 1; hybridEx: boolean; legacyClientRefusal: 'drop' | 'neg-failure' };
  xrdp?: { securityLayer: XrdpSettings['securityLayer'] };
  certificateAvailable: boolean;
}

function candidates(product: ServerProduct): Candidate[] {
  const out: Candidate[] = [];
  const flavorCost = (f: ServerPolicy['flavor']): number => ((product === 'xrdp') === (f === 'xrdp') ? 0 : 0.05);
  for (const certificateAvailable of [true, false]) {
    const certCost = certificateAvailable ? 0 : 0.01;
    for (const securityLayer of [1, 2, 0] as const) {
      for (const userAuthentication of [1, 0] as const) {
        for (const hybridEx of [true, false]) {
          for (const legacyClientRefusal of ['drop', 'neg-failure'] as const) {
            const prior =
              flavorCost('windows') +
              certCost +
              (securityLayer === 1 ? 0 : 0.002) +
              (securityLayer === 0 ? userAuthentication * 0.003 : (1 - userAuthentication) * 0.001) +
              (hybridEx ? 0 : 0.001) +
              ((legacyClientRefusal === 'neg-failure') === (product === 'freerdp') ? 0 : 0.001);
            out.push({ flavor: 'windows', prior, windows: { securityLayer, userAuthentication, hybridEx, legacyClientRefusal }, certificateAvailable });
          }
        }
      }
    }
    for (const securityLayer of ['negotiate', 'rdp', 'tls'] as const) {
      out.push({ flavor: 'xrdp', prior: flavorCost('xrdp') + certCost + (securityLayer === 'negotiate' ? 0 : 0.002), xrdp: { securityLayer }, certificateAvailable });
    }
  }
  return out;
}

function candidatePolicy(c: Candidate): ServerPolicy {
  if (c.windows) {
    return fromWindowsFlags({ ...c.windows, minEncryptionLevel: 2, certificateAvailable: c.certificateAvailable });
  }
  return fromXrdpSettings({ security_layer: c.xrdp!.securityLayer }, { fileReadable: () => c.certificateAvailable });
}

function score(observed: Decisions, predicted: Decisions): number {
  let s = 0;
  for (const [k, v] of Object.entries(observed)) {
    const w = weight(k);
    if (w > 0 && predicted[k] !== undefined && predicted[k] !== v) s += w;
  }
  return s;
}

// ---------------------------------------------------------------------------------------------
// Tell-tales

function productOf(obs: Decisions, posture: Posture): { product: ServerProduct; tells: string[] } {
  const tells: Record<Exclude<ServerProduct, 'unknown'>, string[]> = { windows: [], xrdp: [], freerdp: [] };
  if (obs['protocol.RDSAAD'] === 'refused (disconnect)') tells.xrdp.push('a request with RDSAAD (0x10) was answered with a Disconnect Provider Ultimatum, as xrdp 0.9 answers requestedProtocols above 0xb');
  if (obs['protocol.SSL'] === 'ignored RDP') tells.xrdp.push('a TLS-only request got an RDP_NEG_RSP selecting RDP instead of an RDP_NEG_FAILURE (xrdp with security_layer=rdp)');
  if (obs.legacy === 'refused -' && obs['legacy.confirm'] === 'no-negotiation-data') tells.xrdp.push('a request without RDP_NEG_REQ got a bare Connection Confirm, then a disconnect (xrdp with security_layer=tls)');
  const ss = isRecord(posture.standardSecurity) ? posture.standardSecurity : undefined;
  if (ss && Array.isArray(ss.imposesMethods) && ss.imposesMethods.length) tells.xrdp.push(`it imposes ${ss.imposesMethods.join(', ')} on clients that did not offer it (xrdp's one method per crypt_level)`);
  if (Object.entries(obs).some(([k, v]) => k.startsWith('mac.') && v === 'plain works, salted fails')) tells.xrdp.push('RC4 PDUs with the salted MAC are dropped (xrdp 0.9.21.1-1+deb12u3)');
  const confirm = obs['legacy.confirm'];
  if (confirm === 'RDP_NEG_RSP' || confirm === 'RDP_NEG_FAILURE') tells.freerdp.push(`a request without RDP_NEG_REQ was answered with an ${confirm} (FreeRDP's nego_send_negotiation_response; MS-RDPBCGR 3.3.5.3.2 wants none)`);
  if (obs['protocol.RDP'] === 'accepted RDP' && obs['protocol.RDSTLS'] === 'refused SSL_NOT_ALLOWED_BY_SERVER') tells.freerdp.push('RDP is accepted but an RDSTLS-only request is refused with SSL_NOT_ALLOWED_BY_SERVER (FreeRDP: RDP only for requestedProtocols 0)');
  if (confirm === 'no-negotiation-data' && obs.legacy === 'accepted -' && obs.serverCore !== '0x00080004') tells.windows.push('a request without RDP_NEG_REQ got a Confirm without negotiation data and an RDP 10 server core');
  const ntlm = obs['credssp.ntlmVersion'];
  if (ntlm && ntlm !== '6.1.7601') tells.windows.push(`the NTLM CHALLENGE carries Windows version ${ntlm}`);
  if (obs.serverCore && obs.serverCore !== '0x00080004') tells.windows.push(`the server core announces RDP version ${obs.serverCore} (RDP 10)`);
  const ranked = (Object.entries(tells) as [Exclude<ServerProduct, 'unknown'>, string[]][]).sort((a, b) => b[1].length - a[1].length);
  const [best, second] = ranked;
  if (!best || best[1].length === 0 || best[1].length === second?.[1].length) {
    return { product: 'unknown', tells: ranked.flatMap(([p, t]) => t.map((s) => `${p}? ${s}`)) };
  }
  return { product: best[0], tells: best[1] };
}

// ---------------------------------------------------------------------------------------------
// Standard RDP Security

const METHOD_NAMES = new Set<string>(Object.keys(ENCRYPTION_METHOD));
const asLevel = (s: string | undefined): EncryptionLevelName | undefined => ENCRYPTION_LEVEL_NAMES_ORDERED.find((l) => l === s);
const asMethod = (s: string | undefined): EncryptionMethodName | undefined => (s && METHOD_NAMES.has(s) ? (s as EncryptionMethodName) : undefined);

type MethodRule = Pick<ServerPolicy['standardSecurity'], 'methodRule' | 'fixedMethod' | 'whenClientLacksMethod'>;

function methodKeys(d: Decisions): [string, string][] {
  return Object.entries(d).filter(([k]) => k.startsWith('method.'));
}

// ---------------------------------------------------------------------------------------------

const WINDOWS_LEVEL: Partial<Record<EncryptionLevelName, 1 | 2 | 3 | 4>> = { LOW: 1, CLIENT_COMPATIBLE: 2, HIGH: 3, FIPS: 4 };

/**
 * Build a ServerPolicy consistent with what the probe observed. Never throws: an empty, partial
 * or odd posture gives the flavor's defaults, each listed under `assumptions`.
 */
export function inferServerPolicy(input: Posture): InferredPolicy {
  const posture: Posture = isRecord(input) ? input : ({} as Posture);
  const evidence: string[] = [];
  const assumptions: string[] = [];
  const obs = postureDecisions(posture);
  const target = isRecord(posture) && isRecord(posture.target) ? `${String(posture.target.host)}:${String(posture.target.port)}` : 'the probed server';
  if (!isRecord(posture) || posture.reachable === false) assumptions.push(`${target} did not answer: every setting below is a default, not an observation`);

  // 1. what it is
  const { product, tells } = productOf(obs, posture);
  evidence.push(product === 'unknown' ? `product: no decisive tell-tale${tells.length ? ` (${tells.join('; ')})` : ''}` : `product: most likely ${product}: ${tells.join('; ')}`);

  // 2. the negotiation knobs: the candidate whose X.224 answers are closest to the observed ones
  let best: { c: Candidate; policy: ServerPolicy; cost: number } | undefined;
  for (const c of candidates(product)) {
    const policy = candidatePolicy(c);
    const cost = score(obs, predictNegotiation(policy)) + c.prior;
    if (!best || cost < best.cost) best = { c, policy, cost };
  }
  const chosen = best!.c;
  const answered = Object.keys(obs).filter((k) => weight(k) >= 0.5).length;
  if (answered === 0) assumptions.push('no negotiation question got an answer: the negotiation knobs are the defaults');
  evidence.push(`negotiation answers observed: ${PROTOCOL_NAMES.map((n) => `${n} -> ${obs[`protocol.${n}`] ?? 'no answer'}`).join(', ')}; legacy -> ${obs.legacy ?? 'no answer'} (${obs['legacy.confirm'] ?? '-'}); all protocols -> ${obs.preferred ?? 'no answer'}`);
  if (chosen.windows) {
    const w = chosen.windows;
    evidence.push(
      `flavor windows: SecurityLayer=${w.securityLayer}, UserAuthentication=${w.userAuthentication}, HYBRID_EX ${w.hybridEx ? 'known' : 'unknown'}, a legacy request refused by ${w.legacyClientRefusal === 'drop' ? 'closing' : 'an RDP_NEG_FAILURE'}${chosen.certificateAvailable ? '' : ', no certificate (SSL_CERT_NOT_ON_SERVER)'}: the Windows rules closest to the answers (${best!.cost < 0.5 ? 'all agree' : 'some cannot agree, see differences'})`,
    );
    if (w.securityLayer >= 1 && w.userAuthentication === 1) assumptions.push('SecurityLayer 1 and 2 answer alike when NLA is required; 1 (Negotiate, the default) is set');
    if (obs['protocol.HYBRID_EX'] === undefined) assumptions.push(`the HYBRID_EX question got no answer: HYBRID_EX ${w.hybridEx ? 'known' : 'unknown'} is assumed`);
    if (obs.legacy === undefined) assumptions.push(`the legacy request got no answer: legacyClientRefusal ${w.legacyClientRefusal} is assumed`);
  } else {
    evidence.push(
      `flavor xrdp: security_layer=${chosen.xrdp!.securityLayer}${chosen.certificateAvailable ? '' : ', certificate or key not readable'}: the xrdp 0.9 rules closest to the answers (${best!.cost < 0.5 ? 'all agree' : 'some cannot agree, see differences'})`,
    );
  }

  // 3. Standard RDP Security
  const ss = isRecord(posture.standardSecurity) ? posture.standardSecurity : undefined;
  let level: EncryptionLevelName | undefined = asLevel(str(ss?.encryptionLevel));
  const observedMethods = methodKeys(obs);
  const imposed = observedMethods.map(([, v]) => asMethod(/^accepted (.+)$/.exec(v)?.[1])).filter((m): m is EncryptionMethodName => m !== undefined);
  const fixedCandidate = imposed.length && imposed.every((m) => m === imposed[0]) ? imposed[0]! : asMethod(str(isRecord(ss?.allOffered) ? ss.allOffered.selected : undefined));
  if (ss && !level) assumptions.push(`the encryption level ${String(ss.encryptionLevel)} is not one of ${ENCRYPTION_LEVEL_NAMES_ORDERED.join(', ')}: the flavor's default is kept`);
  if (!ss) assumptions.push('Standard RDP Security was not reached: the encryption level and method rule are the flavor defaults (no client can get them from this server either)');

  // 4. TLS
  const tlsObserved = PROBED_TLS.filter((v) => obs[`tls.${v}`] === 'accepted');
  const tlsProbed = PROBED_TLS.filter((v) => obs[`tls.${v}`] !== undefined);
  let tlsVersions: TlsVersion[] | undefined;
  if (tlsObserved.length) {
    tlsVersions = sortTlsVersions(tlsObserved);
    evidence.push(`TLS versions accepted: ${tlsVersions.join(', ')} (refused: ${tlsProbed.filter((v) => !tlsObserved.includes(v)).join(', ') || 'none'})`);
    const untested = PROBED_TLS.filter((v) => !tlsProbed.includes(v));
    if (untested.length) assumptions.push(`TLS ${untested.join(', ')} not tested: assumed disabled`);
    const tls = rec(posture.tls);
    const versions = rec(tls?.versions) ?? {};
    const ciphers = Object.entries(versions).flatMap(([v, r]) => (rec(r)?.accepted === true && str(rec(r)?.cipher) ? [`${v} ${str(rec(r)?.cipher)}`] : []));
    assumptions.push(`the cipher list is left to the TLS library: the probe sees one suite per version (${ciphers.join(', ') || 'none'}), not the server's list`);
  } else if (tlsProbed.length) {
    assumptions.push('TLS was reached but no version completed a handshake: the flavor default versions are kept');
  } else {
    assumptions.push('TLS was not reached: the flavor default versions are kept');
  }

  // 5. CredSSP
  const cs = rec(posture.credssp);
  let credssp: CredsspPolicy | undefined;
  let ntlmNames: NtlmServerNames | undefined;
  if (cs) {
    const v = typeof cs.version === 'number' && cs.version >= 2 && cs.version <= 6 ? Math.trunc(cs.version) : 6;
    if (v !== cs.version) assumptions.push(`the server's TSRequest version ${String(cs.version)} is not 2..6: 6 is set`);
    credssp = { versions: DEFAULT_CREDSSP_VERSIONS.filter((x) => x <= v), checkNonce: false };
    evidence.push(`CredSSP: the server answers with TSRequest version ${v}; NLA ${cs.nlaRequired ? 'required' : 'offered, not required'}`);
    // a logon-level answer means something only when the same credentials worked with version 6
    const logonWorks = rec(cs.credentials)?.accepted === true;
    if (cs.acceptsLegacyVersions === false && cs.legacyCheck === 'logon' && logonWorks) {
      credssp.checkNonce = true;
      credssp.allowEncryptionOracle = 0;
      evidence.push('CredSSP: a version 2 logon was refused: checkNonce (AllowEncryptionOracle=0, Force Updated Clients)');
    } else if (cs.acceptsLegacyVersions === true && cs.legacyCheck === 'logon') {
      evidence.push('CredSSP: a version 2 logon was taken: no nonce check (AllowEncryptionOracle 1 or 2, which the wire cannot tell apart)');
    } else if (cs.legacyCheck === 'logon') {
      assumptions.push('CredSSP: the version 2 logon proves nothing, the credentials were not accepted with version 6 either: no nonce check assumed');
    } else {
      assumptions.push(`CredSSP: a version 2 client ${cs.acceptsLegacyVersions === false ? 'was refused at its NEGOTIATE (our acceptor refuses only at the logon)' : 'got a CHALLENGE'}; whether its logon would be refused needs --user: no nonce check assumed`);
    }
    const reply = failureReplyOf(posture);
    if (reply) {
      credssp.failureReply = reply;
      evidence.push(`CredSSP: a failed logon was answered ${reply === 'close' ? 'by closing TLS without a TSRequest errorCode' : 'with a TSRequest errorCode'}`);
    } else {
      credssp.failureReply = product === 'freerdp' ? 'close' : 'error-code';
      assumptions.push(`CredSSP: how a failed logon is answered needs --user with a failing logon: ${credssp.failureReply === 'close' ? 'closing without errorCode (FreeRDP 2.11, capture shadow-nla--xfreerdp-badpw)' : 'a TSRequest errorCode (Windows)'} assumed`);
    }
    const ra = rec(cs.restrictedAdmin) ?? {};
    credssp.restrictedAdmin = ra.advertised === true;
    evidence.push(`restricted admin: ${ra.advertised === true ? 'advertised' : 'not advertised'} in the RDP_NEG_RSP to HYBRID${ra.accepted === false && ra.advertised === true ? ', but the logon was refused (our acceptor takes it when it advertises it)' : ''}`);
    const hybridFlags: unknown = rec(rec(posture.protocols)?.HYBRID)?.flags;
    if (Array.isArray(hybridFlags) && hybridFlags.includes('REDIRECTED_AUTHENTICATION_MODE_SUPPORTED')) {
      credssp.redirectedAuthentication = true;
      evidence.push('Remote Credential Guard: REDIRECTED_AUTHENTICATION_MODE_SUPPORTED advertised');
    }
    const n = rec(cs.ntlm);
    const os = str(n?.osVersion);
    if (os && /^\d{1,3}\.\d{1,3}\.\d{1,5}$/.test(os)) {
      credssp.ntlmVersion = os;
      evidence.push(`NTLM: the CHALLENGE carries version ${os}`);
    } else {
      assumptions.push('NTLM: no version in the CHALLENGE: 10.0.17763 (our default) is announced');
    }
    if (n) {
      const name = (k: string): string | undefined => str(n[k]) ?? undefined;
      ntlmNames = {
        nbComputerName: name('netbiosComputer') ?? name('targetName') ?? 'RDPSEC',
        nbDomainName: name('netbiosDomain') ?? name('targetName') ?? 'RDPSEC',
        dnsComputerName: name('dnsComputer') ?? (name('netbiosComputer') ?? 'rdpsec').toLowerCase(),
        dnsDomainName: name('dnsDomain') ?? (name('netbiosDomain') ?? 'rdpsec').toLowerCase(),
        ...(name('dnsTree') ? { dnsTreeName: name('dnsTree')! } : {}),
      };
      evidence.push(`NTLM names: ${ntlmNames.nbDomainName}\\${ntlmNames.nbComputerName} (${ntlmNames.dnsComputerName}); not part of a ServerPolicy: pass them as serve's ntlmNames`);
    }
  } else if (obs['protocol.HYBRID'] === 'accepted HYBRID') {
    assumptions.push('HYBRID is selected but the CredSSP round trip gave nothing: the acceptor default CredSSP (versions 2..6, Mitigated) is assumed');
  }

  // 6. RDP_NEG_RSP flags: from a selection outside CredSSP if any (the acceptor adds the restricted admin and RCG bits itself)
  const flagsOf = (name: ProtocolName): number | undefined => {
    const f = obs[`flags.${name}`];
    if (f === undefined) return undefined;
    let bits = 0;
    for (const s of f.split('|')) {
      const known = (NEG_RSP_FLAGS as Record<string, number>)[s];
      if (known !== undefined) bits |= known;
      else if (/^0x[0-9a-f]+$/i.test(s)) bits |= parseInt(s, 16);
    }
    return (name === 'HYBRID' || name === 'HYBRID_EX') ? bits & ~(NEG_RSP_FLAGS.RESTRICTED_ADMIN_MODE_SUPPORTED | NEG_RSP_FLAGS.REDIRECTED_AUTHENTICATION_MODE_SUPPORTED) : bits;
  };
  const flagSource = (['RDP', 'SSL', 'RDSTLS', 'RDSAAD', 'HYBRID', 'HYBRID_EX'] as const).find((n) => flagsOf(n) !== undefined);
  const negRspFlags = flagSource ? flagsOf(flagSource)! : undefined;
  if (negRspFlags !== undefined) evidence.push(`RDP_NEG_RSP flags: ${flagNames(negRspFlags, NEG_RSP_FLAGS).join('|') || 'none'} (the answer to ${flagSource})`);
  else assumptions.push("no RDP_NEG_RSP was seen: the flavor's default flags are kept");

  // 7. the policy: the knobs through the flavor's own parser, then what the knobs cannot say
  let policy: ServerPolicy;
  if (chosen.windows) {
    const minEncryptionLevel = (level && WINDOWS_LEVEL[level]) ?? 2;
    policy = fromWindowsFlags(
      {
        ...chosen.windows,
        minEncryptionLevel,
        certificateAvailable: chosen.certificateAvailable,
        ...(tlsVersions ? { tlsVersions } : {}),
        ...(credssp ? { credssp } : {}),
        ...(negRspFlags !== undefined ? { negRspFlags } : {}),
      },
      { name: `inferred from ${target}` },
    );
    if (level) evidence.push(`encryption level ${level} observed${WINDOWS_LEVEL[level] ? `: MinEncryptionLevel=${minEncryptionLevel}` : ''}`);
    if (level === 'FIPS') assumptions.push('level FIPS: MinEncryptionLevel=4 is set; FipsAlgorithmPolicy=1 answers the same');
  } else {
    let cryptLevel: XrdpSettings['cryptLevel'] = 'high';
    const table = Object.entries(XRDP_CRYPT_LEVELS) as [XrdpSettings['cryptLevel'], { level: EncryptionLevelName; method: EncryptionMethodName }][];
    const exact = table.find(([, t]) => t.level === level && t.method === fixedCandidate);
    const byMethod = table.find(([, t]) => t.method === fixedCandidate);
    const byLevel = table.find(([, t]) => t.level === level);
    cryptLevel = (exact ?? byMethod ?? byLevel)?.[0] ?? 'high';
    if (ss) evidence.push(`encryption level ${level ?? '?'} with method ${fixedCandidate ?? '?'}: crypt_level=${cryptLevel}`);
    else assumptions.push('crypt_level=high (xrdp\'s default) assumed');
    policy = fromXrdpSettings(
      { security_layer: chosen.xrdp!.securityLayer, crypt_level: cryptLevel, ...(tlsVersions ? { ssl_protocols: tlsVersions.join(', ') } : {}) },
      { name: `inferred from ${target}`, fileReadable: () => chosen.certificateAvailable },
    );
    if (negRspFlags !== undefined && negRspFlags !== policy.negRspFlags) {
      policy.warnings.push(warning('inferred-neg-rsp-flags', `RDP_NEG_RSP flags ${negRspFlags} observed; xrdp 0.9 sends 1`));
      policy.negRspFlags = negRspFlags;
    }
    if (credssp) policy.credssp = credssp; // unused: xrdp has no CredSSP
  }
  if (level && level !== policy.standardSecurity.encryptionLevel) {
    policy.warnings.push(warning('inferred-level', `encryption level ${level} observed; the knobs cannot say it (${policy.flavor === 'windows' ? 'MinEncryptionLevel has no NONE' : 'no crypt_level gives it with this method'})`));
    evidence.push(`encryption level ${level} set directly: ${policy.flavor === 'windows' ? 'no MinEncryptionLevel value gives NONE (FreeRDP\'s server default; MinEncryptionLevel=2 is kept)' : 'no crypt_level gives it with this method'}`);
    policy.standardSecurity.encryptionLevel = level;
  }

  // the method rule: the flavor's own unless another one explains the observed answers better
  if (ss && observedMethods.length) {
    const rules: MethodRule[] = [
      { methodRule: policy.standardSecurity.methodRule, ...(policy.standardSecurity.fixedMethod ? { fixedMethod: policy.standardSecurity.fixedMethod } : {}), whenClientLacksMethod: policy.standardSecurity.whenClientLacksMethod },
      ...(fixedCandidate ? [{ methodRule: 'fixed' as const, fixedMethod: fixedCandidate, whenClientLacksMethod: 'impose' as const }] : []),
      { methodRule: 'by-level', whenClientLacksMethod: 'impose' },
      { methodRule: 'by-level', whenClientLacksMethod: 'refuse' },
    ];
    const wrong = (r: MethodRule): number => {
      const trial = { ...policy, standardSecurity: { ...policy.standardSecurity, ...r } } as ServerPolicy;
      const pred = predictDecisions(trial, posture);
      return observedMethods.filter(([k, v]) => pred[k] !== undefined && pred[k] !== v).length;
    };
    let rule = rules[0]!;
    let fewest = wrong(rule);
    for (const r of rules.slice(1)) {
      const n = wrong(r);
      if (n < fewest) [rule, fewest] = [r, n];
    }
    const ruleText = (r: MethodRule): string => (r.methodRule === 'fixed' ? `one method (${r.fixedMethod}) whatever the client offers` : `by level, ${r.whenClientLacksMethod === 'impose' ? 'imposing' : 'refusing'} when the client lacks the method`);
    if (rule !== rules[0]) {
      delete policy.standardSecurity.fixedMethod;
      Object.assign(policy.standardSecurity, rule);
      policy.warnings.push(warning('inferred-method-rule', `method rule ${ruleText(rule)} observed; not the flavor's own`));
    }
    evidence.push(`methods: ${observedMethods.map(([k, v]) => `${k.slice(7)} -> ${v}`).join(', ')}: ${ruleText(rule)}`);
  }

  // salted MAC: seen with --handshake, else the flavor's (xrdp 0.9.21.1-1+deb12u3 drops it)
  const macs = Object.entries(obs).filter(([k]) => k.startsWith('mac.'));
  if (macs.some(([, v]) => v === 'plain works, salted fails')) {
    policy.standardSecurity.saltedMac = 'rejected';
    evidence.push(`salted MAC rejected: ${macs.map(([k, v]) => `${k.slice(4)} ${v}`).join('; ')}`);
  } else if (macs.some(([, v]) => v.endsWith('salted works'))) {
    policy.standardSecurity.saltedMac = 'accepted';
    evidence.push(`salted MAC accepted: ${macs.map(([k, v]) => `${k.slice(4)} ${v}`).join('; ')}`);
  } else if (ss) {
    assumptions.push(
      policy.standardSecurity.saltedMac === 'rejected'
        ? 'salted MAC (SEC_SECURE_CHECKSUM) assumed rejected, as xrdp 0.9.21.1-1+deb12u3 does: only a whole RC4 connection shows it (probe --handshake)'
        : 'salted MAC (SEC_SECURE_CHECKSUM) assumed accepted (Windows, FreeRDP): only a whole RC4 connection shows it (probe --handshake)',
    );
  }
  if (ss) assumptions.push(`TS_UD_CS_SEC.extEncryptionMethods ${policy.standardSecurity.honoursExtEncryptionMethods ? 'read' : 'ignored'} when encryptionMethods is 0, as ${policy.flavor} does: the probe does not ask`);

  // 8. what stays different
  const differences = compareDecisions(obs, predictDecisions(policy, posture)).filter((d) => d.observed !== '(not observed)');
  for (const d of differences) evidence.push(`cannot agree on ${d.question}: the server answered "${d.observed}", our acceptor under this policy "${d.predicted}"`);

  return { policy, evidence, assumptions, differences, product, ...(ntlmNames ? { ntlmNames } : {}) };
}
