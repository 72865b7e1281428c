import { ReadCursor, WriteCursor } from './cursor.js';
import { DecodeError, EncodeError } from './errors.js';

/**
 * Client Info PDU data (MS-RDPBCGR 2.2.1.11): TS_INFO_PACKET (2.2.1.11.1.1) with its optional
 * TS_EXTENDED_INFO_PACKET (2.2.1.11.1.1.1) and TS_TIME_ZONE_INFORMATION (2.2.1.11.1.1.1.1).
 * The security header in front of it (always present under Standard RDP Security, with
 * SEC_INFO_PKT) belongs to the caller (security-header.ts). Integers are little-endian.
 *
 * Strings of TS_INFO_PACKET: UTF-16LE when INFO_UNICODE is set, else 8-bit in CodePage (read
 * here as latin1); each cb* length EXCLUDES the mandatory null terminator that follows the
 * characters (2 bytes in Unicode, 1 otherwise). In TS_EXTENDED_INFO_PACKET the address and
 * directory are always UTF-16LE and their cb* lengths INCLUDE the terminator.
 */

const INFO = 'TS_INFO_PACKET';
const EXT = 'TS_EXTENDED_INFO_PACKET';
const TZ = 'TS_TIME_ZONE_INFORMATION';

/** TS_INFO_PACKET.flags (MS-RDPBCGR 2.2.1.11.1.1). */
export const INFO_MOUSE = 0x00000001;
export const INFO_DISABLECTRLALTDEL = 0x00000002;
export const INFO_AUTOLOGON = 0x00000008;
export const INFO_UNICODE = 0x00000010;
export const INFO_MAXIMIZESHELL = 0x00000020;
export const INFO_LOGONNOTIFY = 0x00000040;
export const INFO_COMPRESSION = 0x00000080;
export const INFO_ENABLEWINDOWSKEY = 0x00000100;
export const INFO_REMOTECONSOLEAUDIO = 0x00002000;
export const INFO_FORCE_ENCRYPTED_CS_PDU = 0x00004000;
export const INFO_RAIL = 0x00008000;
export const INFO_LOGONERRORS = 0x00010000;
export const INFO_MOUSE_HAS_WHEEL = 0x00020000;
export const INFO_PASSWORD_IS_SC_PIN = 0x00040000;
export const INFO_NOAUDIOPLAYBACK = 0x00080000;
export const INFO_USING_SAVED_CREDS = 0x00100000;
export const INFO_AUDIOCAPTURE = 0x00200000;
export const INFO_VIDEO_DISABLE = 0x00400000;
export const INFO_RESERVED1 = 0x00800000;
export const INFO_RESERVED2 = 0x01000000;
export const INFO_HIDEF_RAIL_SUPPORTED = 0x02000000;
/** CompressionTypeMask: the bulk compression type (PACKET_COMPR_TYPE_*) in bits 9..12. */
export const INFO_COMPRESSION_TYPE_MASK = 0x00001e00;

