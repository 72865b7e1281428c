import { PolicyError, warning, type PolicyLocation, type PolicyWarning } from './errors.js';
import { parseRegFile, type RegEntry, type RegFile, type RegKey } from './reg-file.js';
import { sortTlsVersions, type TlsVersion, type WindowsServerPolicy } from './server-policy.js';
import { WINDOWS_DEFAULT_TLS_VERSIONS, fromWindowsFlags, type WindowsFlags } from './windows-settings.js';

export { fromWindowsFlags, type WindowsFlags } from './windows-settings.js';

/**
 * A Windows server's RDP policy from a registry export (.reg). Keys read (fact sheet section 8):
 *
 * - HKLM\SYSTEM\CurrentControlSet\Control\Terminal Server\WinStations\RDP-Tcp: SecurityLayer,
 *   UserAuthentication, MinEncryptionLevel, fAllowSecProtocolNegotiation, SSLCertificateSHA1Hash.
 * - HKLM\SOFTWARE\Policies\Microsoft\Windows NT\Terminal Services: the Group Policy values with
 *   the same names; when present they override RDP-Tcp (ADMX TS_SECURITY_LAYER_POLICY,
 *   TS_USER_AUTHENTICATION_POLICY, TS_ENCRYPTION_POLICY write there).
 * - HKLM\SYSTEM\CurrentControlSet\Control\Lsa\FipsAlgorithmPolicy "Enabled" (and the older
 *   Lsa "FIPSAlgorithmPolicy" DWORD): FIPS level.
 * - HKLM\SYSTEM\CurrentControlSet\Control\SecurityProviders\SCHANNEL\Protocols\<P>\Server
 *   "Enabled" / "DisabledByDefault": the TLS versions SChannel offers.
 * - HKLM\SOFTWARE\Microsoft\Windows\CurrentVersion\Policies\System\CredSSP\Parameters
 *   "AllowEncryptionOracle" (CVE-2018-0886, fact sheet section 4).
 *
 * ControlSet001 (and other numbered sets) are read as CurrentControlSet, "HKLM" as
 * HKEY_LOCAL_MACHINE; paths and value names compare case-insensitively, as the registry does.
 * Anything else is ignored and listed in `ignored`.
 */

const HKLM = 'HKEY_LOCAL_MACHINE';
const RDP_TCP = `${HKLM}\\SYSTEM\\CURRENTCONTROLSET\\CONTROL\\TERMINAL SERVER\\WINSTATIONS\\RDP-TCP`;
const TS_POLICY = `${HKLM}\\SOFTWARE\\POLICIES\\MICROSOFT\\WINDOWS NT\\TERMINAL SERVICES`;
const TS_POLICY_WOW64 = `${HKLM}\\SOFTWARE\\WOW6432NODE\\POLICIES\\MICROSOFT\\WINDOWS NT\\TERMINAL SERVICES`;
const LSA = `${HKLM}\\SYSTEM\\CURRENTCONTROLSET\\CONTROL\\LSA`;
const FIPS = `${LSA}\\FIPSALGORITHMPOLICY`;
const SCHANNEL = `${HKLM}\\SYSTEM\\CURRENTCONTROLSET\\CONTROL\\SECURITYPROVIDERS\\SCHANNEL\\PROTOCOLS\\`;
const CREDSSP = `${HKLM}\\SOFTWARE\\MICROSOFT\\WINDOWS\\CURRENTVERSION\\POLICIES\\SYSTEM\\CREDSSP\\PARAMETERS`;

const SCHANNEL_PROTOCOLS: Record<string, TlsVersion> = {
  'SSL 3.0': 'SSLv3',
  'TLS 1.0': 'TLSv1',
  'TLS 1.1': 'TLSv1.1',
  'TLS 1.2': 'TLSv1.2',
  'TLS 1.3': 'TLSv1.3',
};

/** Upper-case, HKLM spelled out, numbered control sets read as CurrentControlSet. */
export function normalizeKeyPath(path: string): string {
  return path
    .trim()
    .toUpperCase()
    .replace(/^HKLM\\/, `${HKLM}\\`)
    .replace(/\\CONTROLSET\d{3}\\/, '\\CURRENTCONTROLSET\\');
}

/** A value or key the policy does not use. */
export interface IgnoredRegEntry {
  key: string;
  /** absent when a whole key is ignored */
  name?: string;
  line: number;
}

export interface WindowsRegistryReading {
  flags: WindowsFlags;
  /** where each knob was read */
  locations: Partial<Record<keyof WindowsFlags, PolicyLocation>>;
  /** the knobs whose value came from the Group Policy key */
  fromGroupPolicy: ('securityLayer' | 'userAuthentication' | 'minEncryptionLevel')[];
  ignored: IgnoredRegEntry[];
  warnings: PolicyWarning[];
  reg: RegFile;
}

function loc(reg: RegFile, e: RegEntry): PolicyLocation {
  return { ...(reg.file !== undefined ? { file: reg.file } : {}), line: e.line, key: e.name, value: e.raw };
}

