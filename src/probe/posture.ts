/**
 * The Posture: what one server negotiates, as learned on the wire by `probe`. This is the
 * JSON contract (`schemaVersion` 1, documented in schemas/probe.schema.json) that scripts and
 * later commands (scan, doctor) rely on: add fields freely, keep these names.
 */
import type { X509Summary } from '../crypto/certificate-summary.js';
import type { ProtocolName } from '../pdu/nego.js';

export const POSTURE_SCHEMA_VERSION = 1;

/** A typed reason an attempt did not get an answer: a transport or decode failure. */
export interface AttemptError {
  /** transport kinds (refused, reset, timeout, closed, tls, malformed, oversized, unreachable) or connector codes */
  kind: string;
  /** where it happened: connect, x224, tls, mcs */
  phase: string;
  message: string;
  /** for malformed PDUs: which PDU and field, at what offset */
  pdu?: string;
  field?: string;
  offset?: number;
}

export type ProtocolStatus = 'accepted' | 'refused' | 'ignored' | 'error';

export interface ProtocolProbe {
  status: ProtocolStatus;
  /** requestedProtocols sent for this question */
  requested: number;
  /** the selectedProtocol of the RDP_NEG_RSP, by name */
  selected?: string;
  /** the RDP_NEG_FAILURE failureCode, by name */
  failureCode?: string;
  /** RDP_NEG_RSP flags, by name */
  flags?: string[];
  /** refused without RDP_NEG_FAILURE: the server disconnected instead (xrdp does, for flags it does not know) */
  disconnect?: string;
  /** true when the server answered without negotiation data although the request had some */
  legacyConfirm?: boolean;
  error?: AttemptError;
}

export interface LegacyProbe {
  status: 'accepted' | 'refused' | 'error';
  failureCode: string | null;
  /** what the Connection Confirm carried: nothing (as the spec wants), or an RDP_NEG_RSP/FAILURE (FreeRDP) */
  confirm: 'no-negotiation-data' | 'RDP_NEG_RSP' | 'RDP_NEG_FAILURE' | null;
  selected?: string;
  /** how it ended past the Confirm: the MCS Connect Response, or a disconnect */
  detail?: string;
  error?: AttemptError;
}

export type MethodName = '40BIT' | '56BIT' | '128BIT' | 'FIPS';
export type EncryptionLevelName = 'NONE' | 'LOW' | 'CLIENT_COMPATIBLE' | 'HIGH' | 'FIPS';

export interface MethodProbe {
  status: 'accepted' | 'refused' | 'error';
  /** encryptionMethods offered in TS_UD_CS_SEC */
  offered: number;
  /** the encryptionMethod of TS_UD_SC_SEC1, by name (NONE when the server does not encrypt) */
  selected?: MethodName | 'NONE' | string;
  encryptionLevel?: EncryptionLevelName | string;
  /** true when the server chose a method the client did not offer (xrdp does) */
  notOffered?: boolean;
  error?: AttemptError;
}

export interface ServerCertificateInfo {
  type: 'proprietary' | 'x509';
  keyType: string;
  keyBits: number;
  /** proprietary: the high bit of dwVersion (a temporary certificate) */
  temporary?: boolean;
  /** x509 chain: subject and issuer of the leaf */
  subject?: string;
  issuer?: string;
}

export interface StandardSecurity {
  encryptionLevel: EncryptionLevelName | string;
  /** the request through which it was reached: an RDP_NEG_REQ for RDP, or a legacy request */
  via: 'RDP_NEG_REQ' | 'legacy';
  methods: Partial<Record<MethodName, MethodProbe>>;
  /** all four methods offered at once: what the server picks */
  allOffered: MethodProbe;
  serverRandom: boolean;
  certificate: ServerCertificateInfo | null;
  /** methods the server answered with although they were not offered */
  imposesMethods: string[];
  /** `--handshake`: one entry per method (and MAC form) tried */
  handshakes?: HandshakeEntry[];
}

export type TlsVersionName = 'TLSv1' | 'TLSv1.1' | 'TLSv1.2' | 'TLSv1.3';

