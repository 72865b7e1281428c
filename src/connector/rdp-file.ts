import { PROTOCOL_NAMES, type ProtocolName } from '../pdu/nego.js';
import { decodeRegText, type RegEncoding } from '../policy/reg-file.js';
import {
  ClientInputError,
  derivedProfile,
  fileLoc,
  type ClientReading,
  type ClientSettingNote,
  type IgnoredClientSetting,
  type ServerAuthentication,
} from './client-reading.js';
import { clientProfile, type ClientProfile } from './client-profiles.js';

/**
 * An `.rdp` connection file (mstsc's "Save As", Microsoft Remote Desktop for macOS's export) read
 * as a client profile: the file modifies a base mstsc profile (mstsc-win10 unless told).
 *
 * Format: one setting a line, `name:type:value`, type `i` (integer), `s` (string) or `b`
 * (hex bytes); names compare case-insensitively (FreeRDP client/common/file.c reads them with
 * _stricmp). mstsc saves UTF-16LE with a BOM and CRLF; other tools write UTF-8: decoded by
 * policy/reg-file.ts decodeRegText (BOM first, then UTF-8, then ANSI).
 *
 * Sources, cited again where used:
 * - [PROPS] Microsoft Learn "Supported RDP properties" (AZ articles/virtual-desktop/rdp-properties.md;
 *   fact sheet section 8 ".rdp file keys" and section 6 ".rdp gateway keys").
 * - [NSL] Microsoft Learn IMsRdpClientNonScriptable3::NegotiateSecurityLayer: "If this property is
 *   set to VARIANT_FALSE and NLA is enabled ... the client will not negotiate the security layer
 *   and instead, it will use NLA".
 * - [FILE] FreeRDP client/common/file.c (code corpus): `enablecredsspsupport` sets NlaSecurity,
 *   `negotiate security layer` sets NegotiateSecurityLayer, `authentication level` sets
 *   AuthenticationLevel.
 * - [MAC] Remote Desktop for macOS release notes, 10.2.x: the file's EnableCredSspSupport and
 *   Authentication Level values are honoured only when the user default
 *   ClientSettings.EnforceCredSSPSupport (domain com.microsoft.rdc.macos) is 0.
 */

/** mstsc files are a few KiB; a megabyte is far beyond any. */
export const MAX_RDP_FILE_BYTES = 1024 * 1024;

export interface RdpSetting {
  /** lower-cased, trimmed */
  name: string;
  type: 'i' | 's' | 'b';
  /** as written; '' for a secret, which is never kept */
  value: string;
  line: number;
  /** 1-based column where the value starts */
  column: number;
}

export interface RdpFileReading extends ClientReading {
  form: 'rdp-file';
  encoding: RegEncoding;
  /** the RD Gateway settings the file carries; recorded, not simulated */
  gateway?: { hostname?: string; usageMethod?: number; profileUsageMethod?: number; credentialsSource?: number; brokeringType?: number };
}

export interface RdpFileOptions {
  file?: string;
  /** an mstsc-family profile name (default mstsc-win10) */
  base?: string;
}

/** A name that holds a secret: its value is neither kept nor echoed in an error. */
function isSecret(name: string): boolean {
  return /password|accesstoken|token/.test(name);
}

/** Split the text into settings; throws ClientInputError (line, column) on a line that is not `name:type:value`. */
export function parseRdpText(text: string, file?: string): RdpSetting[] {
  const out: RdpSetting[] = [];
  const lines = text.replace(/^\uFEFF/, '').split(/\r\n|\n|\r/);
  lines.forEach((raw, i) => {
    const line = i + 1;
    if (raw.trim() === '') return;
    const loc = (column: number, value?: string) => ({ ...fileLoc(file), line, column, ...(value !== undefined ? { value } : {}) });
    const c1 = raw.indexOf(':');
    if (c1 === -1) throw new ClientInputError('Syntax', `expected name:type:value, found no ':'`, loc(raw.length + 1, raw.slice(0, 60)));
    const name = raw.slice(0, c1).trim().toLowerCase();
    if (name === '') throw new ClientInputError('Syntax', 'a setting without a name', loc(1));
    const secret = isSecret(name);
    const c2 = raw.indexOf(':', c1 + 1);
    if (c2 === -1) throw new ClientInputError('Syntax', `expected name:type:value, found no type`, { ...loc(c1 + 2), key: name });
    const type = raw.slice(c1 + 1, c2).trim().toLowerCase();
    if (type !== 'i' && type !== 's' && type !== 'b') {
      throw new ClientInputError('Syntax', `unknown type '${type.slice(0, 8)}' (i, s or b)`, { ...loc(c1 + 2), key: name });
    }
    const value = raw.slice(c2 + 1);
    const column = c2 + 2;
    if (secret) {
      out.push({ name, type, value: '', line, column });
      return;
    }
    if (type === 'i' && !/^\s*-?\d{1,10}\s*$/.test(value)) {
      throw new ClientInputError('InvalidValue', 'not an integer', { ...loc(column, value.slice(0, 60)), key: name });
    }
    if (type === 'i' && !Number.isSafeInteger(Number(value))) {
      throw new ClientInputError('InvalidValue', 'integer out of range', { ...loc(column, value.slice(0, 60)), key: name });
    }
    if (type === 'b' && !/^\s*([0-9a-fA-F]{2})*\s*$/.test(value)) {
      throw new ClientInputError('InvalidValue', 'not hex bytes', { ...loc(column, value.slice(0, 60)), key: name });
    }
    out.push({ name, type, value: type === 's' ? value : value.trim(), line, column });
  });
  return out;
}

