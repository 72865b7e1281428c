import { ReadCursor, WriteCursor } from './cursor.js';
import { DecodeError, EncodeError } from './errors.js';

/**
 * The ALIGNED PER subset (ITU-T X.691) that T.124 GCC and the T.125 domain PDUs use in RDP
 * (MS-RDPBCGR 2.2.1.3 and 2.2.1.4, which give the encoded bytes of the Conference Create Request
 * and Response; FreeRDP libfreerdp/crypto/per.c and IronRDP ironrdp-pdu per.rs implement the
 * same subset). RDP only ever needs whole-octet items, so every helper here reads or writes
 * whole bytes: a CHOICE index or a SEQUENCE preamble is one octet that the caller compares
 * with the value the spec shows.
 */

/** The largest length a two-octet length determinant can carry (X.691 10.9.3.7). */
export const PER_MAX_LENGTH = 0x3fff;

/**
 * Length determinant (X.691 10.9.3.6/7): one octet 0xxxxxxx (0..127) or two octets
 * 10xxxxxx xxxxxxxx (0..16383). The fragmented form 11xxxxxx is not used by RDP and is
 * rejected as UnsupportedValue. The length is not checked against the input here; the reader
 * of the contents does that.
 */
export function readLength(r: ReadCursor, pdu: string, field: string): number {
  const at = r.at;
  const a = r.u8(pdu, field);
  if ((a & 0x80) === 0) return a;
  if ((a & 0xc0) === 0xc0) {
    throw new DecodeError('UnsupportedValue', pdu, field, at, 'fragmented length determinant is not supported');
  }
  const b = r.u8(pdu, field);
  return ((a & 0x3f) << 8) | b;
}

/** Number of octets `writeLength` uses for `length`. */
export function lengthSize(length: number): number {
  return length < 0x80 ? 1 : 2;
}

export function writeLength(w: WriteCursor, length: number, pdu = 'PER', field = 'length'): void {
  if (!Number.isInteger(length) || length < 0 || length > PER_MAX_LENGTH) {
    throw new EncodeError(pdu, field, `length ${length} does not fit a PER length determinant`);
  }
  if (length < 0x80) w.u8(length);
  else w.u16be(0x8000 | length);
}

/** Two-octet length determinant even below 128 (xrdp writes its GCC user data length so). */
export function writeLongLength(w: WriteCursor, length: number, pdu = 'PER', field = 'length'): void {
  if (!Number.isInteger(length) || length < 0 || length > PER_MAX_LENGTH) {
    throw new EncodeError(pdu, field, `length ${length} does not fit a PER length determinant`);
  }
  w.u16be(0x8000 | length);
}

/** CHOICE index / SEQUENCE preamble octet, compared by the caller (see the module comment). */
export function readChoice(r: ReadCursor, pdu: string, field: string): number {
  return r.u8(pdu, field);
}

export function writeChoice(w: WriteCursor, choice: number): void {
  w.u8(choice);
}

/** Read one octet that must hold `expected`; anything else is `kind` (UnexpectedType by default). */
export function expectOctet(
  r: ReadCursor,
  expected: number,
  pdu: string,
  field: string,
  kind: 'UnexpectedType' | 'InvalidField' | 'UnsupportedValue' = 'UnexpectedType',
): void {
  const at = r.at;
  const v = r.u8(pdu, field);
  if (v !== expected) {
    throw new DecodeError(kind, pdu, field, at, `expected 0x${hex2(expected)}, got 0x${hex2(v)}`);
  }
}

function hex2(v: number): string {
  return v.toString(16).padStart(2, '0');
}

/** SET OF count, as one octet in the RDP encodings (FreeRDP per_read_number_of_sets). */
export function readNumberOfSets(r: ReadCursor, pdu: string, field: string): number {
  return r.u8(pdu, field);
}

export function writeNumberOfSets(w: WriteCursor, count: number): void {
  w.u8(count);
}