export interface TlsVersionProbe {
  accepted: boolean;
  /** IANA name of the negotiated cipher suite */
  cipher?: string;
  /** OpenSSL name of it */
  opensslCipher?: string;
  /** why the handshake failed */
  reason?: string;
}

/** The TLS certificate as crypto/certificate-summary.ts reads it. */
export type CertificateSummary = X509Summary;

export interface TlsPosture {
  /** the protocol requested to reach TLS (SSL, or HYBRID for an NLA-only server) */
  via: string;
  versions: Partial<Record<TlsVersionName, TlsVersionProbe>>;
  /** what the server picks when the client allows every version */
  default?: { version: string; cipher: string };
  certificate: CertificateSummary | null;
  /** `--handshake`: the whole connection over TLS */
  handshake?: HandshakeEntry;
}

export interface DowngradeCheck {
  /** true: TS_UD_SC_CORE clientRequestedProtocols equals what we sent; false: it differs; null: not checked */
  ok: boolean | null;
  sent?: number;
  echoed?: number | null;
  /** the security layer of the connection used for the check */
  via?: string;
  reason?: string;
}

/** The first CredSSP round trip (MS-CSSP 3.1.5): our NTLM NEGOTIATE, the server's answer. */
export interface HybridProbe {
  /** true when the server answered the TSRequest with one of its own */
  credssp: boolean;
  /** the version of the server's TSRequest (2..6) */
  serverVersion?: number;
  /** an errorCode the server sent instead of a token, as hex NTSTATUS */
  errorCode?: string;
  /** the token mechanism in the server's answer */
  mechanism?: 'NTLM' | 'other';
  /** the names and version in the NTLM CHALLENGE_MESSAGE (what nmap's rdp-ntlm-info shows) */
  ntlm?: NtlmInfo;
  /** why the round trip did not complete */
  error?: AttemptError;
}

export interface NtlmInfo {
  targetName: string;
  nbComputerName?: string;
  nbDomainName?: string;
  dnsComputerName?: string;
  dnsDomainName?: string;
  dnsTreeName?: string;
  /** MS-NLMP VERSION: major.minor.build */
  productVersion?: string;
  /** MsvAvTimestamp, ISO */
  serverTime?: string;
  /** server clock minus ours, seconds (Kerberos fails beyond 300) */
  clockSkewSeconds?: number;
}

/** How a logon with the given credentials ended (`probe --user`). */
export interface CredentialsCheck {
  /** DOMAIN\\user as tried */
  user: string;
  /** true: the server proved the logon (its pubKeyAuth); false: refused; null: could not tell */
  accepted: boolean | null;
  /** the NTSTATUS name of the server's TSRequest errorCode (STATUS_LOGON_FAILURE ...), when it sent one */
  errorCode: string | null;
  /** what happened on the wire */
  observation: string;
  /** what it most likely means, when the wire alone does not say */
  meaning?: string;
}

/**
 * The `credssp` contract of `probe --json` (issue 5): the server's CredSSP as a client meets it.
 * null in the posture when HYBRID is not accepted.
 */
export interface CredsspPosture {
  /** the server's TSRequest.version (6 on a host with the CVE-2018-0886 fix) */
  version: number;
  /** HYBRID is the only way in: RDP, SSL and a legacy request are all refused */
  nlaRequired: boolean;
  /** a version 2 (unpatched-style) client is taken; null: no answer either way */
  acceptsLegacyVersions: boolean | null;
  /** what `acceptsLegacyVersions` rests on: the CHALLENGE alone, or a whole logon (with --user) */
  legacyCheck: 'challenge' | 'logon';
  /** a version 6 client is taken (the CHALLENGE, or the logon with --user) */
  acceptsCurrentVersions: boolean | null;
  ntlm: null | {
    targetName: string;
    netbiosComputer: string | null;
    netbiosDomain: string | null;
    dnsComputer: string | null;
    dnsDomain: string | null;
    dnsTree: string | null;
    /** MS-NLMP VERSION, major.minor.build */
    osVersion: string | null;
    /** MsvAvTimestamp, ISO */
    timestamp: string | null;
    clockSkewSeconds?: number;
  };
  hybridEx: {
    /** the server selects HYBRID_EX when asked */
    advertised: boolean;
    /** with --user: the Early User Authorization Result of a real HYBRID_EX logon */
    earlyUserAuthorization: 'AUTHZ_SUCCESS' | 'AUTHZ_ACCESS_DENIED' | null;
  };
  restrictedAdmin: {
    /** RESTRICTED_ADMIN_MODE_SUPPORTED in the RDP_NEG_RSP to a HYBRID request */
    advertised: boolean;
    /** with --user: a restricted admin logon (empty credentials) was taken */
    accepted: boolean | null;
  };
  credentials: CredentialsCheck | null;
}