export const INFO_FLAG_NAMES: Readonly<Record<number, string>> = Object.freeze({
  [INFO_MOUSE]: 'INFO_MOUSE',
  [INFO_DISABLECTRLALTDEL]: 'INFO_DISABLECTRLALTDEL',
  [INFO_AUTOLOGON]: 'INFO_AUTOLOGON',
  [INFO_UNICODE]: 'INFO_UNICODE',
  [INFO_MAXIMIZESHELL]: 'INFO_MAXIMIZESHELL',
  [INFO_LOGONNOTIFY]: 'INFO_LOGONNOTIFY',
  [INFO_COMPRESSION]: 'INFO_COMPRESSION',
  [INFO_ENABLEWINDOWSKEY]: 'INFO_ENABLEWINDOWSKEY',
  [INFO_REMOTECONSOLEAUDIO]: 'INFO_REMOTECONSOLEAUDIO',
  [INFO_FORCE_ENCRYPTED_CS_PDU]: 'INFO_FORCE_ENCRYPTED_CS_PDU',
  [INFO_RAIL]: 'INFO_RAIL',
  [INFO_LOGONERRORS]: 'INFO_LOGONERRORS',
  [INFO_MOUSE_HAS_WHEEL]: 'INFO_MOUSE_HAS_WHEEL',
  [INFO_PASSWORD_IS_SC_PIN]: 'INFO_PASSWORD_IS_SC_PIN',
  [INFO_NOAUDIOPLAYBACK]: 'INFO_NOAUDIOPLAYBACK',
  [INFO_USING_SAVED_CREDS]: 'INFO_USING_SAVED_CREDS',
  [INFO_AUDIOCAPTURE]: 'INFO_AUDIOCAPTURE',
  [INFO_VIDEO_DISABLE]: 'INFO_VIDEO_DISABLE',
  [INFO_RESERVED1]: 'INFO_RESERVED1',
  [INFO_RESERVED2]: 'INFO_RESERVED2',
  [INFO_HIDEF_RAIL_SUPPORTED]: 'INFO_HIDEF_RAIL_SUPPORTED',
});

/** Names of the flag bits set (the compression type bits are left to infoCompressionType). */
export function infoFlagNames(flags: number): string[] {
  const out: string[] = [];
  for (let i = 0; i < 32; i++) {
    const bit = 2 ** i;
    if ((flags >>> 0) & bit && !(bit & INFO_COMPRESSION_TYPE_MASK)) out.push(INFO_FLAG_NAMES[bit] ?? `0x${bit.toString(16).padStart(8, '0')}`);
  }
  return out;
}

/** PACKET_COMPR_TYPE_8K (0), _64K (1), _RDP6 (2), _RDP61 (3) from TS_INFO_PACKET.flags. */
export function infoCompressionType(flags: number): number {
  return ((flags >>> 0) & INFO_COMPRESSION_TYPE_MASK) >>> 9;
}

/** clientAddressFamily (MS-RDPBCGR 2.2.1.11.1.1.1). */
export const AF_INET = 0x0002;
export const AF_INET6 = 0x0017;

/** performanceFlags (MS-RDPBCGR 2.2.1.11.1.1.1). */
export const PERF_DISABLE_WALLPAPER = 0x00000001;
export const PERF_DISABLE_FULLWINDOWDRAG = 0x00000002;
export const PERF_DISABLE_MENUANIMATIONS = 0x00000004;
export const PERF_DISABLE_THEMING = 0x00000008;
export const PERF_RESERVED1 = 0x00000010;
export const PERF_DISABLE_CURSOR_SHADOW = 0x00000020;
export const PERF_DISABLE_CURSORSETTINGS = 0x00000040;
export const PERF_ENABLE_FONT_SMOOTHING = 0x00000080;
export const PERF_ENABLE_DESKTOP_COMPOSITION = 0x00000100;
export const PERF_RESERVED2 = 0x80000000;

/** TS_SYSTEMTIME (MS-RDPBCGR 2.2.1.11.1.1.1.1.1): eight u16le. */
export interface SystemTime {
  wYear: number;
  wMonth: number;
  wDayOfWeek: number;
  wDay: number;
  wHour: number;
  wMinute: number;
  wSecond: number;
  wMilliseconds: number;
}
const SYSTEMTIME_FIELDS = ['wYear', 'wMonth', 'wDayOfWeek', 'wDay', 'wHour', 'wMinute', 'wSecond', 'wMilliseconds'] as const satisfies readonly (keyof SystemTime)[];

/**
 * TS_TIME_ZONE_INFORMATION (MS-RDPBCGR 2.2.1.11.1.1.1.1), 172 bytes. Biases are signed
 * minutes. The names are 64-byte UTF-16LE fields, read up to the first null character and
 * written back zero-padded (real clients zero-pad, so their bytes round-trip).
 */
