import { NEG_RSP_FLAGS, type ProtocolName } from '../pdu/nego.js';
import { PolicyError, warning, type PolicyLocation, type PolicyWarning } from './errors.js';
import {
  sortTlsVersions,
  tlsRange,
  type EncryptionLevelName,
  type EncryptionMethodName,
  type PolicySource,
  type TlsVersion,
  type XrdpServerPolicy,
  type XrdpSettings,
} from './server-policy.js';

/**
 * An xrdp server's policy from its xrdp.ini, read the way xrdp 0.9 reads it:
 *
 * - common/file.c: a line is cut at the first '#' or ';' anywhere on it (so comments may
 *   follow a value); a line holding '[' and later ']' is a section header (the text between the
 *   last '[' and the ']'); section names compare case-insensitively and only the first
 *   [Globals] is read; "name=value" splits at the first '=' and both sides are trimmed; a value
 *   starting with '$' is replaced by that environment variable (empty when unset); lines over
 *   2048 bytes stop the reading.
 * - libxrdp/xrdp_rdp.c xrdp_rdp_read_config: keys compare case-insensitively and a later line
 *   overrides an earlier one; security_layer rdp|tls|hybrid|negotiate, anything else means
 *   negotiate with a warning; crypt_level none|low|medium|high|fips, anything else means high
 *   with a warning; certificate and key_file: empty or not absolute means
 *   <config dir>/cert.pem and key.pem; ssl_protocols: the names SSLv3, TLSv1, TLSv1.1,
 *   TLSv1.2, TLSv1.3 found between commas or spaces (case-sensitive, common/ssl_calls.c
 *   ssl_get_protocols_from_string), unknown names ignored; tls_ciphers: an OpenSSL cipher string.
 */

export interface IniEntry {
  /** as written (trimmed) */
  key: string;
  value: string;
  line: number;
}

export interface IniSection {
  name: string;
  line: number;
  entries: IniEntry[];
}

/** xrdp's FILE_MAX_LINE_BYTES */
export const XRDP_MAX_LINE_BYTES = 2048;

/**
 * common/file.c line_lookup_for_section_name: a '[' (the last one seen) followed later by ']'
 * makes the line a section header, wherever they are on the line.
 */
function sectionHeader(text: string): { name: string; open: number } | null {
  let start = -1;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (c === '[') start = i + 1;
    else if (c === ']' && start > 0) return { name: text.slice(start, i), open: start - 1 };
  }
  return null;
}

