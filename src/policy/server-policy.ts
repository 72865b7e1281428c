import { ENCRYPTION_METHOD } from '../pdu/client-data.js';
import { PROTOCOL, type ProtocolName } from '../pdu/nego.js';
import { ENCRYPTION_LEVEL } from '../pdu/server-data.js';
import type { PolicyWarning } from './errors.js';

/**
 * One normalized model of an RDP server's security policy. The acceptor (`rdpsec serve`,
 * `simulate`) takes a `ServerPolicy` and behaves like that server: which security protocols it
 * selects or refuses (policy/negotiation.ts), which Standard RDP Security level and method it
 * imposes (policy/encryption-method.ts), which TLS versions, ciphers and certificate it uses,
 * whether it requires NLA.
 *
 * The fields every server has are normalized (`protocols`, `standardSecurity`, `tls`, `nla`);
 * how a server refuses is not, so the policy is discriminated by `flavor` and keeps the
 * server's own knobs (`windows`: the RDP-Tcp registry values; `xrdp`: the xrdp.ini [Globals]
 * keys) for the flavor's negotiation rules. Parsers: windows-settings.ts (flags),
 * windows-registry.ts (a `reg export`), xrdp-ini.ts (xrdp.ini), presets.ts (data/presets.yaml).
 */

export type Flavor = 'windows' | 'xrdp';

/** TS_UD_SC_SEC1.encryptionLevel names (MS-RDPBCGR 2.2.1.4.3, 5.3.1). */
export type EncryptionLevelName = keyof typeof ENCRYPTION_LEVEL;
/** TS_UD_CS_SEC / TS_UD_SC_SEC1 encryption method names (MS-RDPBCGR 2.2.1.3.3, 2.2.1.4.3). */
export type EncryptionMethodName = keyof typeof ENCRYPTION_METHOD;

export const ENCRYPTION_LEVEL_NAMES_ORDERED: readonly EncryptionLevelName[] = ['NONE', 'LOW', 'CLIENT_COMPATIBLE', 'HIGH', 'FIPS'];

export function encryptionLevelByValue(value: number): EncryptionLevelName | undefined {
  return ENCRYPTION_LEVEL_NAMES_ORDERED.find((n) => ENCRYPTION_LEVEL[n] === value);
}

/** Protocol versions as Node's tls module and OpenSSL name them (SSLv3 only for describing a server). */
export type TlsVersion = 'SSLv3' | 'TLSv1' | 'TLSv1.1' | 'TLSv1.2' | 'TLSv1.3';
/** Oldest first. */
export const TLS_VERSIONS: readonly TlsVersion[] = ['SSLv3', 'TLSv1', 'TLSv1.1', 'TLSv1.2', 'TLSv1.3'];

/** Where the server's TLS certificate and key come from. */
export type CertificateSource =
  /** a self-signed certificate made at start (Windows' "Remote Desktop" store certificate; ours for serve) */
  | { kind: 'generated' }
  /** Windows: the certificate named by SSLCertificateSHA1Hash in the machine store */
  | { kind: 'thumbprint'; sha1: string }
  /** PEM files (xrdp certificate= and key_file=) */
  | { kind: 'files'; certFile: string; keyFile: string }
  /** no certificate at all: TLS and CredSSP cannot start (RDP_NEG_FAILURE SSL_CERT_NOT_ON_SERVER) */
  | { kind: 'none' };

export interface TlsPolicy {
  /** the enabled protocol versions, oldest first (a set: it may have holes) */
  versions: TlsVersion[];
  /**
   * The range a TLS library configured by minimum and maximum can offer: the newest contiguous
   * run of `versions` (null when none is enabled). Node's tls and SChannel-like min/max knobs
   * cannot express a hole, so a set with one yields a warning and this range.
   */
  minVersion: TlsVersion | null;
  maxVersion: TlsVersion | null;
  /** OpenSSL cipher string (xrdp tls_ciphers); null: the TLS library's default list */
  ciphers: string | null;
  certificate: CertificateSource;
  /**
   * Whether the certificate and key can be used. xrdp checks that both files are readable
   * before it selects TLS (xrdp_iso_negotiate_security); the parsers take a readability test
   * and assume true without one.
   */
  certificateAvailable: boolean;
}

export interface ProtocolPolicy {
  /** the protocols this server can select, most preferred first */
  offered: ProtocolName[];
  /** the weakest layer it accepts: null = Standard RDP Security is acceptable, 'SSL' = TLS or better, 'HYBRID' = CredSSP */
  required: 'SSL' | 'HYBRID' | null;
}

/**
 * Standard RDP Security (MS-RDPBCGR 5.3): the level this server announces in TS_UD_SC_SEC1 and
 * how it picks the method from the client's TS_UD_CS_SEC.encryptionMethods.
 */