export interface TimeZoneInformation {
  bias: number;
  standardName: string;
  standardDate: SystemTime;
  standardBias: number;
  daylightName: string;
  daylightDate: SystemTime;
  daylightBias: number;
}
export const TIME_ZONE_INFORMATION_SIZE = 172;
const TZ_NAME_SIZE = 64;

function readSystemTime(r: ReadCursor, field: string): SystemTime {
  const out = {} as SystemTime;
  for (const name of SYSTEMTIME_FIELDS) out[name] = r.u16le(TZ, `${field}.${name}`);
  return out;
}

function readTzName(r: ReadCursor, field: string): string {
  const s = Buffer.from(r.bytes(TZ_NAME_SIZE, TZ, field)).toString('utf16le');
  const nul = s.indexOf('\0');
  return nul < 0 ? s : s.slice(0, nul);
}

export function decodeTimeZoneInformation(r: ReadCursor): TimeZoneInformation {
  r.ensure(TIME_ZONE_INFORMATION_SIZE, TZ, 'bias');
  return {
    bias: r.u32le(TZ, 'bias') | 0,
    standardName: readTzName(r, 'standardName'),
    standardDate: readSystemTime(r, 'standardDate'),
    standardBias: r.u32le(TZ, 'standardBias') | 0,
    daylightName: readTzName(r, 'daylightName'),
    daylightDate: readSystemTime(r, 'daylightDate'),
    daylightBias: r.u32le(TZ, 'daylightBias') | 0,
  };
}

function writeTzName(w: WriteCursor, s: string, field: string): void {
  const b = Buffer.from(s, 'utf16le');
  if (b.length > TZ_NAME_SIZE) throw new EncodeError(TZ, field, `"${s}" exceeds 32 UTF-16 code units`);
  w.bytes(b).zeros(TZ_NAME_SIZE - b.length);
}

export function encodeTimeZoneInformation(v: TimeZoneInformation, w: WriteCursor): void {
  w.u32le(v.bias); // Bias (signed)
  writeTzName(w, v.standardName, 'standardName');
  for (const name of SYSTEMTIME_FIELDS) w.u16le(v.standardDate[name]);
  w.u32le(v.standardBias);
  writeTzName(w, v.daylightName, 'daylightName');
  for (const name of SYSTEMTIME_FIELDS) w.u16le(v.daylightDate[name]);
  w.u32le(v.daylightBias);
}

/**
 * TS_EXTENDED_INFO_PACKET (MS-RDPBCGR 2.2.1.11.1.1.1). Everything after clientDir is optional,
 * but in order: each field is present only when all before it are (the encoder refuses a gap).
 */
export interface ExtendedInfoPacket {
  /** AF_INET or AF_INET6 */
  clientAddressFamily: number;
  clientAddress: string;
  clientDir: string;
  clientTimeZone?: TimeZoneInformation;
  clientSessionId?: number;
  /** PERF_* */
  performanceFlags?: number;
  /** the ARC_CS_PRIVATE_PACKET (28 bytes; at most 128) or empty when cbAutoReconnectCookie is 0 */
  autoReconnectCookie?: Uint8Array;
  reserved1?: number;
  reserved2?: number;
  dynamicDSTTimeZoneKeyName?: string;
  dynamicDaylightTimeDisabled?: number;
}

/** TS_INFO_PACKET (MS-RDPBCGR 2.2.1.11.1.1). */
export interface InfoPacket {
  /** ANSI code page (or active input locale identifier when INFO_UNICODE is set) */
  codePage: number;
  /** INFO_* flags, the compression type bits included */
  flags: number;
  domain: string;
  userName: string;
  password: string;
  alternateShell: string;
  workingDir: string;
  /** absent for RDP 4.0 clients */
  extraInfo?: ExtendedInfoPacket;
}

/** cbAutoReconnectCookie limit (MS-RDPBCGR 2.2.5.1.1 ERRINFO_SECURITYDATATOOSHORT16: 128 bytes); ARC_CS_PRIVATE_PACKET is 28. */
const ARC_COOKIE_MAX = 128;

