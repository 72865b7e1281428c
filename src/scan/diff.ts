/**
 * What changed between two scans (`rdpsec diff`), endpoint by endpoint.
 *
 * Each record is reduced to its facts: a flat map from a field name ("tls.TLSv1", "nla",
 * "finding.rc4-40bit-accepted", "client.mstsc-win10") to a short value ("accepted", "required",
 * "high", ...). Two records differ where their facts differ. Whether a change is better or worse
 * comes from a rank per field (higher is safer), so diff(a, b) is always the mirror of diff(b, a).
 *
 * Memory: the older scan is streamed into a Map of those facts (a few dozen short strings per
 * endpoint, values shared), never whole postures; the newer scan is streamed against it.
 */
import type { Posture } from '../probe/posture.js';
import { PROTOCOL_NAMES, type ProtocolName } from '../pdu/nego.js';
import type { HostScanRecord, PostureChange, ScanDiff, ScanMeta, ScanTarget } from './record.js';
import { SEVERITIES, summarizePosture } from './summary.js';

export interface ScanSide {
  meta: Pick<ScanMeta, 'id' | 'startedAt'>;
  records: Iterable<HostScanRecord>;
}

/** One endpoint as the comparison needs it. */
interface Facts {
  target: ScanTarget;
  values: Map<string, string>;
  /** words for sentences (a finding's title, why a client fails), only where there are some */
  notes?: Map<string, string>;
}

const TLS_VERSIONS = ['TLSv1', 'TLSv1.1', 'TLSv1.2', 'TLSv1.3'] as const;
const TLS_LABEL: Record<string, string> = { TLSv1: 'TLS 1.0', 'TLSv1.1': 'TLS 1.1', 'TLSv1.2': 'TLS 1.2', 'TLSv1.3': 'TLS 1.3' };
const METHODS = ['40BIT', '56BIT', '128BIT', 'FIPS'] as const;
const METHOD_LABEL: Record<string, string> = { '40BIT': '40-bit RC4', '56BIT': '56-bit RC4', '128BIT': '128-bit RC4', FIPS: 'FIPS (3DES)' };
/** Standard RDP Security methods, weakest first (summary.ts); null (none accepted) ranks above all. */
const METHOD_ORDER = ['NONE', '40BIT', '56BIT', '128BIT', 'FIPS'];
/** MS-RDPBCGR 2.2.1.4.3 encryptionLevel, least protection first. */
const LEVEL_ORDER = ['NONE', 'LOW', 'CLIENT_COMPATIBLE', 'HIGH', 'FIPS'];
const PROTOCOL_LABEL: Record<ProtocolName, string> = {
  RDP: 'Standard RDP Security (PROTOCOL_RDP)',
  SSL: 'TLS without NLA (PROTOCOL_SSL)',
  HYBRID: 'CredSSP/NLA (PROTOCOL_HYBRID)',
  RDSTLS: 'RDSTLS (PROTOCOL_RDSTLS)',
  HYBRID_EX: 'CredSSP with Early User Authorization (PROTOCOL_HYBRID_EX)',
  RDSAAD: 'Azure AD authentication (PROTOCOL_RDSAAD)',
};

/** Shared key strings, so 5,000 endpoints hold one copy of each field name. */
const PROTOCOL_KEY = Object.fromEntries(PROTOCOL_NAMES.map((n) => [n, `protocol.${n}`])) as Record<ProtocolName, string>;
const TLS_KEY = Object.fromEntries(TLS_VERSIONS.map((v) => [v, `tls.${v}`])) as Record<string, string>;
const METHOD_KEY = Object.fromEntries(METHODS.map((m) => [m, `method.${m}`])) as Record<string, string>;

/**
 * A field's safety rank of a value: higher is safer; null when the field says nothing about
 * security (a certificate's fingerprint, a client's verdict). Ranks make direction antisymmetric.
 */
type Rank = (value: string | null) => number | null;

interface FieldSpec {
  /** the field, or its prefix ending in "." */
  field: string;
  rank: Rank;
  text: (c: { name: string; before: string | null; after: string | null; noteBefore?: string; noteAfter?: string }) => string;
}

const neutral: Rank = () => null;
const acceptedIs =
  (r: number): Rank =>
  (v) =>
    v === 'accepted' ? r : 0;
const show = (v: string | null): string => v ?? 'not seen';
const startedStopped = (label: string, before: string | null, after: string | null, on = 'accepted', verb = 'accepting'): string =>
  after === on ? `started ${verb} ${label}` : before === on ? `stopped ${verb} ${label}${after && after !== 'refused' ? ` (${after})` : ''}` : `${label}: ${show(before)} -> ${show(after)}`;
