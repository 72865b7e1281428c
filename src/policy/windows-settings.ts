import { NEG_RSP_FLAGS, type ProtocolName } from '../pdu/nego.js';
import { PolicyError, warning, type PolicyLocation, type PolicyWarning } from './errors.js';
import {
  ENCRYPTION_LEVEL_NAMES_ORDERED,
  sortTlsVersions,
  tlsRange,
  type CertificateSource,
  type CredsspPolicy,
  type EncryptionLevelName,
  type PolicySource,
  type TlsVersion,
  type WindowsServerPolicy,
  type WindowsSettings,
} from './server-policy.js';

/**
 * A Windows RDP listener's policy from its settings: the RDP-Tcp values SecurityLayer,
 * UserAuthentication, MinEncryptionLevel (fact sheet section 8; WMI Win32_TSGeneralSetting;
 * the unattend Microsoft-Windows-TerminalServices-RDP-WinStationExtensions settings), the FIPS
 * policy and the TLS side that SChannel decides.
 */

/** The knobs as a user gives them (`rdpsec serve --windows SecurityLayer=2,...`) or a preset holds them. */
export interface WindowsFlags {
  securityLayer: number;
  userAuthentication: number;
  minEncryptionLevel: number;
  allowSecProtocolNegotiation?: number | null;
  fipsAlgorithmPolicy?: boolean;
  /** default true: Windows 8 / Server 2012 and later know PROTOCOL_HYBRID_EX */
  hybridEx?: boolean;
  /** default 'drop' (see WindowsSettings.legacyClientRefusal) */
  legacyClientRefusal?: 'drop' | 'neg-failure';
  /**
   * Default TLSv1, TLSv1.1, TLSv1.2: SChannel's server defaults on Server 2012 to 2019, which
   * support no TLS 1.3 (TLS 1.3 needs Server 2022: SChannelDsc, "TLS 1.3 is only supported with
   * Windows Server 2022 and later").
   */
  tlsVersions?: TlsVersion[];
  /** default { kind: 'generated' }: Windows makes a self-signed certificate in its "Remote Desktop" store */
  certificate?: CertificateSource;
  certificateAvailable?: boolean;
  credssp?: CredsspPolicy;
  /** RDP_NEG_RSP.flags; default EXTENDED_CLIENT_DATA_SUPPORTED, plus DYNVC_GFX_PROTOCOL_SUPPORTED with hybridEx (not verified on the wire) */
  negRspFlags?: number;
}

export interface WindowsPolicyOptions {
  name?: string;
  source?: PolicySource;
  /** where each knob was read (for error messages): keys are WindowsFlags field names */
  locations?: Partial<Record<keyof WindowsFlags, PolicyLocation>>;
  /** warnings collected before (by the .reg parser) */
  warnings?: PolicyWarning[];
}

export const WINDOWS_DEFAULT_TLS_VERSIONS: readonly TlsVersion[] = ['TLSv1', 'TLSv1.1', 'TLSv1.2'];

const REG_NAMES: Record<'securityLayer' | 'userAuthentication' | 'minEncryptionLevel', string> = {
  securityLayer: 'SecurityLayer',
  userAuthentication: 'UserAuthentication',
  minEncryptionLevel: 'MinEncryptionLevel',
};

function checkRange<T extends number>(
  field: 'securityLayer' | 'userAuthentication' | 'minEncryptionLevel',
  value: number,
  allowed: readonly T[],
  opts: WindowsPolicyOptions,
): T {
  if (!Number.isInteger(value) || !allowed.includes(value as T)) {
    const loc: PolicyLocation = { key: REG_NAMES[field], value: String(value), ...(opts.locations?.[field] ?? {}) };
    throw new PolicyError('InvalidValue', `${value} is not one of ${allowed.join(', ')}`, loc);
  }
  return value as T;
}

/** Validate the three registry knobs; throws PolicyError naming the value and where it was read. */
export function windowsSettingsFromFlags(flags: WindowsFlags, opts: WindowsPolicyOptions = {}): WindowsSettings {
  return {
    securityLayer: checkRange('securityLayer', flags.securityLayer, [0, 1, 2] as const, opts),
    userAuthentication: checkRange('userAuthentication', flags.userAuthentication, [0, 1] as const, opts),
    minEncryptionLevel: checkRange('minEncryptionLevel', flags.minEncryptionLevel, [1, 2, 3, 4] as const, opts),
    allowSecProtocolNegotiation: flags.allowSecProtocolNegotiation ?? null,
    fipsAlgorithmPolicy: flags.fipsAlgorithmPolicy ?? false,
    hybridEx: flags.hybridEx ?? true,
    legacyClientRefusal: flags.legacyClientRefusal ?? 'drop',
  };
}