/** One entry of the `probe --handshake` contract (standardSecurity.handshakes, tls.handshake). */
export interface HandshakeEntry {
  method: 'NONE' | '40BIT' | '56BIT' | '128BIT' | 'FIPS' | string;
  completed: boolean;
  /** how far the connection sequence got */
  reached: 'mcs' | 'security-exchange' | 'client-info' | 'licensing' | 'demand-active' | 'finalized' | 'negotiation';
  mac: 'salted' | 'plain' | null;
  error: null | { code: string; message: string };
}

/** One full connection attempt of `probe --handshake`. */
export interface HandshakeAttempt {
  /** reached the end of finalization (the server's Font Map); null: not attempted */
  works: boolean | null;
  reached?: HandshakeEntry['reached'];
  reason?: string;
  licensing?: 'valid-client' | 'new-license-request' | 'platform-challenge' | 'license-issued';
  /** which directions were really encrypted on the wire */
  encrypted?: { clientToServer: boolean; serverToClient: boolean };
  finalization?: string[];
  errorInfo?: string;
  failure?: AttemptError;
}

export interface MethodHandshake {
  /** encryptionMethods offered to get this method */
  offered: number;
  /** RC4: with the plain MAC (MS-RDPBCGR 5.3.6.1) and the salted one (5.3.6.1.1) */
  plainMac?: HandshakeAttempt;
  saltedMac?: HandshakeAttempt;
  /** NONE and FIPS: the one attempt */
  attempt?: HandshakeAttempt;
  /** the MAC form the server accepts (the one rdpsec uses) */
  workingMac?: 'unsalted' | 'salted';
  summary: string;
}

export interface HandshakeReport {
  layers: { SSL?: HandshakeAttempt; HYBRID?: HandshakeAttempt };
  /** by the method the server selects (NONE, 40BIT, 56BIT, 128BIT, FIPS) */
  methods: Record<string, MethodHandshake>;
}

export interface Finding {
  id: string;
  severity: 'info' | 'low' | 'medium' | 'high' | 'critical';
  title: string;
  detail?: string;
}

export interface Posture {
  schemaVersion: number;
  target: { host: string; port: number };
  startedAt: string;
  durationMs: number;
  /** false when no connection got an answer (the host is unreachable) */
  reachable: boolean;
  protocols: Record<ProtocolName, ProtocolProbe>;
  /** what the server selects when offered every protocol */
  preferred: string | null;
  preferredDetail: ProtocolProbe;
  /** the security layer the server insists on, from its failure codes */
  requires: 'SSL' | 'HYBRID' | 'SSL_WITH_USER_AUTH' | null;
  legacy: LegacyProbe;
  standardSecurity: StandardSecurity | null;
  tls: TlsPosture | null;
  downgrade: DowngradeCheck;
  /** HYBRID: what the server does after TLS, from the first CredSSP round trip; null when HYBRID is not accepted */
  hybrid: HybridProbe | null;
  /** CredSSP as a client meets it (versions, NTLM names, HYBRID_EX, restricted admin, --user); null when HYBRID is not accepted */
  credssp: CredsspPosture | null;
  /** `--handshake`: complete connections with each accepted layer and method */
  handshake?: HandshakeReport;
  /** server version and flags seen in TS_UD_SC_CORE */
  serverCore?: { version: string; earlyCapabilityFlags?: number };
  connections: number;
  findings: Finding[];
}