const shortHash = (v: string | null): string => (v ? `${v.slice(0, 16)}...` : 'none');
const patched = (v: string | null): boolean | null => (v === null ? null : Number(v) >= 5);

/** In the order changes are listed. */
const FIELDS: readonly FieldSpec[] = [
  {
    field: 'reachable',
    rank: neutral,
    text: ({ after, before, noteAfter }) =>
      after === 'reachable' ? `answers again (was ${before})` : `${after === 'error' ? 'the probe failed' : 'became unreachable'}${noteAfter ? `: ${noteAfter}` : ''}`,
  },
  { field: 'nla', rank: (v) => (v === 'required' ? 1 : 0), text: ({ before, after }) => startedStopped('NLA', before, after, 'required', 'requiring') },
  {
    field: 'protocol.',
    rank: neutral, // per protocol: PROTOCOL_RANK
    text: ({ name, before, after }) => startedStopped(PROTOCOL_LABEL[name as ProtocolName] ?? name, before, after),
  },
  {
    field: 'legacy',
    rank: acceptedIs(-1),
    text: ({ before, after }) => startedStopped('legacy clients (a Connection Request without RDP_NEG_REQ)', before, after),
  },
  { field: 'preferred', rank: neutral, text: ({ before, after }) => `selects ${show(after)} when offered every protocol (was ${show(before)})` },
  // tls. and method.: ranked per version and per method (TLS_RANK, METHOD_RANK)
  { field: 'tls.', rank: neutral, text: ({ name, before, after }) => startedStopped(TLS_LABEL[name] ?? name, before, after) },
  { field: 'method.', rank: neutral, text: ({ name, before, after }) => startedStopped(`${METHOD_LABEL[name] ?? name} (Standard RDP Security)`, before, after) },
  {
    field: 'encryption.weakest',
    rank: (v) => (v === null ? METHOD_ORDER.length : Math.max(0, METHOD_ORDER.indexOf(v))),
    text: ({ before, after }) =>
      after === null ? `no longer lets a client have Standard RDP Security encryption (weakest was ${before})` : `the weakest encryption a client can get: ${before ?? 'none'} -> ${after}`,
  },
  {
    field: 'encryption.level',
    rank: (v) => (v === null ? LEVEL_ORDER.length : Math.max(0, LEVEL_ORDER.indexOf(v))),
    text: ({ before, after }) => `encryption level ${before ?? 'none (no Standard RDP Security)'} -> ${after ?? 'none (no Standard RDP Security)'}`,
  },
  {
    field: 'certificate',
    rank: neutral,
    text: ({ before, after }) =>
      before === null ? `started presenting a TLS certificate (SHA-256 ${shortHash(after)})` : after === null ? 'no TLS certificate seen any more' : `TLS certificate replaced (SHA-256 ${shortHash(before)} -> ${shortHash(after)})`,
  },
  {
    field: 'certificate.expires',
    rank: (v) => (v === null || Number.isNaN(Date.parse(v)) ? null : Date.parse(v)),
    text: ({ before, after }) => (after === null ? `no certificate expiry any more (was ${before})` : `TLS certificate now expires ${after} (was ${before ?? 'none'})`),
  },
  {
    field: 'credssp.version',
    rank: (v) => (patched(v) === null ? null : patched(v) ? 1 : 0),
    text: ({ before, after }) => {
      const fix = patched(before) !== patched(after) && patched(after) !== null ? (patched(after) ? ' (now with the CVE-2018-0886 fix)' : ' (without the CVE-2018-0886 fix)') : '';
      return `CredSSP version ${show(before)} -> ${show(after)}${fix}`;
    },
  },
  {
    field: 'credssp.legacyClients',
    rank: acceptedIs(-1),
    text: ({ before, after }) => startedStopped('CredSSP clients without the CVE-2018-0886 fix (version 2)', before, after),
  },
  {
    field: 'downgrade',
    rank: (v) => (v === 'mismatch' ? -1 : 0),
    text: ({ after }) =>
      after === 'mismatch' ? 'the downgrade check fails now: clientRequestedProtocols is not echoed as sent' : after === 'ok' ? 'the downgrade check passes now' : 'the downgrade check could not be made',
  },
  {
    field: 'finding.',
    // info and absent rank alike: an info finding coming or going is neutral
    rank: (v) => (v === null ? 0 : -Math.max(0, SEVERITIES.indexOf(v as (typeof SEVERITIES)[number]))),
    text: ({ name, before, after, noteBefore, noteAfter }) =>
      before === null ? `new finding ${name} (${after}): ${noteAfter ?? ''}`.replace(/: $/, '') : after === null ? `finding ${name} gone (was ${before})${noteBefore ? `: ${noteBefore}` : ''}` : `finding ${name}: ${before} -> ${after}`,
  },
  {
    field: 'client.',
    rank: neutral,
    text: ({ name, before, after, noteBefore, noteAfter }) =>
      after === 'connects'
        ? `${name} connects now${before && before !== 'connects' ? ` (was: ${noteBefore ?? before})` : ''}`
        : before === 'connects'
          ? `${name} no longer connects${after ? `: ${noteAfter ?? after}` : ' (not simulated)'}`
          : `${name}: ${noteBefore ?? show(before)} -> ${noteAfter ?? show(after)}`,
  },
];