/** `n` octets of padding, which must be zero. */
export function readPadding(r: ReadCursor, n: number, pdu: string, field: string): void {
  const at = r.at;
  const bytes = r.bytes(n, pdu, field);
  if (bytes.some((b) => b !== 0)) {
    throw new DecodeError('UnsupportedValue', pdu, field, at, 'padding octets are not zero');
  }
}

export function writePadding(w: WriteCursor, n: number): void {
  w.zeros(n);
}

/**
 * ENUMERATED of a root with `count` values (X.691 13): one octet in RDP's use; a value at or
 * beyond `count` is InvalidField.
 */
export function readEnumerated(r: ReadCursor, count: number, pdu: string, field: string): number {
  const at = r.at;
  const v = r.u8(pdu, field);
  if (v >= count) {
    throw new DecodeError('InvalidField', pdu, field, at, `enumerated value ${v} is not below ${count}`);
  }
  return v;
}

export function writeEnumerated(w: WriteCursor, v: number, count: number, pdu = 'PER', field = 'ENUMERATED'): void {
  if (!Number.isInteger(v) || v < 0 || v >= count || v > 0xff) {
    throw new EncodeError(pdu, field, `enumerated value ${v} is not below ${count}`);
  }
  w.u8(v);
}

/**
 * Unconstrained INTEGER as RDP stacks write it (FreeRDP per_read_integer): a length determinant
 * then that many big-endian octets, 0..4 of them, read as unsigned. Written with 1, 2 or 4
 * octets as FreeRDP and IronRDP do.
 */
export function readInteger(r: ReadCursor, pdu: string, field: string): number {
  const at = r.at;
  const length = readLength(r, pdu, field);
  if (length > 4) {
    throw new DecodeError('InvalidField', pdu, field, at, `integer of ${length} octets does not fit 32 bits`);
  }
  r.ensure(length, pdu, field);
  let v = 0;
  for (let i = 0; i < length; i++) v = v * 256 + r.u8(pdu, field);
  return v;
}

export function writeInteger(w: WriteCursor, v: number, pdu = 'PER', field = 'INTEGER'): void {
  if (!Number.isInteger(v) || v < 0 || v > 0xffffffff) {
    throw new EncodeError(pdu, field, `${v} is not an integer in 0..2^32-1`);
  }
  if (v <= 0xff) {
    writeLength(w, 1);
    w.u8(v);
  } else if (v <= 0xffff) {
    writeLength(w, 2);
    w.u16be(v);
  } else {
    writeLength(w, 4);
    w.u32be(v);
  }
}

/**
 * INTEGER (min..min+65535), as two octets holding value - min (X.691 12.2.6 for a 16-bit
 * range; T.124 UserID is INTEGER (1001..65535)). A decoded value above 65535 is InvalidField.
 */
export function readInteger16(r: ReadCursor, min: number, pdu: string, field: string): number {
  const at = r.at;
  const v = r.u16be(pdu, field) + min;
  if (v > 0xffff) {
    throw new DecodeError('InvalidField', pdu, field, at, `value ${v} exceeds 65535`);
  }
  return v;
}

export function writeInteger16(w: WriteCursor, v: number, min: number, pdu = 'PER', field = 'INTEGER'): void {
  if (!Number.isInteger(v) || v < min || v > 0xffff) {
    throw new EncodeError(pdu, field, `${v} is not in ${min}..65535`);
  }
  w.u16be(v - min);
}

/**
 * OBJECT IDENTIFIER (X.691 24: a length determinant then the X.690 8.19 contents). Returns the
 * arcs; GCC uses T.124's { 0 0 20 124 0 1 }.
 */
