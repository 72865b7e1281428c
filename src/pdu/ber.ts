import { ReadCursor, WriteCursor } from './cursor.js';
import { DecodeError, EncodeError } from './errors.js';

/**
 * The BER subset that T.125 MCS uses for its connect PDUs (ITU-T X.690 section 8; T.125 section
 * 7 part 2; MS-RDPBCGR 2.2.1.3 and 2.2.1.4): identifier octets (including the high-tag-number
 * form, Connect-Initial is [APPLICATION 101] = 0x7f 0x65), definite lengths in short and long
 * form, INTEGER, OCTET STRING, BOOLEAN, ENUMERATED and SEQUENCE.
 *
 * Every reader checks a length against the bytes that remain before it slices anything; content
 * is returned as views, never copied. Encoders always write the canonical (DER-like) form:
 * shortest lengths, shortest integers. Decoders accept the non-canonical forms real peers send
 * (long-form lengths that would fit the short form, padded integers) so a re-encoded PDU may
 * differ in those bytes only.
 */

/** Tag classes (X.690 8.1.2.2), as the top two bits of the first identifier octet. */
export const BER_CLASS_UNIVERSAL = 0x00;
export const BER_CLASS_APPLICATION = 0x40;
export const BER_CLASS_CONTEXT = 0x80;
export const BER_CLASS_PRIVATE = 0xc0;
const BER_CONSTRUCTED = 0x20;

/** Universal tag numbers used by MCS (X.680 8.4). */
export const BER_TAG_BOOLEAN = 0x01;
export const BER_TAG_INTEGER = 0x02;
export const BER_TAG_OCTET_STRING = 0x04;
export const BER_TAG_ENUMERATED = 0x0a;
export const BER_TAG_SEQUENCE = 0x10;

/** Largest tag number we accept (4 continuation octets, 28 bits); MCS uses at most 102. */
const MAX_TAG_NUMBER = 0x0fffffff;
/** Largest length we accept: 4 length octets. The cursor bounds it by the input anyway. */
const MAX_LENGTH_OCTETS = 4;

export interface BerTag {
  /** one of BER_CLASS_* */
  readonly cls: number;
  readonly constructed: boolean;
  readonly number: number;
}

/** Read identifier octets (X.690 8.1.2), low-tag-number and high-tag-number forms. */
export function readTag(r: ReadCursor, pdu: string, field: string): BerTag {
  const at = r.at;
  const first = r.u8(pdu, field);
  const cls = first & 0xc0;
  const constructed = (first & BER_CONSTRUCTED) !== 0;
  if ((first & 0x1f) !== 0x1f) return { cls, constructed, number: first & 0x1f };
  let number = 0;
  for (let i = 0; ; i++) {
    const b = r.u8(pdu, field);
    if (i === 0 && b === 0x80) {
      throw new DecodeError('InvalidField', pdu, field, at, 'tag number has a leading zero continuation octet');
    }
    number = number * 128 + (b & 0x7f);
    if (number > MAX_TAG_NUMBER) {
      throw new DecodeError('UnsupportedValue', pdu, field, at, 'tag number is too large');
    }
    if ((b & 0x80) === 0) break;
  }
  return { cls, constructed, number };
}

/** Write identifier octets in the shortest form. */
export function writeTag(w: WriteCursor, cls: number, constructed: boolean, number: number): void {
  const lead = (cls & 0xc0) | (constructed ? BER_CONSTRUCTED : 0);
  if (number < 0x1f) {
    w.u8(lead | number);
    return;
  }
  if (!Number.isInteger(number) || number > MAX_TAG_NUMBER) {
    throw new EncodeError('BER', 'tag', `tag number ${number} is out of range`);
  }
  w.u8(lead | 0x1f);
  const groups: number[] = [];
  let n = number;
  do {
    groups.unshift(n & 0x7f);
    n = Math.floor(n / 128);
  } while (n > 0);
  groups.forEach((g, i) => w.u8(i < groups.length - 1 ? g | 0x80 : g));
}

/**
 * Read a definite length (X.690 8.1.3): short form (< 0x80) or long form 0x81..0x84. The
 * indefinite form (0x80) is not used by MCS and is rejected. The length is not yet checked
 * against the input; `readTlv` does that.
 */