/**
 * Settings mstsc writes that have nothing to do with the security negotiation (display,
 * redirection, reconnection): left out, and listed as such rather than as unknown ([PROPS]).
 */
const NOT_SECURITY = new Set([
  'screen mode id', 'use multimon', 'selectedmonitors', 'desktopwidth', 'desktopheight', 'session bpp', 'winposstr',
  'compression', 'keyboardhook', 'audiocapturemode', 'videoplaybackmode', 'connection type', 'networkautodetect',
  'bandwidthautodetect', 'displayconnectionbar', 'enableworkspacereconnect', 'disable wallpaper', 'allow font smoothing',
  'allow desktop composition', 'disable full window drag', 'disable menu anims', 'disable themes', 'disable cursor setting',
  'bitmapcachepersistenable', 'audiomode', 'redirectprinters', 'redirectlocation', 'redirectcomports', 'redirectsmartcards',
  'redirectwebauthn', 'redirectclipboard', 'redirectposdevices', 'redirectdirectx', 'redirectdrives', 'autoreconnection enabled',
  'autoreconnect max retries', 'alternate shell', 'shell working directory', 'drivestoredirect', 'devicestoredirect',
  'camerastoredirect', 'usbdevicestoredirect', 'remoteapplicationmode', 'remoteapplicationname', 'remoteapplicationprogram',
  'remoteapplicationcmdline', 'remoteapplicationexpandcmdline', 'remoteapplicationexpandworkingdir', 'remoteapplicationicon',
  'remoteappmousemoveinject', 'smart sizing', 'dynamic resolution', 'desktopscalefactor', 'hidef color depth',
  'administrative session', 'connect to console', 'use redirection server name', 'loadbalanceinfo', 'disableconnectionsharing',
  'disableremoteappcapscheck', 'allowrelativemousemode', 'armpath', 'authoring tool', 'forcehidpioptimizations',
  'video capture encoding quality', 'geo', 'resourceprovider', 'encode redirected video capture', 'maximizetocurrentdisplays',
  'singlemoninwindowedmode', 'span monitors', 'full address', 'alternate full address', 'server port', 'username', 'domain',
  'kdcproxyname', 'rdgiskdcproxy', 'signscope', 'signature', 'workspace id', 'redirected video capture encoding quality',
]);

const AUTHENTICATION_LEVEL: Record<number, { v: ServerAuthentication; text: string }> = {
  0: { v: 'connect-without-warning', text: 'if the server cannot be authenticated, connect without a warning' },
  1: { v: 'do-not-connect', text: 'if the server cannot be authenticated, do not connect' },
  2: { v: 'warn', text: 'if the server cannot be authenticated, warn and let the user choose' },
  3: { v: 'no-requirement', text: 'no server authentication requirement' },
};

