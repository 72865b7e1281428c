import { clientProfile, type ClientProfile, type ClientTlsVersion } from '../connector/client-profiles.js';
import { DataError, loadData } from '../data/load.js';
import { fromWindowsFlags } from '../policy/windows-settings.js';
import { fromXrdpSettings, type XrdpIniValues } from '../policy/xrdp-ini.js';
import { sortTlsVersions, tlsRange, type ServerPolicy, type TlsVersion } from '../policy/server-policy.js';
import { risksOf, simulate, type Logon, type Negotiated, type Risk, type SimulationResult } from '../simulate/simulate.js';
import type { FixSafety } from './explain-catalogue.js';

/**
 * Fixes that are checked, not recited: each candidate of data/fixes.yaml is a lever on the
 * server policy or the client profile; it is offered only when the simulation, run again with
 * the lever pulled, connects (or, for a client that connects already, still connects over a
 * stronger layer). The same connector and acceptor decide as everywhere else.
 */
export type Lever =
  | { kind: 'windows-settings'; SecurityLayer?: 0 | 1 | 2; UserAuthentication?: 0 | 1; MinEncryptionLevel?: 1 | 2 | 3 | 4 }
  | { kind: 'xrdp-settings'; security_layer?: 'rdp' | 'tls' | 'negotiate'; crypt_level?: 'none' | 'low' | 'medium' | 'high' | 'fips'; ssl_protocols?: string }
  | { kind: 'server-tls-versions'; versions: TlsVersion[] }
  | { kind: 'server-credssp'; patched?: boolean; allowEncryptionOracle?: 0 | 1 | 2 }
  | { kind: 'client-profile'; profile: string }
  | { kind: 'client-credssp'; allowEncryptionOracle: 0 | 1 | 2 }
  | { kind: 'client-tls'; minVersion?: ClientTlsVersion; maxVersion?: ClientTlsVersion; securityLevel?: number };

export interface FixCandidate {
  id: string;
  summary: string;
  where: 'server' | 'client';
  safety: FixSafety;
  hardens?: boolean;
  weakens?: string;
  /** the candidate(s) to prefer, most general last */
  saferAlternative?: string | string[];
  flavor?: 'windows' | 'xrdp';
  families?: string[];
  clients?: string[];
  clientWithoutCredssp?: true;
  notClients?: string[];
  lever: Lever;
  steps: string[];
  undo: string;
  source: string;
}

/** A fix as `simulate --json` and `doctor --json` give it: explain's shape plus what the simulation saw. */
export interface CheckedFix {
  id: string;
  summary: string;
  where: 'server' | 'client';
  safety: FixSafety;
  weakens?: string;
  /** the safer candidate's summary (and id), to prefer */
  saferAlternative?: { id: string; summary: string; works: boolean };
  steps: string[];
  undo: string;
  /** what the simulated connection negotiates with this change */
  result: Negotiated;
  /** what is still weak about that connection */
  risks: Risk[];
  source: string;
}

let cache: FixCandidate[] | undefined;

/** data/fixes.yaml, checked against its schema and for dangling `saferAlternative` ids. */
export function fixCandidates(): FixCandidate[] {
  if (cache) return cache;
  const doc = loadData<{ fixes: FixCandidate[] }>('fixes');
  const ids = new Set<string>();
  for (const f of doc.fixes) {
    if (ids.has(f.id)) throw new DataError(`data/fixes.yaml: duplicate id ${f.id}`);
    ids.add(f.id);
  }
  for (const f of doc.fixes) {
    for (const alt of alternatives(f)) if (!ids.has(alt)) throw new DataError(`data/fixes.yaml: ${f.id}: saferAlternative ${alt} is not a fix id`);
    if (f.where === 'server' && f.families) throw new DataError(`data/fixes.yaml: ${f.id}: a server fix names no client families`);
    if (f.where === 'client' && f.flavor) throw new DataError(`data/fixes.yaml: ${f.id}: a client fix names no server flavor`);
  }
  cache = doc.fixes;
  return cache;
}

function alternatives(f: FixCandidate): string[] {
  return f.saferAlternative === undefined ? [] : typeof f.saferAlternative === 'string' ? [f.saferAlternative] : f.saferAlternative;
}

