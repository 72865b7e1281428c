import { ReadCursor, WriteCursor } from './cursor.js';
import { DecodeError, EncodeError } from './errors.js';
import { NTLMSSP_NEGOTIATE_VERSION, NTLMSSP_SIGNATURE, NTLM_VERSION_SIZE, ntlmMessageType, type NtlmVersion } from './ntlm-base.js';

/**
 * Wire helpers shared by the NTLM codecs (MS-NLMP 2.2.1): the header, the 8-byte "fields"
 * entries (Len (2), MaxLen (2), BufferOffset (4) from the start of the message) that point into
 * the payload, VERSION, and strings. Internal to pdu/ntlm*.ts, except `encodeVersion` and
 * `decodeVersion`, which `pdu/ntlm.ts` re-exports. Every fields entry is checked against the
 * message before anything is read, so a hostile offset or length is a DecodeError.
 */

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