function readInfoString(r: ReadCursor, cb: number, unicode: boolean, field: string): string {
  if (unicode && cb % 2 !== 0) throw new DecodeError('InvalidField', INFO, `cb${field}`, r.at, `odd length ${cb} for a Unicode string`);
  const nul = unicode ? 2 : 1;
  r.ensure(cb + nul, INFO, field);
  const chars = r.bytes(cb, INFO, field);
  const at = r.at;
  if (r.bytes(nul, INFO, field).some((b) => b !== 0)) throw new DecodeError('InvalidField', INFO, field, at, 'missing null terminator');
  return Buffer.from(chars).toString(unicode ? 'utf16le' : 'latin1');
}

/** A UTF-16LE string whose length (cb) includes its terminator; cb 0 reads as ''. */
function readExtString(r: ReadCursor, cbField: string, field: string): string {
  const at = r.at;
  const cb = r.u16le(EXT, cbField);
  if (cb === 0) return '';
  if (cb % 2 !== 0) throw new DecodeError('InvalidField', EXT, cbField, at, `odd length ${cb} for a Unicode string`);
  const b = r.bytes(cb, EXT, field);
  if (b[cb - 1] !== 0 || b[cb - 2] !== 0) throw new DecodeError('InvalidField', EXT, field, at + 2, 'missing null terminator');
  return Buffer.from(b.subarray(0, cb - 2)).toString('utf16le');
}

function cursorOf(input: ReadCursor | Uint8Array): { r: ReadCursor; whole: boolean } {
  return input instanceof ReadCursor ? { r: input, whole: false } : { r: new ReadCursor(input), whole: true };
}

function decodeExtendedInfo(r: ReadCursor): ExtendedInfoPacket {
  const v: ExtendedInfoPacket = {
    clientAddressFamily: r.u16le(EXT, 'clientAddressFamily'),
    clientAddress: readExtString(r, 'cbClientAddress', 'clientAddress'),
    clientDir: readExtString(r, 'cbClientDir', 'clientDir'),
  };
  if (r.isEmpty()) return v;
  v.clientTimeZone = decodeTimeZoneInformation(r);
  if (r.isEmpty()) return v;
  v.clientSessionId = r.u32le(EXT, 'clientSessionId');
  if (r.isEmpty()) return v;
  v.performanceFlags = r.u32le(EXT, 'performanceFlags');
  if (r.isEmpty()) return v;
  const at = r.at;
  const cb = r.u16le(EXT, 'cbAutoReconnectCookie');
  if (cb > ARC_COOKIE_MAX) throw new DecodeError('InvalidField', EXT, 'cbAutoReconnectCookie', at, `${cb} exceeds 128`);
  v.autoReconnectCookie = r.bytes(cb, EXT, 'autoReconnectCookie');
  if (r.isEmpty()) return v;
  v.reserved1 = r.u16le(EXT, 'reserved1');
  v.reserved2 = r.u16le(EXT, 'reserved2');
  if (r.isEmpty()) return v;
  v.dynamicDSTTimeZoneKeyName = readExtString(r, 'cbDynamicDSTTimeZoneKeyName', 'dynamicDSTTimeZoneKeyName');
  v.dynamicDaylightTimeDisabled = r.u16le(EXT, 'dynamicDaylightTimeDisabled');
  return v;
}

/**
 * Decode TS_INFO_PACKET. The packet has no length of its own: from a Uint8Array it fills the
 * input (trailing bytes are an error); from a ReadCursor it extends to the cursor's end.
 */
