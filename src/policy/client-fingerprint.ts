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
  /** CredSSP: the client's first TSRequest.version and NTLM NEGOTIATE (flags, VERSION) */
  credsspVersion?: number;
  ntlmNegotiateFlags?: number;
  ntlmVersion?: string;
}

interface Entry {
  family: string;
  source: string;
  match: {
    cookiePrefix?: string;
    /** the whole mstshash cookie; null: no cookie at all */
    cookie?: string | null;
    clientName?: string;
    clientBuild?: number;
    version?: string;
    earlyCapabilityFlags?: number;
    requestedProtocols?: string | null;
    encryptionMethods?: number;
    credsspVersion?: number;
    ntlmNegotiateFlags?: number;
    /** the NEGOTIATE's VERSION as major.minor.build; null: no VERSION sent */
    ntlmVersion?: string | null;
  };
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
    if (m.cookie !== undefined && !ok('cookie', m.cookie, t.cookie ?? null)) continue;
    if (m.credsspVersion !== undefined && !ok('credsspVersion', m.credsspVersion, t.credsspVersion)) continue;
    if (m.ntlmNegotiateFlags !== undefined && !ok('ntlmNegotiateFlags', `0x${m.ntlmNegotiateFlags.toString(16)}`, t.ntlmNegotiateFlags === undefined ? undefined : `0x${t.ntlmNegotiateFlags.toString(16)}`)) continue;
    if (m.ntlmVersion !== undefined && !ok('ntlmVersion', m.ntlmVersion, t.ntlmVersion ?? null)) continue;
    if (m.requestedProtocols !== undefined && !ok('requestedProtocols', m.requestedProtocols, t.requestedProtocols === null ? null : t.requestedProtocols.join('|'))) continue;
    return { family: e.family, evidence };
  }
  return { family: 'unknown', evidence: [] };
}