export interface StandardSecurityPolicy {
  encryptionLevel: EncryptionLevelName;
  /**
   * 'by-level': MS-RDPBCGR 5.3.2 as Windows and FreeRDP apply it (LOW and CLIENT_COMPATIBLE:
   * the strongest method the client offers, 128 > 56 > 40; HIGH: 128-bit; FIPS: FIPS).
   * 'fixed': xrdp, one method per crypt_level whatever the client offers.
   */
  methodRule: 'by-level' | 'fixed';
  /** for 'fixed', the method */
  fixedMethod?: EncryptionMethodName;
  /**
   * When the client does not offer the method the level needs: 'impose' answers with it anyway
   * (FreeRDP's server and xrdp do; the client then fails or copes), 'refuse' ends the connection.
   */
  whenClientLacksMethod: 'impose' | 'refuse';
  /** xrdp ignores TS_UD_CS_SEC.extEncryptionMethods (the French-locale field); Windows reads it */
  honoursExtEncryptionMethods: boolean;
  /**
   * Whether RC4 PDUs signed with the salted MAC (SEC_SECURE_CHECKSUM, MS-RDPBCGR 5.3.6.1.1) are
   * accepted. xrdp 0.9.21.1-1+deb12u3 (Debian's CVE-2026-32105 fix) checks only the plain MAC
   * and drops the client ("MAC checksum error for non-FIPS PDU"): seen with FreeRDP clients in
   * ../shared/fixtures/pcaps (xrdp-rdp-*--xfreerdp-sec-rdp) and confirmed by decrypting them.
   */
  saltedMac: 'accepted' | 'rejected';
}

export interface NlaPolicy {
  /** the server can select HYBRID / HYBRID_EX (CredSSP) */
  supported: boolean;
  /** the server refuses anything but CredSSP (Windows UserAuthentication=1) */
  required: boolean;
}

/**
 * The server's CredSSP (MS-CSSP) behaviour: which TSRequest versions it speaks, where it stands
 * on CVE-2018-0886, how it answers a failed logon, whether it takes restricted admin logons.
 */
export interface CredsspPolicy {
  /**
   * TSRequest.version values the server speaks, e.g. [2, 3, 4, 5, 6]; it announces the highest
   * (a server with 5 or 6 has the March 2018 fix, MS-CSSP 2.2.1)
   */
  versions: number[];
  /**
   * refuse clients below version 5 (no nonce-and-hash binding): a patched server with
   * AllowEncryptionOracle=0 "Force Updated Clients" (KB4295591)
   */
  checkNonce: boolean;
  /** AllowEncryptionOracle as read (0 Force Updated Clients, 1 Mitigated, 2 Vulnerable), if known */
  allowEncryptionOracle?: 0 | 1 | 2;
  /**
   * How a failed logon is answered: 'error-code' (default) puts the NTSTATUS in a TSRequest
   * errorCode for client versions 3, 4 and 6, as Windows and FreeRDP 3 do (fact sheet section
   * 4); 'close' ends TLS without a word, as FreeRDP 2.11's server does (capture
   * shadow-nla--xfreerdp-badpw)
   */
  failureReply?: 'error-code' | 'close';
  /** restricted admin logons (empty credentials) accepted: DisableRestrictedAdmin=0; default false */
  restrictedAdmin?: boolean;
  /**
   * redirected authentication (Remote Credential Guard: TSRemoteGuardCreds, MS-CSSP 2.2.1.2.3)
   * accepted; default false
   */
  redirectedAuthentication?: boolean;
  /** the NTLM VERSION in the CHALLENGE, "major.minor.build" (what rdp-ntlm-info prints); default by flavor */
  ntlmVersion?: string;
}

export type PolicySource =
  | { kind: 'preset'; name: string; reference: string }
  | { kind: 'registry'; file?: string }
  | { kind: 'flags' }
  | { kind: 'xrdp-ini'; file?: string }
  | { kind: 'xrdp-settings' };

/** The RDP-Tcp listener knobs (fact sheet section 8, "Windows RDP listener"). */
export interface WindowsSettings {
  /** 0 RDP, 1 Negotiate, 2 SSL/TLS */
  securityLayer: 0 | 1 | 2;
  /** 0 NLA not required, 1 NLA required */
  userAuthentication: 0 | 1;
  /** 1 Low, 2 Client Compatible, 3 High, 4 FIPS */
  minEncryptionLevel: 1 | 2 | 3 | 4;
  /** fAllowSecProtocolNegotiation as read (1 expected; its effect is undocumented), null when absent */
  allowSecProtocolNegotiation: number | null;
  /** "System cryptography: Use FIPS compliant algorithms" (Lsa\FipsAlgorithmPolicy Enabled=1): level FIPS */
  fipsAlgorithmPolicy: boolean;
  /** the build knows PROTOCOL_HYBRID_EX (Windows 8 / Server 2012 and later) */
  hybridEx: boolean;
  /**
   * What the server does with a client that sends no RDP_NEG_REQ when Standard RDP Security is
   * not allowed: the Connection Confirm must then carry no rdpNegData (MS-RDPBCGR 3.3.5.3.2), so
   * 'drop' closes the connection; 'neg-failure' sends an RDP_NEG_FAILURE anyway (FreeRDP's way).
   */
  legacyClientRefusal: 'drop' | 'neg-failure';
}