/** The policy with the lever pulled, or undefined when the lever does not fit this server. */
export function applyServerLever(p: ServerPolicy, lever: Lever, label: string): ServerPolicy | undefined {
  const name = `${p.name} + ${label}`;
  switch (lever.kind) {
    case 'windows-settings': {
      if (p.flavor !== 'windows') return undefined;
      const w = p.windows;
      const next = fromWindowsFlags(
        {
          securityLayer: lever.SecurityLayer ?? w.securityLayer,
          userAuthentication: lever.UserAuthentication ?? w.userAuthentication,
          minEncryptionLevel: lever.MinEncryptionLevel ?? w.minEncryptionLevel,
          allowSecProtocolNegotiation: w.allowSecProtocolNegotiation,
          fipsAlgorithmPolicy: w.fipsAlgorithmPolicy,
          hybridEx: w.hybridEx,
          legacyClientRefusal: w.legacyClientRefusal,
          tlsVersions: p.tls.versions,
          certificate: p.tls.certificate,
          certificateAvailable: p.tls.certificateAvailable,
          negRspFlags: p.negRspFlags,
          ...(p.credssp ? { credssp: p.credssp } : {}),
        },
        { name, source: p.source },
      );
      // What no knob says stays as observed or configured (an inferred FreeRDP server's level NONE)
      if (lever.MinEncryptionLevel === undefined) next.standardSecurity = p.standardSecurity;
      next.tls = { ...next.tls, ciphers: p.tls.ciphers };
      return next;
    }
    case 'xrdp-settings': {
      if (p.flavor !== 'xrdp') return undefined;
      const x = p.xrdp;
      const values: XrdpIniValues = {
        security_layer: lever.security_layer ?? x.securityLayer,
        crypt_level: lever.crypt_level ?? x.cryptLevel,
        ssl_protocols: lever.ssl_protocols ?? x.sslProtocols.join(', '),
        ...(x.tlsCiphers !== null ? { tls_ciphers: x.tlsCiphers } : {}),
        certificate: x.certificate,
        key_file: x.keyFile,
      };
      const available = p.tls.certificateAvailable;
      const next = fromXrdpSettings(values, { name, source: p.source, fileReadable: () => available });
      next.standardSecurity = { ...next.standardSecurity, saltedMac: p.standardSecurity.saltedMac };
      return next;
    }
    case 'server-tls-versions': {
      const versions = sortTlsVersions([...p.tls.versions.filter((v) => v !== 'SSLv3'), ...lever.versions]);
      if (versions.length === p.tls.versions.length) return undefined; // nothing new
      const range = tlsRange(versions);
      return { ...p, name, tls: { ...p.tls, versions, minVersion: range.minVersion, maxVersion: range.maxVersion } };
    }
    case 'server-credssp': {
      if (!p.nla.supported) return undefined;
      const c = p.credssp ?? { versions: [2, 3, 4, 5, 6], checkNonce: false, allowEncryptionOracle: 1 as const };
      const patched = Math.max(...c.versions) >= 5;
      let versions = c.versions;
      let aeo = c.allowEncryptionOracle;
      if (lever.patched) {
        if (patched) return undefined;
        // the update brings versions 5 and 6 and the Mitigated default (KB4295591)
        versions = [2, 3, 4, 5, 6];
        aeo = lever.allowEncryptionOracle ?? 1;
      } else {
        // AllowEncryptionOracle exists only on an updated server
        if (!patched || lever.allowEncryptionOracle === undefined || lever.allowEncryptionOracle === (aeo ?? 1)) return undefined;
        aeo = lever.allowEncryptionOracle;
      }
      return { ...p, name, credssp: { ...c, versions, checkNonce: aeo === 0, ...(aeo !== undefined ? { allowEncryptionOracle: aeo } : {}) } };
    }
    default:
      return undefined;
  }
}

/** The profile with the lever pulled, or undefined when the lever does not fit this client. */
export function applyClientLever(c: ClientProfile, lever: Lever, label: string): ClientProfile | undefined {
  switch (lever.kind) {
    case 'client-profile': {
      const other = knownProfile(lever.profile);
      if (!other || other.name === c.name) return undefined;
      return other;
    }
    case 'client-credssp': {
      if (!c.credssp?.patched || c.credssp.allowEncryptionOracle === lever.allowEncryptionOracle) return undefined;
      return { ...c, name: `${c.name} + ${label}`, credssp: { ...c.credssp, allowEncryptionOracle: lever.allowEncryptionOracle } };
    }
    case 'client-tls': {
      return { ...c, name: `${c.name} + ${label}`, tls: { ...c.tls, ...stripKind(lever) } };
    }
    default:
      return undefined;
  }
}

/** The named profile (aliases included), or undefined when the catalogue has none by that name. */
function knownProfile(name: string): ClientProfile | undefined {
  try {
    return clientProfile(name);
  } catch (err) {
    if (err instanceof DataError) return undefined;
    throw err;
  }
}

function stripKind<T extends { kind: string }>(l: T): Omit<T, 'kind'> {
  const { kind: _k, ...rest } = l;
  return rest;
}