/** Per protocol: accepting Standard RDP Security or TLS without NLA is weak; accepting CredSSP is strong. */
const PROTOCOL_RANK: Record<ProtocolName, Rank> = {
  RDP: acceptedIs(-1),
  SSL: acceptedIs(-1),
  HYBRID: acceptedIs(1),
  HYBRID_EX: acceptedIs(1),
  RDSTLS: neutral,
  RDSAAD: neutral,
};
const TLS_RANK: Record<string, Rank> = { TLSv1: acceptedIs(-1), 'TLSv1.1': acceptedIs(-1), 'TLSv1.2': neutral, 'TLSv1.3': neutral };
const METHOD_RANK: Record<string, Rank> = { '40BIT': acceptedIs(-1), '56BIT': acceptedIs(-1), '128BIT': neutral, FIPS: neutral };

function spec(field: string): { spec: FieldSpec; name: string; rank: Rank; order: number } {
  for (let i = 0; i < FIELDS.length; i++) {
    const s = FIELDS[i]!;
    if (s.field === field || (s.field.endsWith('.') && field.startsWith(s.field))) {
      const name = s.field.endsWith('.') ? field.slice(s.field.length) : field;
      const rank =
        s.field === 'protocol.' ? (PROTOCOL_RANK[name as ProtocolName] ?? neutral) : s.field === 'tls.' ? (TLS_RANK[name] ?? neutral) : s.field === 'method.' ? (METHOD_RANK[name] ?? neutral) : s.rank;
      return { spec: s, name, rank, order: i };
    }
  }
  // a field this version does not know (a fact from a newer rdpsec): neutral, listed last
  return { spec: { field, rank: neutral, text: ({ before, after }) => `${field}: ${show(before)} -> ${show(after)}` }, name: field, rank: neutral, order: FIELDS.length };
}

/** The key of an endpoint: host names compare case-insensitively. */
export function endpointKey(t: Pick<ScanTarget, 'host' | 'port'>): string {
  return `${t.host.toLowerCase()}\u0000${t.port}`;
}

/** The facts of one record: only what the comparison needs, with shared strings. */
export function recordFacts(r: HostScanRecord, intern: (s: string) => string = (s) => s): Facts {
  const values = new Map<string, string>();
  let notes: Map<string, string> | undefined;
  const note = (k: string, v: string | undefined): void => {
    if (v) (notes ??= new Map()).set(k, v);
  };
  const target: ScanTarget = { host: r.target.host, port: r.target.port, input: r.target.input };
  const p: Posture | null = r.posture;
  const reachable = r.status === 'ok' && p?.reachable !== false && p !== null ? 'reachable' : r.status === 'error' ? 'error' : 'unreachable';
  values.set('reachable', reachable);
  if (r.error) note('reachable', `${r.error.kind} at ${r.error.phase}: ${r.error.message}`);
  if (reachable !== 'reachable' || !p) return { target, values, ...(notes ? { notes } : {}) };

  const put = (k: string, v: string | null | undefined): void => {
    if (v !== null && v !== undefined) values.set(k, intern(v));
  };
  const summary = r.summary ?? summarizePosture(p);
  for (const n of PROTOCOL_NAMES) put(PROTOCOL_KEY[n], p.protocols?.[n]?.status);
  put('legacy', p.legacy?.status);
  put('preferred', p.preferred);
  put('nla', summary.nlaRequired === null ? null : summary.nlaRequired ? 'required' : 'not required');
  for (const v of TLS_VERSIONS) {
    const t = p.tls?.versions?.[v];
    if (t) put(TLS_KEY[v]!, t.accepted ? 'accepted' : 'refused');
  }
  for (const m of METHODS) put(METHOD_KEY[m]!, p.standardSecurity?.methods?.[m]?.status);
  put('encryption.weakest', summary.weakestEncryption);
  put('encryption.level', p.standardSecurity?.encryptionLevel);
  put('certificate', p.tls?.certificate?.sha256);
  put('certificate.expires', p.tls?.certificate?.notAfter);
  if (p.credssp) {
    put('credssp.version', p.credssp.version > 0 ? String(p.credssp.version) : null);
    put('credssp.legacyClients', p.credssp.acceptsLegacyVersions === null ? null : p.credssp.acceptsLegacyVersions ? 'accepted' : 'refused');
  }
  put('downgrade', p.downgrade?.ok === true ? 'ok' : p.downgrade?.ok === false ? 'mismatch' : null);
  for (const f of p.findings ?? []) {
    if (typeof f?.id !== 'string') continue;
    const k = intern(`finding.${f.id}`);
    put(k, f.severity);
    note(k, f.title);
  }
  for (const c of r.clients ?? []) {
    if (typeof c?.client !== 'string') continue;
    const k = intern(`client.${c.client}`);
    put(k, c.connects ? 'connects' : `fails: ${c.failure?.code ?? 'unknown'}`);
    if (!c.connects) note(k, c.failure ? `${c.failure.code}${c.failure.clientMessage ? ` ("${c.failure.clientMessage}")` : ''}` : undefined);
  }
  return { target, values, ...(notes ? { notes } : {}) };
}

