import { ReadCursor, WriteCursor } from './cursor.js';
import { DecodeError, EncodeError } from './errors.js';

/**
 * What the three NTLM messages (MS-NLMP 2.2.1) share: the signature and MessageType, the
 * NegotiateFlags, the VERSION structure, the 8-byte "fields" entries (Len (2), MaxLen (2),
 * BufferOffset (4) from the start of the message) that point into the payload, and the string
 * and FILETIME conversions. All integers are little-endian. Every fields entry is checked against
 * the message before anything is read, so a hostile offset or length is a DecodeError.
 *
 * `pdu/ntlm.ts` re-exports everything public here; import from there.
 */

/** Signature of every NTLM message (MS-NLMP 2.2.1.1): "NTLMSSP\0". */
export const NTLMSSP_SIGNATURE: Uint8Array = Uint8Array.of(0x4e, 0x54, 0x4c, 0x4d, 0x53, 0x53, 0x50, 0x00);

/** MessageType values (MS-NLMP 2.2.1.1, 2.2.1.2, 2.2.1.3). */
export const NTLM_NEGOTIATE = 0x00000001;
export const NTLM_CHALLENGE = 0x00000002;
export const NTLM_AUTHENTICATE = 0x00000003;

// NegotiateFlags (MS-NLMP 2.2.2.5), by the spec's names; the letter is the spec's bit label.
/** A: Unicode (UTF-16LE) strings */
export const NTLMSSP_NEGOTIATE_UNICODE = 0x00000001;
/** B: OEM strings (the spec's name has no "SSP") */
export const NTLM_NEGOTIATE_OEM = 0x00000002;
/** C: the server returns its TargetName in the CHALLENGE */
export const NTLMSSP_REQUEST_TARGET = 0x00000004;
/** D: message integrity */
export const NTLMSSP_NEGOTIATE_SIGN = 0x00000010;
/** E: message confidentiality */
export const NTLMSSP_NEGOTIATE_SEAL = 0x00000020;
/** F: connectionless (datagram) NTLM */
export const NTLMSSP_NEGOTIATE_DATAGRAM = 0x00000040;
/** G: LAN Manager session key */
export const NTLMSSP_NEGOTIATE_LM_KEY = 0x00000080;
/** H: NTLM v1 session security */
export const NTLMSSP_NEGOTIATE_NTLM = 0x00000200;
/** J: anonymous connection (the spec gives only the letter; FreeRDP's ntlm.h name) */
export const NTLMSSP_NEGOTIATE_ANONYMOUS = 0x00000800;
/** K: the NEGOTIATE carries a DomainName */
export const NTLMSSP_NEGOTIATE_OEM_DOMAIN_SUPPLIED = 0x00001000;
/** L: the NEGOTIATE carries a Workstation name */
export const NTLMSSP_NEGOTIATE_OEM_WORKSTATION_SUPPLIED = 0x00002000;
/** M: always sign (dummy signatures when not signing) */
export const NTLMSSP_NEGOTIATE_ALWAYS_SIGN = 0x00008000;
/** N: TargetName is a domain name */
export const NTLMSSP_TARGET_TYPE_DOMAIN = 0x00010000;
/** O: TargetName is a server name */
export const NTLMSSP_TARGET_TYPE_SERVER = 0x00020000;
/** P: NTLM v2 session security ("extended session security") */
export const NTLMSSP_NEGOTIATE_EXTENDED_SESSIONSECURITY = 0x00080000;
/** Q: identify-level token */
export const NTLMSSP_NEGOTIATE_IDENTIFY = 0x00100000;
/** R: LMOWF session key */
export const NTLMSSP_REQUEST_NON_NT_SESSION_KEY = 0x00400000;
/** S: the CHALLENGE carries TargetInfo */
export const NTLMSSP_NEGOTIATE_TARGET_INFO = 0x00800000;
/** T: the Version field is populated */
export const NTLMSSP_NEGOTIATE_VERSION = 0x02000000;
/** U: 128-bit session keys */
export const NTLMSSP_NEGOTIATE_128 = 0x20000000;
/** V: explicit key exchange (EncryptedRandomSessionKey) */
export const NTLMSSP_NEGOTIATE_KEY_EXCH = 0x40000000;
/** W: 56-bit encryption */
export const NTLMSSP_NEGOTIATE_56 = 0x80000000;

