import { BitString, Constructed, Enumerated, GeneralString, Integer, ObjectIdentifier, OctetString, Primitive, Sequence, type BaseBlock } from 'asn1js';
import { EncodeError } from './errors.js';
import { DER_CONTEXT } from './der.js';

/**
 * Writing DER with asn1js for the CredSSP and SPNEGO codecs: values are asn1js blocks, which
 * encode in DER by construction (definite lengths in the shortest form, minimal INTEGERs,
 * primitive strings); these helpers check what asn1js would otherwise accept silently (a
 * non-integer, a malformed OID string) and turn it into an EncodeError.
 */

export type DerValue = BaseBlock;

export function derSequence(items: DerValue[]): DerValue {
  return new Sequence({ value: items });
}

/** A constructed element of class `cls` (DER_CONTEXT, DER_APPLICATION) holding `items`. */
export function derConstructed(cls: number, tag: number, items: DerValue[]): DerValue {
  return new Constructed({ idBlock: { tagClass: cls + 1, tagNumber: tag }, value: items });
}

/** An EXPLICIT context tag [n] around one value. */
export function derExplicit(tag: number, inner: DerValue): DerValue {
  return derConstructed(DER_CONTEXT, tag, [inner]);
}

/** A constructed [n] whose contents are written as given (a value kept from decoding). */
export function derRawExplicit(tag: number, contents: Uint8Array): DerValue {
  const raw = new Primitive({ idBlock: { tagClass: DER_CONTEXT + 1, tagNumber: tag }, valueHex: contents });
  raw.idBlock.isConstructed = true; // asn1js writes a Primitive's contents as they are
  return raw;
}

export function derOctetString(bytes: Uint8Array): DerValue {
  return new OctetString({ valueHex: bytes });
}

function checkInteger32(v: number, pdu: string, field: string): void {
  if (!Number.isInteger(v) || v < -0x80000000 || v > 0xffffffff) {
    throw new EncodeError(pdu, field, `${v} is not an integer in -2^31..2^32-1`);
  }
}

/** An INTEGER in -2^31 .. 2^32-1, minimal two's complement. */
export function derInteger(v: number, pdu: string, field: string): DerValue {
  checkInteger32(v, pdu, field);
  return new Integer({ value: v });
}

export function derEnumerated(v: number, pdu: string, field: string): DerValue {
  checkInteger32(v, pdu, field);
  return new Enumerated({ value: v });
}

const OID_PATTERN = /^[0-2](\.(0|[1-9][0-9]{0,14}))+$/;

/** An OBJECT IDENTIFIER from dotted form ("1.3.6.1.5.5.2"). */
export function derOid(oid: string, pdu: string, field: string): DerValue {
  const arcs = oid.split('.').map(Number);
  if (!OID_PATTERN.test(oid) || arcs.some((a) => !Number.isSafeInteger(a)) || (arcs[0]! < 2 && arcs[1]! >= 40)) {
    throw new EncodeError(pdu, field, `${JSON.stringify(oid)} is not a dotted object identifier`);
  }
  return new ObjectIdentifier({ value: oid });
}

/** A GeneralString from latin1 text (SPNEGO's hintName). */
export function derGeneralString(text: string): DerValue {
  return new GeneralString({ valueHex: Buffer.from(text, 'latin1') });
}

export function derBitString(bytes: Uint8Array, unusedBits: number): DerValue {
  return new BitString({ valueHex: bytes, unusedBits });
}

/** The DER bytes of a value. */
export function derEncode(v: DerValue, pdu: string): Buffer {
  const out = v.toBER();
  if (out.byteLength === 0) throw new EncodeError(pdu, 'value', `asn1js: ${v.error || 'empty encoding'}`);
  return Buffer.from(out);
}