/** The changes from one endpoint's facts to another's, in field order. */
function compare(a: Facts, b: Facts): PostureChange[] {
  const keys = new Set([...a.values.keys(), ...b.values.keys()]);
  // an endpoint that is not reachable on one side: only that is news, not every field it lost
  if (a.values.get('reachable') !== 'reachable' || b.values.get('reachable') !== 'reachable') {
    keys.clear();
    keys.add('reachable');
  }
  const out: { order: number; c: PostureChange }[] = [];
  for (const field of keys) {
    const before = a.values.get(field) ?? null;
    const after = b.values.get(field) ?? null;
    if (before === after) continue;
    const s = spec(field);
    const rb = s.rank(before);
    const ra = s.rank(after);
    const direction = rb === null || ra === null || ra === rb ? 'neutral' : ra > rb ? 'better' : 'worse';
    const noteBefore = a.notes?.get(field);
    const noteAfter = b.notes?.get(field);
    const text = s.spec.text({ name: s.name, before, after, ...(noteBefore ? { noteBefore } : {}), ...(noteAfter ? { noteAfter } : {}) });
    out.push({ order: s.order, c: { field, before, after, direction, text } });
  }
  return out.sort((x, y) => x.order - y.order || (x.c.field < y.c.field ? -1 : x.c.field > y.c.field ? 1 : 0)).map((x) => x.c);
}

/** What changed on one endpoint between two of its records (`rdpsec history` between consecutive scans). */
export function recordChanges(older: HostScanRecord, newer: HostScanRecord): PostureChange[] {
  return compare(recordFacts(older), recordFacts(newer));
}

/**
 * The diff between two scans. Streams both: the older one into a Map of facts per endpoint, the
 * newer one against it. An endpoint listed twice in one scan counts once, by its first record.
 */
export function diffScans(older: ScanSide, newer: ScanSide): ScanDiff {
  const pool = new Map<string, string>();
  const intern = (s: string): string => {
    const hit = pool.get(s);
    if (hit !== undefined) return hit;
    pool.set(s, s);
    return s;
  };
  const before = new Map<string, Facts>();
  for (const r of older.records) {
    const key = endpointKey(r.target);
    if (!before.has(key)) before.set(key, recordFacts(r, intern));
  }

  const diff: ScanDiff = {
    from: { id: older.meta.id, startedAt: older.meta.startedAt },
    to: { id: newer.meta.id, startedAt: newer.meta.startedAt },
    appeared: [],
    disappeared: [],
    changed: [],
    unchanged: 0,
  };
  const seen = new Set<string>();
  for (const r of newer.records) {
    const key = endpointKey(r.target);
    if (seen.has(key)) continue;
    seen.add(key);
    const a = before.get(key);
    const b = recordFacts(r, intern);
    if (!a) {
      diff.appeared.push(b.target);
      continue;
    }
    before.delete(key); // what is left at the end disappeared; the Map shrinks as we go
    const changes = compare(a, b);
    if (changes.length) diff.changed.push({ target: b.target, changes });
    else diff.unchanged++;
  }
  for (const f of before.values()) diff.disappeared.push(f.target);
  return diff;
}