export function readObjectIdentifier(r: ReadCursor, pdu: string, field: string): number[] {
  const at = r.at;
  const length = readLength(r, pdu, field);
  const c = r.sub(length, pdu, field);
  if (length === 0) throw new DecodeError('InvalidField', pdu, field, at, 'empty object identifier');
  const arcs: number[] = [];
  while (!c.isEmpty()) {
    let v = 0;
    for (;;) {
      const b = c.u8(pdu, field);
      v = v * 128 + (b & 0x7f);
      if (v > 0xffffffff) throw new DecodeError('UnsupportedValue', pdu, field, at, 'object identifier arc too large');
      if ((b & 0x80) === 0) break;
    }
    if (arcs.length === 0) {
      const first = v < 40 ? 0 : v < 80 ? 1 : 2;
      arcs.push(first, v - first * 40);
    } else {
      arcs.push(v);
    }
  }
  return arcs;
}

export function writeObjectIdentifier(w: WriteCursor, arcs: readonly number[], pdu = 'PER', field = 'OBJECT IDENTIFIER'): void {
  if (arcs.length < 2 || arcs.some((a) => !Number.isInteger(a) || a < 0 || a > 0xffffffff)) {
    throw new EncodeError(pdu, field, 'an object identifier needs at least two non-negative arcs');
  }
  const subs = [arcs[0]! * 40 + arcs[1]!, ...arcs.slice(2)];
  const out: number[] = [];
  for (const s of subs) {
    const groups: number[] = [];
    let n = s;
    do {
      groups.unshift(n & 0x7f);
      n = Math.floor(n / 128);
    } while (n > 0);
    groups.forEach((g, i) => out.push(i < groups.length - 1 ? g | 0x80 : g));
  }
  writeLength(w, out.length, pdu, field);
  w.bytes(Uint8Array.from(out));
}

/** Arcs equality, for checking a decoded OID against a constant. */
export function sameObjectIdentifier(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((v, i) => v === b[i]);
}

/**
 * NumericString with SIZE (min..): length determinant holding (characters - min), then the
 * digits packed two per octet, high nibble first (X.691 27.5.4: the effective alphabet " 0..9"
 * is written by FreeRDP and IronRDP as digit values; an odd count leaves a low nibble of 0).
 */
export function readNumericString(r: ReadCursor, min: number, pdu: string, field: string): string {
  const at = r.at;
  const count = readLength(r, pdu, field) + min;
  const packed = r.bytes(Math.ceil(count / 2), pdu, field);
  let s = '';
  for (let i = 0; i < count; i++) {
    const byte = packed[i >> 1]!;
    const digit = i % 2 === 0 ? byte >> 4 : byte & 0x0f;
    if (digit > 9) throw new DecodeError('InvalidField', pdu, field, at, `nibble ${digit} is not a digit`);
    s += String(digit);
  }
  return s;
}

export function writeNumericString(w: WriteCursor, s: string, min: number, pdu = 'PER', field = 'NumericString'): void {
  if (!/^[0-9]*$/.test(s) || s.length < min) {
    throw new EncodeError(pdu, field, `"${s}" is not a string of at least ${min} digits`);
  }
  writeLength(w, s.length - min, pdu, field);
  for (let i = 0; i < s.length; i += 2) {
    const hi = s.charCodeAt(i) - 0x30;
    const lo = i + 1 < s.length ? s.charCodeAt(i + 1) - 0x30 : 0;
    w.u8((hi << 4) | lo);
  }
}

/** OCTET STRING with SIZE (min..): length determinant holding (octets - min), then the octets. */
export function readOctetString(r: ReadCursor, min: number, pdu: string, field: string): Uint8Array {
  const length = readLength(r, pdu, field) + min;
  return r.bytes(length, pdu, field);
}

export function writeOctetString(w: WriteCursor, value: Uint8Array, min: number, pdu = 'PER', field = 'OCTET STRING'): void {
  if (value.length < min) throw new EncodeError(pdu, field, `${value.length} octets is below the minimum ${min}`);
  writeLength(w, value.length - min, pdu, field);
  w.bytes(value);
}