/** Read an .rdp file (bytes as saved, or text) into a profile derived from an mstsc profile. */
export function readRdpFile(input: string | Uint8Array, opts: RdpFileOptions = {}): RdpFileReading {
  const file = opts.file;
  const size = typeof input === 'string' ? input.length : input.byteLength;
  if (size > MAX_RDP_FILE_BYTES) throw new ClientInputError('Encoding', `.rdp file of ${size} bytes is larger than ${MAX_RDP_FILE_BYTES}`, fileLoc(file));
  const { text, encoding } = typeof input === 'string' ? { text: input, encoding: 'utf-8' as RegEncoding } : decodeRegText(input, file);
  const settings = parseRdpText(text, file);
  const base = clientProfile(opts.base ?? 'mstsc-win10');
  if (base.family !== 'mstsc') {
    throw new ClientInputError('InvalidValue', `an .rdp file is read as mstsc reads it: base profile ${base.name} is not an mstsc profile`, fileLoc(file));
  }

  const notes: ClientSettingNote[] = [];
  const ignored: IgnoredClientSetting[] = [];
  const reading: Omit<RdpFileReading, 'profile'> = { form: 'rdp-file', encoding, notes, ignored };
  const note = (s: RdpSetting, effect: string, modelled: boolean): void => {
    notes.push({ setting: s.name, value: s.value, effect, modelled, line: s.line, column: s.column });
  };

  // the last occurrence wins, as in a key/value store; earlier ones are listed as overridden
  const last = new Map<string, RdpSetting>();
  for (const s of settings) {
    const prev = last.get(s.name);
    if (prev) ignored.push({ setting: prev.name, ...(isSecret(prev.name) ? {} : { value: prev.value }), reason: `set again on line ${s.line}`, line: prev.line, column: prev.column });
    last.set(s.name, s);
  }

  let credssp = true;
  let rdsaad = false;
  let restricted = false;
  let address: { host: string; port?: number } | undefined;
  let serverPort: number | undefined;
  const notModelled: string[] = [];
  const unverified: string[] = [];

  for (const s of last.values()) {
    const v = s.type === 'i' ? Number(s.value) : undefined;
    const bad = (range: string): never => {
      throw new ClientInputError('InvalidValue', `must be ${range}`, { ...fileLoc(file), line: s.line, column: s.column, key: s.name, value: s.value });
    };
    const wantInt = (): number => (v === undefined ? bad('an integer (type i)') : v);
    if (isSecret(s.name)) {
      // password 51:b: is the password mstsc saved, DPAPI-encrypted; never read, never kept
      ignored.push({ setting: s.name, reason: 'a saved secret: never read nor kept (pass the password to simulate separately)', line: s.line, column: s.column });
      continue;
    }
    switch (s.name) {
      case 'enablecredsspsupport': {
        // [PROPS]: 0 = RDP will not use CredSSP even if the OS supports it; 1 (default) = use it
        const n = wantInt();
        if (n !== 0 && n !== 1) bad('0 or 1');
        credssp = n === 1;
        note(
          s,
          credssp
            ? 'CredSSP enabled (the default): no change'
            : 'CredSSP off: the request drops HYBRID and HYBRID_EX (only SSL, TLS without NLA), no CredSSP, a HYBRID selection is refused',
          true,
        );
        if (!credssp) unverified.push('enablecredsspsupport:i:0 is modelled as requestedProtocols SSL alone (no CredSSP means neither HYBRID nor HYBRID_EX); no mstsc capture confirms it.');
        break;
      }
      case 'authentication level': {
        // [PROPS], fact sheet section 8: 0 connect without warning, 1 do not connect, 2 warn, 3 no requirement (default)
        const n = wantInt();
        const a = AUTHENTICATION_LEVEL[n] ?? bad('0, 1, 2 or 3');
        reading.serverAuthentication = a.v;
        note(s, `${a.text} (server authentication is recorded for simulate; the in-memory run has no certificate to verify)`, false);
        break;
      }
      case 'negotiate security layer': {
        const n = wantInt();
        if (n !== 0 && n !== 1) bad('0 or 1');
        // [NSL]: 0 = no negotiation, NLA directly (the Direct Approach of MS-RDPBCGR 5.4.2.2);
        // absent from the current [PROPS] list (fact sheet section 8)
        note(
          s,
          n === 1
            ? 'security layer negotiated (the default): no change'
            : 'no negotiation: mstsc goes straight to TLS and CredSSP (Direct Approach) without an RDP_NEG_REQ first; not modelled, the profile keeps the negotiated request',
          n === 1,
        );
        if (n === 0) notModelled.push('negotiate security layer:i:0 (the Direct Approach: TLS and CredSSP before the X.224 exchange) is not reproduced; the profile negotiates.');
        break;
      }
      case 'allowed security protocols': {
        // Windows Desktop client 1.2.4485 release notes; not in [PROPS]; value syntax undocumented
        // beyond '*' (fact sheet section 8)
        if (s.value.trim() === '*') note(s, 'all security protocols (the default): no change', true);
        else {
          note(s, 'limits the protocols the client negotiates; the value syntax is undocumented, so not modelled', false);
          notModelled.push(`allowed security protocols:s:${s.value} (undocumented syntax) is not applied.`);
        }
        break;
      }
      case 'enablerdsaadauth': {
        // [PROPS]: 1 = use Microsoft Entra authentication (RDSAAD, PROTOCOL_RDSAAD 0x10 of MS-RDPBCGR 2.2.1.1.1)
        const n = wantInt();
        if (n !== 0 && n !== 1) bad('0 or 1');
        rdsaad = n === 1;
        note(s, rdsaad ? 'requests RDSAAD as well; the connector has no Entra ID authentication, so a server selecting RDSAAD ends the attempt' : 'RDSAAD not requested (the default)', true);
        if (rdsaad) unverified.push('enablerdsaadauth:i:1 is modelled as the RDSAAD bit added to the request; the exact request mstsc sends is not captured.');
        break;
      }
      case 'restricted administrative mode':
      case 'restrictedadmin': {
        // mstsc /restrictedAdmin: credentials are not sent to the server (MS-RDPBCGR 2.2.1.1.1
        // RESTRICTED_ADMIN_MODE_REQUIRED); the .rdp key name is not in [PROPS]
        const n = wantInt();
        if (n !== 0 && n !== 1) bad('0 or 1');
        restricted = n === 1;
        note(s, restricted ? 'restricted admin: RESTRICTED_ADMIN_MODE_REQUIRED and empty CredSSP credentials' : 'restricted admin off: no change', true);
        if (restricted) unverified.push(`the .rdp key "${s.name}" is not in Microsoft's property list (mstsc has the /restrictedAdmin switch).`);
        break;
      }
      case 'gatewayhostname':
        reading.gateway = { ...reading.gateway, ...(s.value.trim() ? { hostname: s.value.trim() } : {}) };
        note(s, s.value.trim() ? `RD Gateway ${s.value.trim()}: recorded; RD Gateway transports (MS-TSGU) are future work, the simulation connects directly` : 'no RD Gateway', false);
        break;
      case 'gatewayusagemethod': {
        // [PROPS]: 0 never, 1 always, 2 if a direct connection fails, 3 default settings, 4 bypass for local addresses
        const n = wantInt();
        const what = ['do not use an RD Gateway', 'always use the RD Gateway', 'use the RD Gateway if a direct connection fails', 'use the default RD Gateway settings', 'bypass the RD Gateway for local addresses'][n] ?? bad('0 to 4');
        reading.gateway = { ...reading.gateway, usageMethod: n };
        note(s, `${what}; recorded, not simulated (RD Gateway transports are future work)`, false);
        break;
      }
      case 'gatewayprofileusagemethod': {
        const n = wantInt();
        reading.gateway = { ...reading.gateway, profileUsageMethod: n };
        note(s, `${n === 1 ? 'use the gateway settings of this file' : 'use the default gateway profile'}; recorded, not simulated`, false);
        break;
      }
      case 'gatewaycredentialssource': {
        // [PROPS]: 0 NTLM password, 1 smart card, 2 current user, 3 basic, 4 choose later, 5 cookie
        const n = wantInt();
        const what = ['password (NTLM)', 'smart card', 'the logged-on user', 'basic', 'chosen later', 'cookie'][n] ?? bad('0 to 5');
        reading.gateway = { ...reading.gateway, credentialsSource: n };
        note(s, `gateway authentication by ${what}; recorded, not simulated`, false);
        break;
      }
      case 'gatewaybrokeringtype':
        reading.gateway = { ...reading.gateway, brokeringType: wantInt() };
        note(s, 'gateway brokering: recorded, not simulated', false);
        break;
      case 'promptcredentialonce':
      case 'prompt for credentials':
      case 'prompt for credentials on client':
        note(s, 'when the client asks for credentials: user interface only, nothing on the wire changes', false);
        break;
      case 'full address':
        address = parseHostPort(s.value.trim());
        ignored.push({ setting: s.name, value: s.value, reason: 'the server to connect to: kept as the target, not part of the profile', line: s.line, column: s.column });
        break;
      case 'server port': {
        const n = wantInt();
        if (n < 1 || n > 65535) bad('a TCP port');
        serverPort = n;
        ignored.push({ setting: s.name, value: s.value, reason: 'the server port: kept as the target', line: s.line, column: s.column });
        break;
      }
      case 'username': {
        const u = s.value.trim();
        if (u) {
          const bs = u.indexOf('\\');
          if (bs > 0) {
            reading.domain ??= u.slice(0, bs);
            reading.user = u.slice(bs + 1);
          } else reading.user = u;
        }
        note(s, 'the user name: the cookie (mstshash=) and the logon user when simulate is given no other', true);
        break;
      }
      case 'domain':
        if (s.value.trim()) reading.domain = s.value.trim();
        note(s, 'the logon domain', true);
        break;
      default:
        if (s.name.startsWith('gateway')) note(s, 'an RD Gateway setting: recorded, not simulated (RD Gateway transports are future work)', false);
        else ignored.push({ setting: s.name, value: s.value, reason: NOT_SECURITY.has(s.name) ? 'not a security setting' : 'unknown setting', line: s.line, column: s.column });
    }
  }
  // a port in full address wins over server port (mstsc writes both the same)
  if (address) reading.target = { host: address.host, ...((address.port ?? serverPort) !== undefined ? { port: address.port ?? serverPort } : {}) };

  if (reading.gateway?.hostname && reading.gateway.usageMethod !== 0) {
    notModelled.push(`The file connects through the RD Gateway ${reading.gateway.hostname}; RD Gateway transports (MS-TSGU) are future work, the simulation connects directly.`);
  }
  if (restricted && !credssp) {
    notes.push({ setting: 'restricted administrative mode', value: '1', effect: 'restricted admin needs CredSSP, which this file turns off: no effect', modelled: true });
    restricted = false;
  }

  // [MAC]: the macOS client applies these two only when EnforceCredSSPSupport is 0
  if (!credssp || reading.serverAuthentication) {
    unverified.push('Microsoft Remote Desktop for macOS honours enablecredsspsupport and authentication level only when its ClientSettings.EnforceCredSSPSupport default is 0.');
  }

  const profile = applyToProfile(base, { credssp, rdsaad, restricted });
  const name = `${base.name}+rdp${file ? `:${file.replace(/^.*[\\/]/, '')}` : ''}`;
  const changed = notes.filter((n) => n.modelled && !/no change/.test(n.effect)).map((n) => `${n.setting}:${n.value}`);
  const derived = derivedProfile(profile, {
    name,
    description: `${base.description}, with the settings of ${file ?? 'an .rdp file'}${changed.length ? ` (${changed.join(', ')})` : ''}`,
    source: `${file ?? '.rdp file'} read by src/connector/rdp-file.ts (Microsoft "Supported RDP properties"; FreeRDP client/common/file.c)`,
    notModelled,
    unverified,
  });
  return { ...reading, profile: derived };
}