/** Every defined NegotiateFlags bit by name, low bit first (MS-NLMP 2.2.2.5). */
export const NTLM_NEGOTIATE_FLAGS: Readonly<Record<string, number>> = {
  NTLMSSP_NEGOTIATE_UNICODE,
  NTLM_NEGOTIATE_OEM,
  NTLMSSP_REQUEST_TARGET,
  NTLMSSP_NEGOTIATE_SIGN,
  NTLMSSP_NEGOTIATE_SEAL,
  NTLMSSP_NEGOTIATE_DATAGRAM,
  NTLMSSP_NEGOTIATE_LM_KEY,
  NTLMSSP_NEGOTIATE_NTLM,
  NTLMSSP_NEGOTIATE_ANONYMOUS,
  NTLMSSP_NEGOTIATE_OEM_DOMAIN_SUPPLIED,
  NTLMSSP_NEGOTIATE_OEM_WORKSTATION_SUPPLIED,
  NTLMSSP_NEGOTIATE_ALWAYS_SIGN,
  NTLMSSP_TARGET_TYPE_DOMAIN,
  NTLMSSP_TARGET_TYPE_SERVER,
  NTLMSSP_NEGOTIATE_EXTENDED_SESSIONSECURITY,
  NTLMSSP_NEGOTIATE_IDENTIFY,
  NTLMSSP_REQUEST_NON_NT_SESSION_KEY,
  NTLMSSP_NEGOTIATE_TARGET_INFO,
  NTLMSSP_NEGOTIATE_VERSION,
  NTLMSSP_NEGOTIATE_128,
  NTLMSSP_NEGOTIATE_KEY_EXCH,
  NTLMSSP_NEGOTIATE_56,
};

/** Names of the NegotiateFlags bits set in `flags`, low bit first; reserved bits as hex. */
export function ntlmFlagNames(flags: number): string[] {
  const out: string[] = [];
  let rest = flags >>> 0;
  for (const [name, bit] of Object.entries(NTLM_NEGOTIATE_FLAGS)) {
    if ((rest & bit) >>> 0 === bit) {
      out.push(name);
      rest = (rest & ~bit) >>> 0;
    }
  }
  if (rest) out.push(`0x${rest.toString(16).padStart(8, '0')}`);
  return out;
}

/** VERSION (MS-NLMP 2.2.2.10): the sender's OS version, "for debugging purposes only". */
export interface NtlmVersion {
  /** ProductMajorVersion */
  major: number;
  /** ProductMinorVersion */
  minor: number;
  /** ProductBuild */
  build: number;
  /** NTLMRevisionCurrent: 0x0F (NTLMSSP_REVISION_W2K3) on every current stack */
  ntlmRevision: number;
}
export const NTLMSSP_REVISION_W2K3 = 0x0f;

/** Size of the VERSION structure (MS-NLMP 2.2.2.10). */
export const NTLM_VERSION_SIZE = 8;
/** FILETIME of 1970-01-01 (100 ns intervals since 1601-01-01). */
const FILETIME_UNIX_EPOCH = 116444736000000000n;

/** Check the signature and return the MessageType (MS-NLMP 2.2.1): 1, 2, 3, or another value. */
export function ntlmMessageType(bytes: Uint8Array): number {
  const r = new ReadCursor(bytes);
  const sig = r.bytes(NTLMSSP_SIGNATURE.length, 'NTLM message', 'Signature');
  if (!NTLMSSP_SIGNATURE.every((b, i) => sig[i] === b)) {
    throw new DecodeError('InvalidField', 'NTLM message', 'Signature', 0, 'signature is not "NTLMSSP\\0"');
  }
  return r.u32le('NTLM message', 'MessageType');
}