export function readLength(r: ReadCursor, pdu: string, field: string): number {
  const at = r.at;
  const first = r.u8(pdu, field);
  if (first < 0x80) return first;
  const count = first & 0x7f;
  if (count === 0) {
    throw new DecodeError('UnsupportedValue', pdu, field, at, 'indefinite length is not allowed here');
  }
  if (count > MAX_LENGTH_OCTETS) {
    throw new DecodeError('UnsupportedValue', pdu, field, at, `length of ${count} octets is too long`);
  }
  let length = 0;
  for (let i = 0; i < count; i++) length = length * 256 + r.u8(pdu, field);
  return length;
}

/** Number of octets `writeLength` uses for `length`. */
export function lengthSize(length: number): number {
  if (length < 0x80) return 1;
  if (length <= 0xff) return 2;
  if (length <= 0xffff) return 3;
  if (length <= 0xffffff) return 4;
  return 5;
}

/** Write a definite length in the shortest form. */
export function writeLength(w: WriteCursor, length: number): void {
  if (!Number.isInteger(length) || length < 0 || length > 0xffffffff) {
    throw new EncodeError('BER', 'length', `length ${length} is out of range`);
  }
  const size = lengthSize(length);
  if (size === 1) {
    w.u8(length);
    return;
  }
  w.u8(0x80 | (size - 1));
  for (let i = size - 2; i >= 0; i--) w.u8(Math.floor(length / 256 ** i) & 0xff);
}

/**
 * Read one TLV whose tag must be exactly (cls, constructed, number); returns a cursor over its
 * contents, after checking they are all there. A different tag is UnexpectedType.
 */
export function readTlv(
  r: ReadCursor,
  cls: number,
  constructed: boolean,
  number: number,
  pdu: string,
  field: string,
): ReadCursor {
  const at = r.at;
  const tag = readTag(r, pdu, field);
  if (tag.cls !== cls || tag.constructed !== constructed || tag.number !== number) {
    throw new DecodeError(
      'UnexpectedType',
      pdu,
      field,
      at,
      `expected tag ${describeTag(cls, constructed, number)}, got ${describeTag(tag.cls, tag.constructed, tag.number)}`,
    );
  }
  const length = readLength(r, pdu, field);
  return r.sub(length, pdu, field);
}

/** Write one TLV with the given contents. */
export function writeTlv(w: WriteCursor, cls: number, constructed: boolean, number: number, contents: Uint8Array): void {
  writeTag(w, cls, constructed, number);
  writeLength(w, contents.length);
  w.bytes(contents);
}

function describeTag(cls: number, constructed: boolean, number: number): string {
  const names: Record<number, string> = {
    [BER_CLASS_UNIVERSAL]: 'UNIVERSAL',
    [BER_CLASS_APPLICATION]: 'APPLICATION',
    [BER_CLASS_CONTEXT]: 'CONTEXT',
    [BER_CLASS_PRIVATE]: 'PRIVATE',
  };
  return `[${names[cls] ?? cls} ${number}]${constructed ? ' constructed' : ''}`;
}

/** [APPLICATION n] IMPLICIT SEQUENCE (constructed): returns a cursor over its contents. */
export function readApplicationTag(r: ReadCursor, number: number, pdu: string, field: string): ReadCursor {
  return readTlv(r, BER_CLASS_APPLICATION, true, number, pdu, field);
}

export function writeApplicationTag(w: WriteCursor, number: number, contents: Uint8Array): void {
  writeTlv(w, BER_CLASS_APPLICATION, true, number, contents);
}

/** SEQUENCE (universal 16, constructed): returns a cursor over its contents. */
export function readSequence(r: ReadCursor, pdu: string, field: string): ReadCursor {
  return readTlv(r, BER_CLASS_UNIVERSAL, true, BER_TAG_SEQUENCE, pdu, field);
}

export function writeSequence(w: WriteCursor, contents: Uint8Array): void {
  writeTlv(w, BER_CLASS_UNIVERSAL, true, BER_TAG_SEQUENCE, contents);
}

/**
 * Contents of a non-negative INTEGER of at most 32 bits (T.125 uses INTEGER (0..MAX) with
 * values below 2^32). Like FreeRDP's ber_read_integer, the contents are read as an unsigned
 * big-endian number: rdesktop and nmap write 65535 as 02 02 ff ff, which strict X.690 reads as
 * -1. A canonical leading zero octet (02 05 00 ff ff ff ff) is accepted.
 */