function dword(reg: RegFile, e: RegEntry): number {
  if (e.value.type !== 'dword') throw new PolicyError('InvalidValue', 'expected a dword', loc(reg, e));
  return e.value.value;
}

type Knob = 'securityLayer' | 'userAuthentication' | 'minEncryptionLevel';
const KNOBS: Record<string, Knob> = { SECURITYLAYER: 'securityLayer', USERAUTHENTICATION: 'userAuthentication', MINENCRYPTIONLEVEL: 'minEncryptionLevel' };

/** Read the RDP-related values of a registry export; throws PolicyError (with file, line and value) on bad input. */
export function readWindowsRegistry(input: Uint8Array | string | RegFile, opts: { file?: string } = {}): WindowsRegistryReading {
  const reg = typeof input === 'object' && 'keys' in input && !(input instanceof Uint8Array) ? input : parseRegFile(input, opts.file);
  const warnings: PolicyWarning[] = [];
  const ignored: IgnoredRegEntry[] = [];
  const listener: Partial<Record<Knob, { value: number; entry: RegEntry }>> = {};
  const policy: Partial<Record<Knob, { value: number; entry: RegEntry }>> = {};
  const flags: Partial<WindowsFlags> = {};
  const locations: WindowsRegistryReading['locations'] = {};
  const tls = new Map<TlsVersion, { enabled?: boolean; disabledByDefault?: boolean; entry: RegEntry }>();
  let sawListenerKey = false;
  let sawPolicyKey = false;

  const ignoreKey = (k: RegKey): void => {
    ignored.push({ key: k.path, line: k.line });
  };
  const ignoreValue = (k: RegKey, e: RegEntry): void => {
    ignored.push({ key: k.path, name: e.name, line: e.line });
  };

  for (const k of reg.keys) {
    const path = normalizeKeyPath(k.path);
    if (k.delete) {
      warnings.push(warning('reg-key-deleted', `the file deletes key ${k.path}; ignored`, { ...(reg.file ? { file: reg.file } : {}), line: k.line }));
      continue;
    }
    if (path === RDP_TCP || path === TS_POLICY) {
      const target = path === RDP_TCP ? listener : policy;
      if (path === RDP_TCP) sawListenerKey = true;
      else sawPolicyKey = true;
      for (const e of k.values) {
        const upper = e.name.toUpperCase();
        const knob = KNOBS[upper];
        if (e.value.type === 'delete') {
          warnings.push(warning('reg-value-deleted', `the file deletes ${e.name}; read as absent`, loc(reg, e)));
          continue;
        }
        if (knob) target[knob] = { value: dword(reg, e), entry: e };
        else if (path === RDP_TCP && upper === 'FALLOWSECPROTOCOLNEGOTIATION') {
          flags.allowSecProtocolNegotiation = dword(reg, e);
          locations.allowSecProtocolNegotiation = loc(reg, e);
        } else if (path === RDP_TCP && upper === 'SSLCERTIFICATESHA1HASH') {
          if (e.value.type === 'hex' && e.value.bytes.length === 20) {
            flags.certificate = { kind: 'thumbprint', sha1: e.value.bytes.toString('hex') };
            locations.certificate = loc(reg, e);
          } else {
            warnings.push(warning('reg-bad-thumbprint', 'SSLCertificateSHA1Hash is not 20 bytes of hex; using a generated certificate', loc(reg, e)));
          }
        } else ignoreValue(k, e);
      }
    } else if (path === TS_POLICY_WOW64) {
      warnings.push(
        warning('reg-wow64-policy', `${k.path} is the 32-bit view; the RDP service reads the 64-bit policy key, so it is ignored`, {
          ...(reg.file ? { file: reg.file } : {}),
          line: k.line,
        }),
      );
      ignoreKey(k);
    } else if (path === FIPS || path === LSA) {
      for (const e of k.values) {
        const n = e.name.toUpperCase();
        if ((path === FIPS && n === 'ENABLED') || (path === LSA && n === 'FIPSALGORITHMPOLICY')) {
          if (e.value.type === 'delete') continue;
          flags.fipsAlgorithmPolicy = dword(reg, e) !== 0;
          locations.fipsAlgorithmPolicy = loc(reg, e);
        } else ignoreValue(k, e);
      }
    } else if (path.startsWith(SCHANNEL) && path.endsWith('\\SERVER')) {
      const proto = Object.entries(SCHANNEL_PROTOCOLS).find(([p]) => path === `${SCHANNEL}${p}\\SERVER`);
      if (!proto) {
        ignoreKey(k);
        continue;
      }
      for (const e of k.values) {
        const n = e.name.toUpperCase();
        if (e.value.type === 'delete') continue;
        const cur = tls.get(proto[1]) ?? { entry: e };
        if (n === 'ENABLED') cur.enabled = dword(reg, e) !== 0;
        else if (n === 'DISABLEDBYDEFAULT') cur.disabledByDefault = dword(reg, e) !== 0;
        else {
          ignoreValue(k, e);
          continue;
        }
        tls.set(proto[1], cur);
      }
    } else if (path === CREDSSP) {
      for (const e of k.values) {
        if (e.name.toUpperCase() === 'ALLOWENCRYPTIONORACLE' && e.value.type !== 'delete') {
          const v = dword(reg, e);
          if (v !== 0 && v !== 1 && v !== 2) throw new PolicyError('InvalidValue', `${v} is not one of 0, 1, 2`, loc(reg, e));
          // 0 Force Updated Clients rejects unpatched clients; 1 Mitigated and 2 Vulnerable accept them (KB4295591)
          flags.credssp = { versions: [2, 3, 4, 5, 6], checkNonce: v === 0, allowEncryptionOracle: v };
          locations.credssp = loc(reg, e);
        } else ignoreValue(k, e);
      }
    } else {
      ignoreKey(k);
    }
  }

  if (!sawListenerKey && !sawPolicyKey) {
    throw new PolicyError('MissingKey', `no [${HKLM}\\SYSTEM\\CurrentControlSet\\Control\\Terminal Server\\WinStations\\RDP-Tcp] nor Terminal Services policy key`, reg.file !== undefined ? { file: reg.file } : {});
  }

  const fromGroupPolicy: Knob[] = [];
  const defaults: Record<Knob, { value: number; why: string }> = {
    securityLayer: { value: 1, why: 'Negotiate, the documented default (unattend SecurityLayer)' },
    userAuthentication: { value: 0, why: 'the documented unattend default; Windows 8 / Server 2012 and later enable NLA when Remote Desktop is turned on' },
    minEncryptionLevel: { value: 2, why: 'Client Compatible, the value RDP-Tcp exports carry (the ADMX text says High)' },
  };
  for (const knob of Object.keys(defaults) as Knob[]) {
    const p = policy[knob];
    const l = listener[knob];
    if (p) {
      flags[knob] = p.value;
      locations[knob] = loc(reg, p.entry);
      fromGroupPolicy.push(knob);
      if (l && l.value !== p.value) {
        warnings.push(warning('reg-policy-overrides', `Group Policy ${p.entry.name}=${p.value} overrides RDP-Tcp ${l.entry.name}=${l.value}`, loc(reg, p.entry)));
      }
    } else if (l) {
      flags[knob] = l.value;
      locations[knob] = loc(reg, l.entry);
    } else {
      flags[knob] = defaults[knob].value;
      warnings.push(warning('reg-value-absent', `${knob} absent: assuming ${defaults[knob].value} (${defaults[knob].why})`, reg.file !== undefined ? { file: reg.file } : {}));
    }
  }

  if (tls.size > 0) {
    const versions = new Set<TlsVersion>(WINDOWS_DEFAULT_TLS_VERSIONS);
    for (const [v, st] of tls) {
      // SChannel: Enabled=0 turns the server side off; DisabledByDefault=1 keeps it off unless
      // the application asks for it explicitly, which the RDP listener is assumed not to do
      if (st.enabled === false || st.disabledByDefault === true) versions.delete(v);
      else if (st.enabled === true) versions.add(v);
    }
    flags.tlsVersions = sortTlsVersions(versions);
    const first = [...tls.values()][0];
    if (first) locations.tlsVersions = loc(reg, first.entry);
  }

  return { flags: flags as WindowsFlags, locations, fromGroupPolicy, ignored, warnings, reg };
}