/** Check signature and type; returns a cursor just after MessageType. */
export function readHeader(bytes: Uint8Array, pdu: string, type: number): ReadCursor {
  const got = ntlmMessageType(bytes);
  if (got !== type) {
    throw new DecodeError('UnexpectedType', pdu, 'MessageType', 8, `message type ${got}, expected ${type}`);
  }
  const r = new ReadCursor(bytes);
  r.skip(12, pdu, 'Signature and MessageType');
  return r;
}

export function writeHeader(w: WriteCursor, type: number): void {
  w.bytes(NTLMSSP_SIGNATURE); // Signature
  w.u32le(type); // MessageType
}

/** A payload field as read: its bytes (a view into the message) and where they are. */
export interface PayloadField {
  value: Uint8Array;
  /** BufferOffset as sent (any value when the field is empty) */
  offset: number;
  /** offset of the fields entry itself, for errors */
  entryAt: number;
}

/**
 * Read a fields entry (Len, MaxLen, BufferOffset) and return the bytes it points to. MaxLen is
 * ignored, as MS-NLMP 2.2.1.1 requires. A non-empty field must lie after the fixed part
 * (`payloadStart`) and inside the message; an empty one may hold any offset.
 */
export function readPayloadField(r: ReadCursor, payloadStart: number, pdu: string, field: string): PayloadField {
  const entryAt = r.at;
  const len = r.u16le(pdu, `${field}Len`);
  r.u16le(pdu, `${field}MaxLen`);
  const offset = r.u32le(pdu, `${field}BufferOffset`);
  if (len === 0) return { value: new Uint8Array(0), offset, entryAt };
  checkPayloadOffset(offset, len, payloadStart, r.buf.length, pdu, field, entryAt);
  return { value: r.buf.subarray(offset, offset + len), offset, entryAt };
}

/** The bounds rule of `readPayloadField`, for a fixed part whose size is known only later. */
export function checkPayloadOffset(
  offset: number,
  len: number,
  payloadStart: number,
  messageLength: number,
  pdu: string,
  field: string,
  entryAt: number,
): void {
  if (offset < payloadStart) {
    throw new DecodeError('InvalidField', pdu, `${field}BufferOffset`, entryAt + 4, `offset ${offset} points into the ${payloadStart}-byte fixed part`);
  }
  if (offset + len > messageLength) {
    throw new DecodeError(
      'NotEnoughBytes',
      pdu,
      field,
      entryAt + 4,
      `${len} bytes at offset ${offset} run past the end of the ${messageLength}-byte message`,
    );
  }
}

/**
 * Payload writing for the encoders: `reserveField` leaves an 8-byte fields entry to fill,
 * `writePayloadField` appends the value at the current end of the message and fills the entry
 * (Len = MaxLen = value length, BufferOffset = where it went, also for an empty value: the
 * layout Windows, FreeRDP and impacket use).
 */
export function reserveField(w: WriteCursor): number {
  return w.reserve(8);
}

export function writePayloadField(w: WriteCursor, entryAt: number, value: Uint8Array, pdu: string, field: string): void {
  if (value.length > 0xffff) throw new EncodeError(pdu, field, `${value.length} bytes do not fit a 16-bit length`);
  const offset = w.offset;
  w.bytes(value);
  w.patchU16le(entryAt, value.length, pdu, `${field}Len`);
  w.patchU16le(entryAt + 2, value.length, pdu, `${field}MaxLen`);
  w.patchU32le(entryAt + 4, offset);
}

/** Read a VERSION structure (MS-NLMP 2.2.2.10). */
export function readVersion(r: ReadCursor, pdu: string): NtlmVersion {
  const major = r.u8(pdu, 'ProductMajorVersion');
  const minor = r.u8(pdu, 'ProductMinorVersion');
  const build = r.u16le(pdu, 'ProductBuild');
  r.skip(3, pdu, 'Reserved');
  const ntlmRevision = r.u8(pdu, 'NTLMRevisionCurrent');
  return { major, minor, build, ntlmRevision };
}

