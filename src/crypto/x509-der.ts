import { readLength, readTag, readTlv } from '../pdu/ber.js';
import { ReadCursor } from '../pdu/cursor.js';
import { DecodeError } from '../pdu/errors.js';

/**
 * The two parts of an X.509 certificate (RFC 5280 4.1) that node:crypto's X509Certificate does
 * not expose: the signatureAlgorithm OID and the raw subjectPublicKey BIT STRING (what CredSSP
 * binds to, MS-CSSP 3.1.5). Read with our own BER reader (pdu/ber.ts) rather than a general
 * ASN.1 library, which would cost a probe more start-up time than the whole TLS handshake.
 */
const PDU = 'X.509 certificate';
const UNIVERSAL = 0x00;
const CONTEXT = 0x80;
const SEQUENCE = 0x10;
const BIT_STRING = 0x03;
const OID = 0x06;

export interface CertificateParts {
  /** dotted OID of Certificate.signatureAlgorithm */
  signatureAlgorithm: string;
  /** the contents of subjectPublicKeyInfo.subjectPublicKey, without the unused-bits octet */
  subjectPublicKey: Uint8Array;
}

/** Skip one TLV of any type. */
function skipAny(r: ReadCursor, field: string): void {
  readTag(r, PDU, field);
  const len = readLength(r, PDU, field);
  r.skip(len, PDU, field);
}

/** X.690 8.19: the first octet holds two arcs, then base-128 groups. */
export function decodeOid(bytes: Uint8Array, at = 0): string {
  if (bytes.length === 0) throw new DecodeError('InvalidField', PDU, 'OID', at, 'empty OBJECT IDENTIFIER');
  const arcs: number[] = [];
  let v = 0;
  for (let i = 0; i < bytes.length; i++) {
    const b = bytes[i]!;
    v = v * 128 + (b & 0x7f);
    if (v > Number.MAX_SAFE_INTEGER / 128) throw new DecodeError('UnsupportedValue', PDU, 'OID', at + i, 'arc too large');
    if ((b & 0x80) === 0) {
      if (arcs.length === 0) arcs.push(v < 80 ? Math.floor(v / 40) : 2, v < 80 ? v % 40 : v - 80);
      else arcs.push(v);
      v = 0;
    } else if (i === bytes.length - 1) {
      throw new DecodeError('InvalidField', PDU, 'OID', at + i, 'last arc is not terminated');
    }
  }
  return arcs.join('.');
}

/** SubjectPublicKeyInfo ::= SEQUENCE { algorithm, subjectPublicKey BIT STRING }: the key bytes. */
function readSpki(r: ReadCursor): Uint8Array {
  const spki = readTlv(r, UNIVERSAL, true, SEQUENCE, PDU, 'subjectPublicKeyInfo');
  skipAny(spki, 'algorithm');
  const bits = readTlv(spki, UNIVERSAL, false, BIT_STRING, PDU, 'subjectPublicKey');
  const unused = bits.u8(PDU, 'subjectPublicKey');
  if (unused !== 0) throw new DecodeError('UnsupportedValue', PDU, 'subjectPublicKey', bits.at - 1, `${unused} unused bits`);
  return bits.rest();
}

/** The subjectPublicKey of a DER SubjectPublicKeyInfo (as node's KeyObject exports it). */
export function spkiSubjectPublicKey(spkiDer: Uint8Array): Uint8Array {
  return readSpki(new ReadCursor(spkiDer));
}

export function certificateParts(der: Uint8Array): CertificateParts {
  const outer = new ReadCursor(der);
  const cert = readTlv(outer, UNIVERSAL, true, SEQUENCE, PDU, 'Certificate');
  const tbs = readTlv(cert, UNIVERSAL, true, SEQUENCE, PDU, 'tbsCertificate');
  // version [0] EXPLICIT is optional (absent for v1 certificates)
  if (!tbs.isEmpty() && tbs.peekU8(PDU, 'version') === (CONTEXT | 0x20 | 0)) skipAny(tbs, 'version');
  for (const f of ['serialNumber', 'signature', 'issuer', 'validity', 'subject']) skipAny(tbs, f);
  const subjectPublicKey = readSpki(tbs);
  const alg = readTlv(cert, UNIVERSAL, true, SEQUENCE, PDU, 'signatureAlgorithm');
  const oidAt = alg.at;
  const oid = readTlv(alg, UNIVERSAL, false, OID, PDU, 'signatureAlgorithm.algorithm');
  return { signatureAlgorithm: decodeOid(oid.rest(), oidAt), subjectPublicKey };
}