function integerContents(c: ReadCursor, pdu: string, field: string): number {
  const at = c.at;
  let n = c.remaining;
  if (n === 5 && c.peekU8(pdu, field) === 0) {
    c.skip(1, pdu, field);
    n = 4;
  }
  if (n < 1 || n > 4) {
    throw new DecodeError('InvalidField', pdu, field, at, `integer of ${c.remaining} octets does not fit 32 bits`);
  }
  let v = 0;
  for (let i = 0; i < n; i++) v = v * 256 + c.u8(pdu, field);
  return v;
}

/** Minimal two's complement contents of a non-negative integer (X.690 8.3.2). */
function integerBytes(v: number, pdu: string, field: string): Uint8Array {
  if (!Number.isInteger(v) || v < 0 || v > 0xffffffff) {
    throw new EncodeError(pdu, field, `${v} is not an integer in 0..2^32-1`);
  }
  const out: number[] = [];
  let n = v;
  do {
    out.unshift(n & 0xff);
    n = Math.floor(n / 256);
  } while (n > 0);
  if (out[0]! & 0x80) out.unshift(0);
  return Uint8Array.from(out);
}

export function readInteger(r: ReadCursor, pdu: string, field: string): number {
  const c = readTlv(r, BER_CLASS_UNIVERSAL, false, BER_TAG_INTEGER, pdu, field);
  return integerContents(c, pdu, field);
}

export function writeInteger(w: WriteCursor, v: number, pdu = 'BER', field = 'INTEGER'): void {
  writeTlv(w, BER_CLASS_UNIVERSAL, false, BER_TAG_INTEGER, integerBytes(v, pdu, field));
}

/**
 * ENUMERATED (universal 10), encoded like an INTEGER. `count` is the number of values the type
 * defines; a value at or beyond it is InvalidField.
 */
export function readEnumerated(r: ReadCursor, count: number, pdu: string, field: string): number {
  const at = r.at;
  const c = readTlv(r, BER_CLASS_UNIVERSAL, false, BER_TAG_ENUMERATED, pdu, field);
  const v = integerContents(c, pdu, field);
  if (v >= count) {
    throw new DecodeError('InvalidField', pdu, field, at, `enumerated value ${v} is not below ${count}`);
  }
  return v;
}

export function writeEnumerated(w: WriteCursor, v: number, pdu = 'BER', field = 'ENUMERATED'): void {
  writeTlv(w, BER_CLASS_UNIVERSAL, false, BER_TAG_ENUMERATED, integerBytes(v, pdu, field));
}

/** OCTET STRING (primitive form only): a view of its contents. */
export function readOctetString(r: ReadCursor, pdu: string, field: string): Uint8Array {
  const c = readTlv(r, BER_CLASS_UNIVERSAL, false, BER_TAG_OCTET_STRING, pdu, field);
  return c.rest();
}

export function writeOctetString(w: WriteCursor, value: Uint8Array): void {
  writeTlv(w, BER_CLASS_UNIVERSAL, false, BER_TAG_OCTET_STRING, value);
}

/**
 * BOOLEAN: one content octet, 0 is FALSE and any other value TRUE (X.690 8.2.2; the encoder
 * writes 0xff as DER does, so a TRUE sent as 0x01 re-encodes differently).
 */
export function readBoolean(r: ReadCursor, pdu: string, field: string): boolean {
  const at = r.at;
  const c = readTlv(r, BER_CLASS_UNIVERSAL, false, BER_TAG_BOOLEAN, pdu, field);
  if (c.remaining !== 1) {
    throw new DecodeError('InvalidField', pdu, field, at, `boolean has ${c.remaining} content octets, expected 1`);
  }
  return c.u8(pdu, field) !== 0;
}

export function writeBoolean(w: WriteCursor, v: boolean): void {
  writeTlv(w, BER_CLASS_UNIVERSAL, false, BER_TAG_BOOLEAN, Uint8Array.of(v ? 0xff : 0x00));
}

/** Run an encoder into a scratch cursor and return the bytes (to wrap them in a TLV). */
export function encodeContents(enc: (w: WriteCursor) => void): Buffer {
  const w = new WriteCursor();
  enc(w);
  return w.finish();
}