/** Write a VERSION structure (MS-NLMP 2.2.2.10): 8 bytes, the three reserved ones zero. */
export function writeVersion(w: WriteCursor, v: NtlmVersion, pdu: string): void {
  const check = (n: number, max: number, field: string) => {
    if (!Number.isInteger(n) || n < 0 || n > max) throw new EncodeError(pdu, field, `${n} is not in 0..${max}`);
  };
  check(v.major, 0xff, 'ProductMajorVersion');
  check(v.minor, 0xff, 'ProductMinorVersion');
  check(v.build, 0xffff, 'ProductBuild');
  check(v.ntlmRevision, 0xff, 'NTLMRevisionCurrent');
  w.u8(v.major); // ProductMajorVersion
  w.u8(v.minor); // ProductMinorVersion
  w.u16le(v.build); // ProductBuild
  w.zeros(3); // Reserved
  w.u8(v.ntlmRevision); // NTLMRevisionCurrent
}

/** Encode a VERSION structure (MS-NLMP 2.2.2.10) on its own: 8 bytes. */
export function encodeVersion(v: NtlmVersion): Buffer {
  const w = new WriteCursor(NTLM_VERSION_SIZE);
  writeVersion(w, v, 'VERSION');
  return w.finish();
}

/** Decode a VERSION structure (MS-NLMP 2.2.2.10) on its own: exactly 8 bytes. */
export function decodeVersion(bytes: Uint8Array): NtlmVersion {
  const r = new ReadCursor(bytes);
  const v = readVersion(r, 'VERSION');
  r.expectEnd('VERSION');
  return v;
}

/**
 * NTLMSSP_NEGOTIATE_VERSION in `flags` must agree with the presence of `version` (the encoders'
 * rule: the flag says whether the 8 bytes are in the fixed part).
 */
export function checkVersionFlag(flags: number, version: NtlmVersion | undefined, pdu: string): void {
  const hasFlag = (flags & NTLMSSP_NEGOTIATE_VERSION) !== 0;
  if (hasFlag !== (version !== undefined)) {
    throw new EncodeError(pdu, 'Version', hasFlag ? 'NTLMSSP_NEGOTIATE_VERSION is set but no version is given' : 'a version is given without NTLMSSP_NEGOTIATE_VERSION');
  }
}

/** A UTF-16LE string; an odd byte count is an error. */
export function utf16(b: Uint8Array, pdu: string, field: string, at: number): string {
  if (b.length % 2 !== 0) {
    throw new DecodeError('InvalidField', pdu, field, at, `UTF-16LE string of odd length ${b.length}`);
  }
  return Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('utf16le');
}

/** OEM strings are in the sender's OEM code page, which the message does not name: read as Latin-1. */
export function oem(b: Uint8Array): string {
  return Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('latin1');
}

/** A string of a message whose NTLMSSP_NEGOTIATE_UNICODE flag is `unicode`: UTF-16LE or OEM (Latin-1). */
export function decodeNtlmString(b: Uint8Array, unicode: boolean, pdu: string, field: string, at: number): string {
  return unicode ? utf16(b, pdu, field, at) : oem(b);
}

/** The bytes of a string for a message whose NTLMSSP_NEGOTIATE_UNICODE flag is `unicode`. */
export function encodeNtlmString(s: string, unicode: boolean, pdu: string, field: string): Buffer {
  if (unicode) return Buffer.from(s, 'utf16le');
  if (!/^[\x00-\xff]*$/.test(s)) throw new EncodeError(pdu, field, 'an OEM string holds only Latin-1 characters here');
  return Buffer.from(s, 'latin1');
}

/** FILETIME (100 ns since 1601-01-01 UTC) to a Date, truncated to the millisecond. */
export function filetimeToDate(filetime: bigint): Date {
  return new Date(Number((filetime - FILETIME_UNIX_EPOCH) / 10000n));
}

/** A Date (or milliseconds since 1970) to a FILETIME. */
export function dateToFiletime(date: Date | number): bigint {
  const ms = typeof date === 'number' ? date : date.getTime();
  return BigInt(Math.trunc(ms)) * 10000n + FILETIME_UNIX_EPOCH;
}