/** A normalized Windows policy from its knobs (the same code path for flags, .reg files and presets). */
export function fromWindowsFlags(flags: WindowsFlags, opts: WindowsPolicyOptions = {}): WindowsServerPolicy {
  const s = windowsSettingsFromFlags(flags, opts);
  const warnings: PolicyWarning[] = [...(opts.warnings ?? [])];
  const at = (f: keyof WindowsFlags): PolicyLocation => opts.locations?.[f] ?? {};

  const certificate = flags.certificate ?? { kind: 'generated' };
  const certificateAvailable = flags.certificateAvailable ?? certificate.kind !== 'none';
  const enhanced = s.securityLayer >= 1;
  const nlaRequired = enhanced && s.userAuthentication === 1;

  if (s.securityLayer === 0 && s.userAuthentication === 1) {
    // CredSSP runs inside TLS (MS-CSSP 1.3); with SecurityLayer=0 the listener refuses TLS, so
    // NLA cannot be required. Modelled as "SecurityLayer wins"; not verified on a real host.
    warnings.push(
      warning('windows-nla-without-tls', 'UserAuthentication=1 has no effect with SecurityLayer=0 (CredSSP needs TLS); modelled as Standard RDP Security only', at('userAuthentication')),
    );
  }
  if (s.securityLayer === 2 && s.minEncryptionLevel === 1) {
    // Win32_TSGeneralSetting.SetSecurityLayer: "not compatible with a MinEncryptionLevel value of 1"
    warnings.push(warning('windows-tls-with-low-level', 'SecurityLayer=2 is not compatible with MinEncryptionLevel=1 (WMI SetSecurityLayer)', at('minEncryptionLevel')));
  }

  let encryptionLevel: EncryptionLevelName = ENCRYPTION_LEVEL_NAMES_ORDERED[s.minEncryptionLevel] ?? 'CLIENT_COMPATIBLE';
  if (s.fipsAlgorithmPolicy && encryptionLevel !== 'FIPS') {
    // ADMX TS_ENCRYPTION_POLICY: FIPS compliance is configured through "System cryptography: Use
    // FIPS compliant algorithms..." (fact sheet section 8)
    warnings.push(warning('windows-fips-policy', `FipsAlgorithmPolicy is enabled: encryption level FIPS instead of MinEncryptionLevel=${s.minEncryptionLevel}`, at('fipsAlgorithmPolicy')));
    encryptionLevel = 'FIPS';
  }

  const versions = sortTlsVersions(flags.tlsVersions ?? WINDOWS_DEFAULT_TLS_VERSIONS);
  const range = tlsRange(versions);
  if (range.hasHole) {
    warnings.push(warning('tls-version-hole', `TLS versions ${versions.join(', ')} have a hole; only ${range.minVersion}..${range.maxVersion} can be offered`, at('tlsVersions')));
  }
  if (enhanced && versions.length === 0) {
    warnings.push(warning('tls-no-version', 'no TLS version is enabled: TLS and CredSSP handshakes will fail', at('tlsVersions')));
  }

  const offered: ProtocolName[] = [];
  if (!enhanced) offered.push('RDP');
  else {
    if (certificateAvailable) {
      if (s.hybridEx) offered.push('HYBRID_EX');
      offered.push('HYBRID');
      if (!nlaRequired) offered.push('SSL');
    }
    if (s.securityLayer === 1 && !nlaRequired) offered.push('RDP');
  }
  const required = !enhanced ? null : nlaRequired ? 'HYBRID' : s.securityLayer === 2 ? 'SSL' : null;

  const policy: WindowsServerPolicy = {
    flavor: 'windows',
    name: opts.name ?? 'windows',
    windows: s,
    protocols: { offered, required },
    standardSecurity: {
      encryptionLevel,
      methodRule: 'by-level',
      whenClientLacksMethod: 'impose',
      honoursExtEncryptionMethods: true,
      saltedMac: 'accepted',
    },
    tls: {
      versions,
      minVersion: range.minVersion,
      maxVersion: range.maxVersion,
      ciphers: null,
      certificate,
      certificateAvailable,
    },
    nla: { supported: enhanced && certificateAvailable, required: nlaRequired },
    negRspFlags:
      flags.negRspFlags ??
      (NEG_RSP_FLAGS.EXTENDED_CLIENT_DATA_SUPPORTED | (s.hybridEx ? NEG_RSP_FLAGS.DYNVC_GFX_PROTOCOL_SUPPORTED : 0)),
    source: opts.source ?? { kind: 'flags' },
    warnings,
  };
  if (flags.credssp) policy.credssp = flags.credssp;
  return policy;
}
