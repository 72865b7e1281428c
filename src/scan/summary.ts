import type { Finding, Posture } from '../probe/posture.js';
import type { HostSummary } from './record.js';

/** Severity order, worst last. */
export const SEVERITIES: readonly Finding['severity'][] = ['info', 'low', 'medium', 'high', 'critical'];
/** Standard RDP Security methods, weakest first (FIPS is 3DES, the strongest of them). */
const METHOD_ORDER = ['NONE', '40BIT', '56BIT', '128BIT', 'FIPS'];
const TLS_ORDER = ['TLSv1', 'TLSv1.1', 'TLSv1.2', 'TLSv1.3'] as const;

/**
 * One host's line in the scan table, from its posture: what it accepts, whether NLA is the only
 * way in, its TLS range, the weakest encryption it lets a client have, when its certificate
 * expires, and its worst finding. Read defensively: a stored posture may come from an older rdpsec.
 */
export function summarizePosture(p: Posture): HostSummary {
  const protocols = Object.entries(p.protocols ?? {})
    .filter(([, v]) => v?.status === 'accepted')
    .map(([k]) => k);
  const legacyOk = p.legacy?.status === 'accepted';
  const nonNla = protocols.some((x) => x === 'RDP' || x === 'SSL') || legacyOk;
  const nlaAccepted = protocols.includes('HYBRID') || protocols.includes('HYBRID_EX');
  const nlaRequired = protocols.length === 0 && !legacyOk ? null : nlaAccepted && !nonNla;
  const versions = TLS_ORDER.filter((v) => p.tls?.versions?.[v]?.accepted);
  const tlsRange = versions.length ? (versions.length === 1 ? versions[0]! : `${versions[0]}..${versions[versions.length - 1]}`) : null;
  // what the server really runs for each accepted offer (xrdp answers with its one method, NONE included)
  const run = Object.values(p.standardSecurity?.methods ?? {})
    .filter((m) => m?.status === 'accepted' && m.selected)
    .map((m) => m!.selected!);
  const rank = (m: string): number => (METHOD_ORDER.includes(m) ? METHOD_ORDER.indexOf(m) : METHOD_ORDER.length);
  const weakest = run.length ? run.reduce((a, b) => (rank(b) < rank(a) ? b : a)) : null;
  const worst = [...(p.findings ?? [])].sort((a, b) => SEVERITIES.indexOf(b.severity) - SEVERITIES.indexOf(a.severity))[0];
  return {
    protocols,
    nlaRequired,
    tlsRange,
    weakestEncryption: weakest,
    certificateExpires: p.tls?.certificate?.notAfter ?? null,
    worstFinding: worst ? { id: worst.id, severity: worst.severity } : null,
  };
}