/** Split an xrdp ini file into sections as common/file.c does (comments cut, entries trimmed). */
export function parseXrdpIniSections(text: string, opts: { file?: string; env?: Record<string, string | undefined> } = {}): { sections: IniSection[]; warnings: PolicyWarning[] } {
  const sections: IniSection[] = [];
  const warnings: PolicyWarning[] = [];
  const at = (line: number, extra: Partial<PolicyLocation> = {}): PolicyLocation => ({ ...(opts.file !== undefined ? { file: opts.file } : {}), line, ...extra });
  let current: IniSection | undefined;
  const lines = text.replace(/^\uFEFF/, '').split(/\r\n|\n|\r/);
  for (let i = 0; i < lines.length; i++) {
    const raw = lines[i] ?? '';
    const lineNo = i + 1;
    const cut = raw.search(/[#;]/);
    const content = cut >= 0 ? raw.slice(0, cut) : raw;
    // file_read_ini_line fails once the text before any comment fills its 2048-byte buffer
    if (Buffer.byteLength(content) >= XRDP_MAX_LINE_BYTES) {
      warnings.push(warning('xrdp-line-too-long', `line of ${Buffer.byteLength(content)} bytes: xrdp stops reading the file here`, at(lineNo)));
      break;
    }
    const text = content.trim();
    if (text === '') continue;
    const header = sectionHeader(text);
    if (header) {
      const { name, open } = header;
      if (text.includes('=') && open > text.indexOf('=')) {
        warnings.push(warning('xrdp-bracket-value', `xrdp reads this line as a section header [${name}]`, at(lineNo, { value: text })));
      }
      current = { name, line: lineNo, entries: [] };
      sections.push(current);
      continue;
    }
    if (!current) continue;
    const eq = text.indexOf('=');
    const key = (eq >= 0 ? text.slice(0, eq) : text).trim();
    let value = eq >= 0 ? text.slice(eq + 1).trim() : '';
    if (value.startsWith('$')) {
      const name = value.slice(1);
      const env = opts.env?.[name];
      if (env === undefined) warnings.push(warning('xrdp-env-unset', `$${name} is not set: the value is empty`, at(lineNo, { key, value })));
      value = env ?? '';
    }
    current.entries.push({ key, value, line: lineNo });
  }
  return { sections, warnings };
}

/** The raw values of the security-related [Globals] keys (strings as written), with where each was read. */
export interface XrdpIniValues {
  security_layer?: string;
  crypt_level?: string;
  ssl_protocols?: string;
  tls_ciphers?: string;
  certificate?: string;
  key_file?: string;
}
type XrdpKey = keyof XrdpIniValues;
const XRDP_KEYS: readonly XrdpKey[] = ['security_layer', 'crypt_level', 'ssl_protocols', 'tls_ciphers', 'certificate', 'key_file'];

export interface XrdpPolicyOptions {
  file?: string;
  name?: string;
  source?: PolicySource;
  /** xrdp's XRDP_CFG_PATH, where the default cert.pem and key.pem live (Debian: /etc/xrdp) */
  configDir?: string;
  /** for `$VAR` values; default: none set */
  env?: Record<string, string | undefined>;
  /** whether a file can be read (xrdp's g_file_readable); default: every file is assumed readable */
  fileReadable?: (path: string) => boolean;
  /** turn what xrdp only warns about (unknown crypt_level, security_layer, protocol names) into PolicyError */
  strict?: boolean;
  locations?: Partial<Record<XrdpKey, PolicyLocation>>;
  warnings?: PolicyWarning[];
}

const SSL_PROTOCOL_NAMES: readonly TlsVersion[] = ['SSLv3', 'TLSv1', 'TLSv1.1', 'TLSv1.2', 'TLSv1.3'];

/** crypt_level -> TS_UD_SC_SEC1 level and the one method xrdp uses (libxrdp/xrdp_sec.c; fact sheet section 8 table) */
export const XRDP_CRYPT_LEVELS: Readonly<Record<XrdpSettings['cryptLevel'], { level: EncryptionLevelName; method: EncryptionMethodName }>> = {
  none: { level: 'NONE', method: 'NONE' },
  low: { level: 'LOW', method: '40BIT' },
  medium: { level: 'CLIENT_COMPATIBLE', method: '40BIT' },
  high: { level: 'HIGH', method: '128BIT' },
  fips: { level: 'FIPS', method: 'FIPS' },
};

/** A normalized xrdp policy from the [Globals] values (the ini parser and the presets both end here). */
export function fromXrdpSettings(values: XrdpIniValues, opts: XrdpPolicyOptions = {}): XrdpServerPolicy {
  const warnings: PolicyWarning[] = [...(opts.warnings ?? [])];
  const configDir = (opts.configDir ?? '/etc/xrdp').replace(/\/+$/, '');
  const at = (k: XrdpKey, value?: string): PolicyLocation => ({ ...(opts.locations?.[k] ?? {}), key: k, ...(value !== undefined ? { value } : {}) });
  const fallback = (k: XrdpKey, code: string, message: string, value: string): void => {
    if (opts.strict) throw new PolicyError('UnknownValue', message, at(k, value));
    warnings.push(warning(code, message, at(k, value)));
  };

  let securityLayer: XrdpSettings['securityLayer'] = 'negotiate';
  if (values.security_layer !== undefined) {
    const v = values.security_layer.toLowerCase();
    if (v === 'rdp' || v === 'tls' || v === 'hybrid' || v === 'negotiate') securityLayer = v;
    else fallback('security_layer', 'xrdp-unknown-security-layer', `security_layer=${values.security_layer} is not recognized, xrdp uses negotiate`, values.security_layer);
    if (v === 'hybrid') warnings.push(warning('xrdp-hybrid-layer', 'security_layer=hybrid is undocumented and behaves as negotiate (xrdp has no CredSSP)', at('security_layer', values.security_layer)));
  }

  let cryptLevel: XrdpSettings['cryptLevel'] = 'high';
  if (values.crypt_level !== undefined) {
    const v = values.crypt_level.toLowerCase();
    if (v === 'none' || v === 'low' || v === 'medium' || v === 'high' || v === 'fips') cryptLevel = v;
    else fallback('crypt_level', 'xrdp-unknown-crypt-level', `crypt_level=${values.crypt_level} is undefined, xrdp uses high`, values.crypt_level);
  }

  let sslProtocols: TlsVersion[];
  if (values.ssl_protocols === undefined) {
    // the shipped xrdp.ini sets "TLSv1.2, TLSv1.3"; without the key OpenSSL's defaults apply
    // (Debian's openssl.cnf: MinProtocol = TLSv1.2), which is the same set on Debian 12
    sslProtocols = ['TLSv1.2', 'TLSv1.3'];
  } else {
    const names = values.ssl_protocols.split(/[,\s]+/).filter((s) => s !== '');
    const known = names.filter((n): n is TlsVersion => (SSL_PROTOCOL_NAMES as readonly string[]).includes(n));
    const unknown = names.filter((n) => !(SSL_PROTOCOL_NAMES as readonly string[]).includes(n));
    if (unknown.length) fallback('ssl_protocols', 'xrdp-unknown-ssl-protocol', `ssl_protocols: ${unknown.join(', ')} not understood (names are case-sensitive); ignored`, values.ssl_protocols);
    sslProtocols = sortTlsVersions(known);
    if (sslProtocols.length === 0) {
      warnings.push(warning('tls-no-version', 'no SSL/TLS protocol enabled: xrdp cannot accept TLS connections', at('ssl_protocols', values.ssl_protocols)));
    }
  }

  const path = (k: 'certificate' | 'key_file', dflt: string): string => {
    const v = values[k];
    if (v === undefined || v === '') return `${configDir}/${dflt}`;
    if (!v.startsWith('/')) {
      warnings.push(warning('xrdp-relative-path', `${k} should be an absolute path; xrdp uses ${configDir}/${dflt}`, at(k, v)));
      return `${configDir}/${dflt}`;
    }
    return v;
  };
  const certificate = path('certificate', 'cert.pem');
  const keyFile = path('key_file', 'key.pem');
  const readable = opts.fileReadable ?? (() => true);
  const certificateAvailable = readable(certificate) && readable(keyFile);
  if (!certificateAvailable && securityLayer !== 'rdp') {
    warnings.push(warning('xrdp-no-certificate', `${certificate} or ${keyFile} is not readable: ${securityLayer === 'tls' ? 'TLS requests fail with SSL_CERT_NOT_ON_SERVER' : 'xrdp falls back to Standard RDP Security'}`, at('certificate', certificate)));
  }

  const range = tlsRange(sslProtocols);
  if (range.hasHole) {
    warnings.push(warning('tls-version-hole', `ssl_protocols ${sslProtocols.join(', ')} has a hole; only ${range.minVersion}..${range.maxVersion} can be offered`, at('ssl_protocols', values.ssl_protocols)));
  }
  if (sslProtocols.includes('SSLv3')) warnings.push(warning('tls-sslv3', 'SSLv3 is enabled; Node cannot offer it', at('ssl_protocols', values.ssl_protocols)));

  const settings: XrdpSettings = {
    securityLayer,
    cryptLevel,
    sslProtocols,
    tlsCiphers: values.tls_ciphers !== undefined && values.tls_ciphers !== '' ? values.tls_ciphers : null,
    certificate,
    keyFile,
  };
  const crypt = XRDP_CRYPT_LEVELS[cryptLevel];
  const offered: ProtocolName[] =
    securityLayer === 'rdp' ? ['RDP'] : securityLayer === 'tls' ? (certificateAvailable ? ['SSL'] : []) : certificateAvailable ? ['SSL', 'RDP'] : ['RDP'];

  return {
    flavor: 'xrdp',
    name: opts.name ?? opts.file ?? 'xrdp',
    xrdp: settings,
    protocols: { offered, required: securityLayer === 'tls' ? 'SSL' : null },
    standardSecurity: {
      encryptionLevel: crypt.level,
      methodRule: 'fixed',
      fixedMethod: crypt.method,
      whenClientLacksMethod: 'impose',
      honoursExtEncryptionMethods: false,
      // the xrdp we emulate is Debian 12's 0.9.21.1-1+deb12u3 (see StandardSecurityPolicy.saltedMac)
      saltedMac: 'rejected',
    },
    tls: {
      versions: sslProtocols,
      minVersion: range.minVersion,
      maxVersion: range.maxVersion,
      ciphers: settings.tlsCiphers,
      certificate: { kind: 'files', certFile: certificate, keyFile },
      certificateAvailable,
    },
    nla: { supported: false, required: false },
    // xrdp 0.9 hard-codes EXTENDED_CLIENT_DATA_SUPPORTED (xrdp_iso_send_cc; flags 1 in the captures)
    negRspFlags: NEG_RSP_FLAGS.EXTENDED_CLIENT_DATA_SUPPORTED,
    source: opts.source ?? { kind: 'xrdp-settings' },
    warnings,
  };
}

/** Read xrdp.ini text (or bytes, UTF-8) into a normalized policy; throws PolicyError when there is no [Globals]. */
export function policyFromXrdpIni(input: string | Uint8Array, opts: XrdpPolicyOptions = {}): XrdpServerPolicy {
  const text = typeof input === 'string' ? input : Buffer.from(input.buffer, input.byteOffset, input.byteLength).toString('utf8');
  const parsed = parseXrdpIniSections(text, { ...(opts.file !== undefined ? { file: opts.file } : {}), ...(opts.env ? { env: opts.env } : {}) });
  const globals = parsed.sections.find((s) => s.name.toLowerCase() === 'globals');
  if (!globals) throw new PolicyError('MissingKey', 'no [Globals] section', opts.file !== undefined ? { file: opts.file } : {});
  const values: XrdpIniValues = {};
  const locations: Partial<Record<XrdpKey, PolicyLocation>> = {};
  const extra: PolicyWarning[] = [];
  const fileLoc = opts.file !== undefined ? { file: opts.file } : {};
  for (const e of globals.entries) {
    const k = XRDP_KEYS.find((x) => x === e.key.toLowerCase());
    if (!k) continue;
    const before = locations[k];
    if (before) {
      // xrdp_rdp_read_config applies the lines in order: the last one wins
      extra.push(warning('xrdp-duplicate-key', `${k} set again (first at line ${before.line}); the last value wins`, { ...fileLoc, line: e.line, key: e.key, value: e.value }));
    }
    values[k] = e.value;
    locations[k] = { ...fileLoc, line: e.line };
  }
  const more = parsed.sections.filter((s) => s !== globals && s.name.toLowerCase() === 'globals');
  for (const s of more) extra.push(warning('xrdp-second-globals', `another [${s.name}] section: xrdp reads only the first one`, { ...fileLoc, line: s.line }));
  return fromXrdpSettings(values, {
    ...opts,
    source: opts.source ?? { kind: 'xrdp-ini', ...(opts.file !== undefined ? { file: opts.file } : {}) },
    locations,
    warnings: [...(opts.warnings ?? []), ...parsed.warnings, ...extra],
  });
}