/** The xrdp.ini [Globals] keys that shape security (xrdp 0.9 libxrdp/xrdp_rdp.c xrdp_rdp_read_config). */
export interface XrdpSettings {
  /** 'hybrid' is accepted by the code but undocumented; it behaves as 'negotiate' (xrdp has no CredSSP) */
  securityLayer: 'rdp' | 'tls' | 'hybrid' | 'negotiate';
  cryptLevel: 'none' | 'low' | 'medium' | 'high' | 'fips';
  /** ssl_protocols as understood by xrdp, oldest first */
  sslProtocols: TlsVersion[];
  tlsCiphers: string | null;
  /** resolved paths (empty or relative values fall back to <config dir>/cert.pem and key.pem) */
  certificate: string;
  keyFile: string;
}

interface PolicyCommon {
  /** a short name for logs and reports (the preset name, the file name) */
  name: string;
  protocols: ProtocolPolicy;
  standardSecurity: StandardSecurityPolicy;
  tls: TlsPolicy;
  nla: NlaPolicy;
  credssp?: CredsspPolicy;
  /** RDP_NEG_RSP.flags this server sends (MS-RDPBCGR 2.2.1.2.1) */
  negRspFlags: number;
  source: PolicySource;
  /** what the parser noticed: ignored values, fallbacks the real server makes, contradictions */
  warnings: PolicyWarning[];
}

export interface WindowsServerPolicy extends PolicyCommon {
  flavor: 'windows';
  windows: WindowsSettings;
}

export interface XrdpServerPolicy extends PolicyCommon {
  flavor: 'xrdp';
  xrdp: XrdpSettings;
}

export type ServerPolicy = WindowsServerPolicy | XrdpServerPolicy;

/** requestedProtocols bits this project knows (MS-RDPBCGR 2.2.1.1.1). */
export const KNOWN_PROTOCOL_BITS =
  PROTOCOL.SSL | PROTOCOL.HYBRID | PROTOCOL.RDSTLS | PROTOCOL.HYBRID_EX | PROTOCOL.RDSAAD;

/**
 * The newest contiguous run of enabled versions: what a min/max configuration can offer.
 * Returns nulls for an empty set.
 */
export function tlsRange(versions: readonly TlsVersion[]): { minVersion: TlsVersion | null; maxVersion: TlsVersion | null; hasHole: boolean } {
  const enabled = TLS_VERSIONS.map((v) => versions.includes(v));
  let max = -1;
  for (let i = enabled.length - 1; i >= 0; i--) {
    if (enabled[i]) {
      max = i;
      break;
    }
  }
  if (max < 0) return { minVersion: null, maxVersion: null, hasHole: false };
  let min = max;
  while (min > 0 && enabled[min - 1]) min--;
  const hasHole = enabled.slice(0, min).some(Boolean);
  return { minVersion: TLS_VERSIONS[min] ?? null, maxVersion: TLS_VERSIONS[max] ?? null, hasHole };
}

/** Sort and de-duplicate a version list, oldest first. */
export function sortTlsVersions(versions: Iterable<TlsVersion>): TlsVersion[] {
  const set = new Set(versions);
  return TLS_VERSIONS.filter((v) => set.has(v));
}

/** A one-line summary for logs: "windows SecurityLayer=1 UserAuthentication=1 ... (preset windows-2019)". */
export function describePolicy(p: ServerPolicy): string {
  const tls = p.tls.minVersion ? `${p.tls.minVersion}..${p.tls.maxVersion}` : 'no TLS';
  const knobs =
    p.flavor === 'windows'
      ? `SecurityLayer=${p.windows.securityLayer} UserAuthentication=${p.windows.userAuthentication} MinEncryptionLevel=${p.windows.minEncryptionLevel}`
      : `security_layer=${p.xrdp.securityLayer} crypt_level=${p.xrdp.cryptLevel}`;
  return `${p.flavor} ${knobs}: offers ${p.protocols.offered.join(',')}, level ${p.standardSecurity.encryptionLevel}, ${tls}${p.nla.required ? ', NLA required' : ''}`;
}
