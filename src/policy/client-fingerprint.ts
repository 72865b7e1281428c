import { loadData } from '../data/load.js';

/**
 * Name a client's family from what it sent (data/client-fingerprints.yaml): the first entry all
 * of whose fields match; the matched fields are the evidence. Unknown clients are 'unknown'.
 */
export interface ClientTraits {
  cookie?: string;
  requestedProtocols: string[] | null;
  clientName?: string;
  clientBuild?: number;
  version?: string;
  earlyCapabilityFlags?: number;
  encryptionMethods?: number;
}

interface Entry {
  family: string;
  source: string;
  match: { cookiePrefix?: string; clientName?: string; clientBuild?: number; version?: string; earlyCapabilityFlags?: number; requestedProtocols?: string | null; encryptionMethods?: number };
}

let entries: Entry[] | undefined;

export function fingerprintClient(t: ClientTraits): { family: string; evidence: string[] } {
  entries ??= loadData<{ fingerprints: Entry[] }>('client-fingerprints').fingerprints;
  for (const e of entries) {
    const evidence: string[] = [];
    const m = e.match;
    const ok = (field: string, want: unknown, got: unknown, same = want === got) => {
      if (same) evidence.push(`${field}=${String(got)}`);
      return same;
    };
    if (m.cookiePrefix !== undefined && !ok('cookie', m.cookiePrefix, t.cookie, t.cookie?.startsWith(m.cookiePrefix) ?? false)) continue;
    if (m.clientName !== undefined && !ok('clientName', m.clientName, t.clientName)) continue;
    if (m.clientBuild !== undefined && !ok('clientBuild', m.clientBuild, t.clientBuild)) continue;
    if (m.version !== undefined && !ok('version', m.version, t.version)) continue;
    if (m.earlyCapabilityFlags !== undefined && !ok('earlyCapabilityFlags', m.earlyCapabilityFlags, t.earlyCapabilityFlags)) continue;
    if (m.encryptionMethods !== undefined && !ok('encryptionMethods', m.encryptionMethods, t.encryptionMethods)) continue;
    if (m.requestedProtocols !== undefined && !ok('requestedProtocols', m.requestedProtocols, t.requestedProtocols === null ? null : t.requestedProtocols.join('|'))) continue;
    return { family: e.family, evidence };
  }
  return { family: 'unknown', evidence: [] };
}