/** The base's attempts and CredSSP changed by the file's security settings. */
function applyToProfile(base: ClientProfile, f: { credssp: boolean; rdsaad: boolean; restricted: boolean }): ClientProfile {
  const p = structuredClone(base);
  p.attempts = p.attempts.map((a) => {
    if (a.requestedProtocols === null) return a;
    let names = a.requestedProtocols.filter((n) => f.credssp || (n !== 'HYBRID' && n !== 'HYBRID_EX'));
    if (f.rdsaad && names.includes('SSL') && !names.includes('RDSAAD')) names = [...names, 'RDSAAD'];
    if (names.length === 0) names = ['RDP'];
    return { ...a, requestedProtocols: sortProtocols(names) };
  });
  if (!f.credssp) {
    delete p.credssp;
    // without CredSSP the client cannot go on with a HYBRID or HYBRID_EX selection
    const can: ProtocolName[] = p.accepts ?? ['RDP', 'SSL', 'HYBRID', 'HYBRID_EX'];
    p.accepts = can.filter((n) => n !== 'HYBRID' && n !== 'HYBRID_EX');
  }
  if (f.restricted) p.restrictedAdmin = true;
  return p;
}

function sortProtocols(names: ProtocolName[]): ProtocolName[] {
  return PROTOCOL_NAMES.filter((n) => names.includes(n));
}

/** `host`, `host:port`, `[v6]:port`; undefined when empty or the port is not one. */
export function parseHostPort(s: string): { host: string; port?: number } | undefined {
  if (!s) return undefined;
  const v6 = /^\[([^\]]+)\](?::(\d{1,5}))?$/.exec(s);
  if (v6) return portOf(v6[1] ?? '', v6[2]);
  const parts = s.split(':');
  if (parts.length === 2) return portOf(parts[0] ?? '', parts[1]);
  return { host: s };
}

function portOf(host: string, port: string | undefined): { host: string; port?: number } | undefined {
  if (!host) return undefined;
  if (port === undefined) return { host };
  const n = Number(port);
  return /^\d{1,5}$/.test(port) && n >= 1 && n <= 65535 ? { host, port: n } : { host };
}