/** Strength of what was negotiated, compared field by field in this order. */
const PROTOCOL_RANK: Record<string, number> = { RDP: 0, SSL: 1, HYBRID: 2, HYBRID_EX: 3 };
const LEVEL_RANK: Record<string, number> = { NONE: 0, LOW: 1, CLIENT_COMPATIBLE: 2, HIGH: 3, FIPS: 4 };
const TLS_RANK: Record<string, number> = { TLSv1: 1, 'TLSv1.1': 2, 'TLSv1.2': 3, 'TLSv1.3': 4 };

function strength(n: Negotiated): number[] {
  return [
    PROTOCOL_RANK[n.protocol] ?? 0,
    // the CVE-2018-0886 fix: versions 5 and up bind with the hash
    n.credsspVersion !== undefined && n.credsspVersion >= 5 ? 1 : 0,
    TLS_RANK[n.tlsVersion ?? ''] ?? 0,
    n.protocol === 'RDP' ? (LEVEL_RANK[n.encryptionLevel ?? ''] ?? 0) : 0,
  ];
}

/** a is stronger than b: the first field that differs is higher */
function stronger(a: Negotiated, b: Negotiated): boolean {
  const x = strength(a);
  const y = strength(b);
  for (let i = 0; i < x.length; i++) if (x[i] !== y[i]) return x[i]! > y[i]!;
  return false;
}

export interface FixSearch {
  client: ClientProfile;
  server: ServerPolicy;
  logon?: Logon;
  baseline: SimulationResult;
  timeoutMs?: number;
  /**
   * What the server really is, when a probe says (infer-policy.ts): a FreeRDP server modelled
   * with the xrdp flavor gets no xrdp.ini steps, only the fixes that name no server product
   */
  product?: 'windows' | 'xrdp' | 'freerdp' | 'unknown';
}

/**
 * The candidates that work here, safe ones first. For a failing baseline: those that make the
 * client connect. For a connecting one: the `hardens` candidates after which it still connects,
 * over a stronger layer.
 */
export async function checkedFixes(s: FixSearch): Promise<CheckedFix[]> {
  const family = s.client.family;
  const works = new Map<string, Negotiated>();
  const product = s.product ?? 'unknown';
  const serverFits = (f: FixCandidate): boolean => !f.flavor || (f.flavor === s.server.flavor && (product === 'unknown' || product === f.flavor));
  const clientFits = (f: FixCandidate): boolean =>
    (!f.families || f.families.includes(family)) &&
    (!f.clients || f.clients.some((n) => n === s.client.name || knownProfile(n)?.name === s.client.name)) &&
    (!f.clientWithoutCredssp || s.client.credssp === undefined) &&
    !f.notClients?.some((n) => n === s.client.name || knownProfile(n)?.name === s.client.name);
  const candidates = fixCandidates().filter((f) => (f.where === 'server' ? serverFits(f) : clientFits(f)));
  for (const f of candidates) {
    if (s.baseline.connects && !f.hardens) continue;
    const server = f.where === 'server' ? applyServerLever(s.server, f.lever, f.id) : s.server;
    const client = f.where === 'client' ? applyClientLever(s.client, f.lever, f.id) : s.client;
    if (!server || !client || (server === s.server && client === s.client)) continue;
    const r = await simulate({ client, server, ...(s.logon ? { logon: s.logon } : {}), ...(s.timeoutMs ? { timeoutMs: s.timeoutMs } : {}) });
    if (!r.connects || !r.negotiated) continue;
    if (s.baseline.connects && s.baseline.negotiated && !stronger(r.negotiated, s.baseline.negotiated)) continue;
    works.set(f.id, r.negotiated);
  }
  const byId = new Map(fixCandidates().map((f) => [f.id, f]));
  const out: CheckedFix[] = [];
  // safe fixes first, in the catalogue's order; then the weakening ones, those that weaken one
  // client's connections before those that weaken the server for every client
  const classes: [FixSafety, ('client' | 'server')[]][] = [
    ['safe', ['server', 'client']],
    ['weakens-security', ['client']],
    ['weakens-security', ['server']],
  ];
  for (const [safety, wheres] of classes) {
    for (const f of candidates) {
      const result = works.get(f.id);
      if (!result || f.safety !== safety || !wheres.includes(f.where)) continue;
      // the safer fix to name: the first that works here, else the first that applies to this client
      const alts = alternatives(f);
      const altId = alts.find((id) => works.has(id)) ?? alts.find((id) => candidates.some((c) => c.id === id)) ?? alts[0];
      const alt = altId ? byId.get(altId) : undefined;
      out.push({
        id: f.id,
        summary: f.summary,
        where: f.where,
        safety: f.safety,
        ...(f.weakens ? { weakens: f.weakens } : {}),
        ...(alt ? { saferAlternative: { id: alt.id, summary: alt.summary, works: works.has(alt.id) } } : {}),
        steps: f.steps,
        undo: f.undo,
        result,
        risks: risksOf(result),
        source: f.source,
      });
    }
  }
  return out;
}