export function decodeInfoPacket(input: ReadCursor | Uint8Array): InfoPacket {
  const { r } = cursorOf(input);
  const codePage = r.u32le(INFO, 'CodePage');
  const flags = r.u32le(INFO, 'flags');
  const unicode = (flags & INFO_UNICODE) !== 0;
  const cb = ['Domain', 'UserName', 'Password', 'AlternateShell', 'WorkingDir'].map((f) => r.u16le(INFO, `cb${f}`));
  const v: InfoPacket = {
    codePage,
    flags,
    domain: readInfoString(r, cb[0]!, unicode, 'Domain'),
    userName: readInfoString(r, cb[1]!, unicode, 'UserName'),
    password: readInfoString(r, cb[2]!, unicode, 'Password'),
    alternateShell: readInfoString(r, cb[3]!, unicode, 'AlternateShell'),
    workingDir: readInfoString(r, cb[4]!, unicode, 'WorkingDir'),
  };
  if (!r.isEmpty()) v.extraInfo = decodeExtendedInfo(r);
  r.expectEnd(INFO);
  return v;
}

function infoString(s: string, unicode: boolean, field: string): Buffer {
  const b = Buffer.from(s, unicode ? 'utf16le' : 'latin1');
  if (b.length > 0xffff - 2) throw new EncodeError(INFO, field, `${b.length} bytes do not fit cb${field}`);
  return b;
}

function writeExtString(w: WriteCursor, s: string, field: string): void {
  const b = Buffer.from(s + '\0', 'utf16le');
  if (b.length > 0xffff) throw new EncodeError(EXT, field, `${b.length} bytes do not fit its 16-bit length`);
  w.u16le(b.length); // cb, terminator included
  w.bytes(b);
}

function encodeExtendedInfo(v: ExtendedInfoPacket, w: WriteCursor): void {
  w.u16le(v.clientAddressFamily);
  writeExtString(w, v.clientAddress, 'clientAddress');
  writeExtString(w, v.clientDir, 'clientDir');
  const optional = [
    v.clientTimeZone,
    v.clientSessionId,
    v.performanceFlags,
    v.autoReconnectCookie,
    v.reserved1 ?? v.reserved2,
    v.dynamicDSTTimeZoneKeyName ?? v.dynamicDaylightTimeDisabled,
  ];
  const count = optional.findIndex((x) => x === undefined);
  const present = count < 0 ? optional.length : count;
  if (optional.slice(present).some((x) => x !== undefined)) {
    throw new EncodeError(EXT, 'optional fields', 'an optional field is set while one before it is not');
  }
  if (present > 0) encodeTimeZoneInformation(v.clientTimeZone!, w);
  if (present > 1) w.u32le(v.clientSessionId!);
  if (present > 2) w.u32le(v.performanceFlags!);
  if (present > 3) {
    if (v.autoReconnectCookie!.length > ARC_COOKIE_MAX) throw new EncodeError(EXT, 'autoReconnectCookie', 'exceeds 128 bytes');
    w.u16le(v.autoReconnectCookie!.length).bytes(v.autoReconnectCookie!);
  }
  if (present > 4) w.u16le(v.reserved1 ?? 0).u16le(v.reserved2 ?? 0);
  if (present > 5) {
    writeExtString(w, v.dynamicDSTTimeZoneKeyName ?? '', 'dynamicDSTTimeZoneKeyName');
    w.u16le(v.dynamicDaylightTimeDisabled ?? 0);
  }
}

export function encodeInfoPacket(v: InfoPacket, w: WriteCursor): void {
  const unicode = (v.flags & INFO_UNICODE) !== 0;
  const fields = [
    ['Domain', v.domain],
    ['UserName', v.userName],
    ['Password', v.password],
    ['AlternateShell', v.alternateShell],
    ['WorkingDir', v.workingDir],
  ] as const;
  const strings = fields.map(([name, s]) => infoString(s, unicode, name));
  w.u32le(v.codePage); // CodePage
  w.u32le(v.flags); // flags
  for (const s of strings) w.u16le(s.length); // cbDomain .. cbWorkingDir, terminators excluded
  for (const s of strings) w.bytes(s).zeros(unicode ? 2 : 1); // the strings and their terminators
  if (v.extraInfo) encodeExtendedInfo(v.extraInfo, w);
}