export interface RegPolicyOptions {
  file?: string;
  name?: string;
  /** whether the certificate can be used (default: true unless the export says otherwise) */
  certificateAvailable?: boolean;
  /** the build knows HYBRID_EX (default true; false for Windows 7 / Server 2008 R2) */
  hybridEx?: boolean;
}

/** A normalized Windows policy from a `reg export` of the RDP-Tcp key (and any policy keys in the same file). */
export function policyFromRegExport(input: Uint8Array | string, opts: RegPolicyOptions = {}): WindowsServerPolicy {
  const r = readWindowsRegistry(input, opts.file !== undefined ? { file: opts.file } : {});
  const flags: WindowsFlags = { ...r.flags };
  if (opts.certificateAvailable !== undefined) flags.certificateAvailable = opts.certificateAvailable;
  if (opts.hybridEx !== undefined) flags.hybridEx = opts.hybridEx;
  const ignoredNote =
    r.ignored.length > 0
      ? [warning('reg-ignored', `${r.ignored.length} key(s) or value(s) not used: ${r.ignored.slice(0, 8).map((x) => x.name ?? x.key).join(', ')}${r.ignored.length > 8 ? ', ...' : ''}`, opts.file !== undefined ? { file: opts.file } : {})]
      : [];
  return fromWindowsFlags(flags, {
    name: opts.name ?? opts.file ?? 'registry',
    source: { kind: 'registry', ...(opts.file !== undefined ? { file: opts.file } : {}) },
    locations: r.locations,
    warnings: [...r.warnings, ...ignoredNote],
  });
}
