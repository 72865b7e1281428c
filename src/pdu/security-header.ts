import { ReadCursor, WriteCursor } from './cursor.js';
import { DecodeError, EncodeError } from './errors.js';
import { ENCRYPTION_METHOD_FIPS, ENCRYPTION_METHOD_NONE } from './client-data.js';
import { ENCRYPTION_LEVEL_LOW, ENCRYPTION_LEVEL_NONE } from './server-data.js';

/**
 * Security headers of slow-path PDUs (MS-RDPBCGR 2.2.8.1.1.2: Basic TS_SECURITY_HEADER
 * 2.2.8.1.1.2.1, Non-FIPS TS_SECURITY_HEADER1 2.2.8.1.1.2.2, FIPS TS_SECURITY_HEADER2
 * 2.2.8.1.1.2.3) and the Security Exchange PDU data (TS_SECURITY_PACKET, 2.2.1.10.1).
 *
 * Which header a PDU carries is not in the bytes: it follows from the security protocol, the
 * encryption level and method the server chose (2.2.1.11.1 securityHeader, 2.2.8.1.1.2, 5.3),
 * and from the PDU (the Client Info PDU and licensing PDUs always carry at least the basic
 * header under Standard RDP Security; with ENCRYPTION_LEVEL_NONE other PDUs carry none). So
 * the caller (the connector, which knows all that) names the form:
 *
 * - 'none': no security header at all;
 * - 'basic': flags and flagsHi only;
 * - 'rc4': RC4 methods (40, 56, 128-bit): the basic header, then an 8-byte dataSignature when
 *   SEC_ENCRYPT is set;
 * - 'fips': ENCRYPTION_METHOD_FIPS: the basic header, then length, version, padlen and the
 *   8-byte dataSignature when SEC_ENCRYPT is set.
 *
 * For 'rc4' and 'fips' a PDU without SEC_ENCRYPT (a licensing PDU in clear, the Security
 * Exchange PDU) has the basic header only, and decodes to form 'basic'.
 */

const SEC = 'TS_SECURITY_HEADER';
const SEC1 = 'TS_SECURITY_HEADER1';
const SEC2 = 'TS_SECURITY_HEADER2';
const PACKET = 'TS_SECURITY_PACKET';

/** TS_SECURITY_HEADER.flags (MS-RDPBCGR 2.2.8.1.1.2.1). */
export const SEC_EXCHANGE_PKT = 0x0001;
export const SEC_TRANSPORT_REQ = 0x0002;
export const SEC_TRANSPORT_RSP = 0x0004;
export const SEC_ENCRYPT = 0x0008;
export const SEC_RESET_SEQNO = 0x0010;
export const SEC_IGNORE_SEQNO = 0x0020;
export const SEC_INFO_PKT = 0x0040;
export const SEC_LICENSE_PKT = 0x0080;
/** the spec gives the same bit two names: client-to-server and server-to-client licensing encryption */
export const SEC_LICENSE_ENCRYPT_CS = 0x0200;
export const SEC_LICENSE_ENCRYPT_SC = 0x0200;
export const SEC_REDIRECTION_PKT = 0x0400;
/** the MAC is the salted one (MS-RDPBCGR 5.3.6.1.1) */
export const SEC_SECURE_CHECKSUM = 0x0800;
export const SEC_AUTODETECT_REQ = 0x1000;
export const SEC_AUTODETECT_RSP = 0x2000;
export const SEC_HEARTBEAT = 0x4000;
/** flagsHi holds valid data; without it flagsHi "MAY contain random data" (xrdp puts the PDU length there) */
export const SEC_FLAGSHI_VALID = 0x8000;

export const SECURITY_FLAG_NAMES: Readonly<Record<number, string>> = Object.freeze({
  [SEC_EXCHANGE_PKT]: 'SEC_EXCHANGE_PKT',
  [SEC_TRANSPORT_REQ]: 'SEC_TRANSPORT_REQ',
  [SEC_TRANSPORT_RSP]: 'SEC_TRANSPORT_RSP',
  [SEC_ENCRYPT]: 'SEC_ENCRYPT',
  [SEC_RESET_SEQNO]: 'SEC_RESET_SEQNO',
  [SEC_IGNORE_SEQNO]: 'SEC_IGNORE_SEQNO',
  [SEC_INFO_PKT]: 'SEC_INFO_PKT',
  [SEC_LICENSE_PKT]: 'SEC_LICENSE_PKT',
  [SEC_LICENSE_ENCRYPT_CS]: 'SEC_LICENSE_ENCRYPT_CS',
  [SEC_REDIRECTION_PKT]: 'SEC_REDIRECTION_PKT',
  [SEC_SECURE_CHECKSUM]: 'SEC_SECURE_CHECKSUM',
  [SEC_AUTODETECT_REQ]: 'SEC_AUTODETECT_REQ',
  [SEC_AUTODETECT_RSP]: 'SEC_AUTODETECT_RSP',
  [SEC_HEARTBEAT]: 'SEC_HEARTBEAT',
  [SEC_FLAGSHI_VALID]: 'SEC_FLAGSHI_VALID',
});

/** The names of the bits set in `flags`; unknown bits as hex. */
export function securityFlagNames(flags: number): string[] {
  const out: string[] = [];
  for (let bit = 1; bit <= 0x8000; bit <<= 1) {
    if (flags & bit) out.push(SECURITY_FLAG_NAMES[bit] ?? `0x${bit.toString(16).padStart(4, '0')}`);
  }
  return out;
}

/** TS_SECURITY_HEADER2.length: the FIPS header is 16 bytes (MS-RDPBCGR 2.2.8.1.1.2.3). */
export const FIPS_HEADER_LENGTH = 0x10;
/** TS_SECURITY_HEADER2.version. */
export const TSFIPS_VERSION1 = 0x01;
/** 3DES block size: padlen is below it. */
const FIPS_BLOCK = 8;
/** Size of dataSignature (a 64-bit MAC, MS-RDPBCGR 5.3.6). */
export const DATA_SIGNATURE_LENGTH = 8;

export type SecurityHeaderForm = 'none' | 'basic' | 'rc4' | 'fips';

export type SecurityHeader =
  | { form: 'none' }
  | { form: 'basic'; flags: number; flagsHi: number }
  | { form: 'rc4'; flags: number; flagsHi: number; dataSignature: Uint8Array }
  | { form: 'fips'; flags: number; flagsHi: number; length: number; version: number; padlen: number; dataSignature: Uint8Array };

/**
 * The form a PDU's security header takes, from the server's choice in TS_UD_SC_SEC1 (what
 * MS-RDPBCGR states for each PDU, e.g. 2.2.1.11.1 for the Client Info PDU, 2.2.1.12.1 for
 * licensing, 2.2.1.13.1 for Demand Active): with level and method NONE (also Enhanced RDP
 * Security) only the Client Info and licensing PDUs carry a header, the basic one; with
 * ENCRYPTION_LEVEL_LOW server-to-client PDUs carry the basic header; otherwise the method's
 * header. ('rc4' and 'fips' decode a header without SEC_ENCRYPT as 'basic' anyway.)
 */
export function securityHeaderForm(
  encryptionMethod: number,
  encryptionLevel: number,
  pdu: 'clientInfo' | 'licensing' | 'other',
  dir: 'c2s' | 's2c',
): SecurityHeaderForm {
  if (encryptionLevel === ENCRYPTION_LEVEL_NONE || encryptionMethod === ENCRYPTION_METHOD_NONE) return pdu === 'other' ? 'none' : 'basic';
  if (encryptionLevel === ENCRYPTION_LEVEL_LOW && dir === 's2c') return 'basic';
  return encryptionMethod === ENCRYPTION_METHOD_FIPS ? 'fips' : 'rc4';
}

/** Bytes the header takes for this form and these flags. */
export function securityHeaderSize(form: SecurityHeaderForm, flags: number): number {
  if (form === 'none') return 0;
  if (form === 'basic' || (flags & SEC_ENCRYPT) === 0) return 4; // flags, flagsHi
  return form === 'rc4' ? 4 + DATA_SIGNATURE_LENGTH : 4 + 4 + DATA_SIGNATURE_LENGTH; // + length, version, padlen
}

/** Read a security header of the given form from the cursor (the PDU body follows it). */
export function decodeSecurityHeader(r: ReadCursor, form: SecurityHeaderForm): SecurityHeader {
  if (form === 'none') return { form: 'none' };
  const flags = r.u16le(SEC, 'flags');
  const flagsHi = r.u16le(SEC, 'flagsHi');
  if (form === 'basic' || (flags & SEC_ENCRYPT) === 0) return { form: 'basic', flags, flagsHi };
  if (form === 'rc4') {
    return { form: 'rc4', flags, flagsHi, dataSignature: r.bytes(DATA_SIGNATURE_LENGTH, SEC1, 'dataSignature') };
  }
  const at = r.at;
  const length = r.u16le(SEC2, 'length');
  if (length !== FIPS_HEADER_LENGTH) {
    throw new DecodeError('InvalidField', SEC2, 'length', at, `length ${length}, must be 16`);
  }
  const version = r.u8(SEC2, 'version');
  const pat = r.at;
  const padlen = r.u8(SEC2, 'padlen');
  if (padlen >= FIPS_BLOCK) throw new DecodeError('InvalidField', SEC2, 'padlen', pat, `padlen ${padlen} is not below the 8-byte block`);
  return { form: 'fips', flags, flagsHi, length, version, padlen, dataSignature: r.bytes(DATA_SIGNATURE_LENGTH, SEC2, 'dataSignature') };
}

export function encodeSecurityHeader(h: SecurityHeader, w: WriteCursor): void {
  if (h.form === 'none') return;
  const encrypted = (h.flags & SEC_ENCRYPT) !== 0;
  if (h.form !== 'basic' && !encrypted) {
    throw new EncodeError(h.form === 'rc4' ? SEC1 : SEC2, 'flags', 'a header with a dataSignature needs SEC_ENCRYPT');
  }
  w.u16le(h.flags); // flags
  w.u16le(h.flagsHi); // flagsHi
  if (h.form === 'basic') return;
  if (h.dataSignature.length !== DATA_SIGNATURE_LENGTH) {
    throw new EncodeError(h.form === 'rc4' ? SEC1 : SEC2, 'dataSignature', `${h.dataSignature.length} bytes, must be 8`);
  }
  if (h.form === 'fips') {
    if (h.padlen < 0 || h.padlen >= FIPS_BLOCK) throw new EncodeError(SEC2, 'padlen', `${h.padlen} is not in 0..7`);
    w.u16le(h.length); // length (0x10)
    w.u8(h.version); // version
    w.u8(h.padlen); // padlen
  }
  w.bytes(h.dataSignature);
}

/** Split a Send Data userData into its security header and the rest (a view). */
export function splitSecurityHeader(bytes: Uint8Array, form: SecurityHeaderForm): { header: SecurityHeader; body: Uint8Array } {
  const r = new ReadCursor(bytes);
  const header = decodeSecurityHeader(r, form);
  return { header, body: r.rest() };
}

/** Prefix a body with a security header. */
export function joinSecurityHeader(header: SecurityHeader, body: Uint8Array): Buffer {
  const w = new WriteCursor(securityHeaderSize(header.form, header.form === 'none' ? 0 : header.flags) + body.length);
  encodeSecurityHeader(header, w);
  w.bytes(body);
  return w.finish();
}

/**
 * TS_SECURITY_PACKET (MS-RDPBCGR 2.2.1.10.1): length (u32le) of encryptedClientRandom, which
 * is the client random encrypted with the server's RSA key (little-endian, as long as the
 * modulus) followed by 8 zero bytes of padding. `encryptedClientRandom` here excludes the
 * padding; length = encryptedClientRandom.length + 8.
 */
export interface SecurityPacket {
  encryptedClientRandom: Uint8Array;
}

/** The 8 zero bytes after the encrypted client random (MS-RDPBCGR 2.2.1.10.1). */
export const SECURITY_PACKET_PADDING = 8;

function cursorOf(input: ReadCursor | Uint8Array): { r: ReadCursor; whole: boolean } {
  return input instanceof ReadCursor ? { r: input, whole: false } : { r: new ReadCursor(input), whole: true };
}

export function decodeSecurityPacket(input: ReadCursor | Uint8Array): SecurityPacket {
  const { r, whole } = cursorOf(input);
  const at = r.at;
  const length = r.u32le(PACKET, 'length');
  if (length < SECURITY_PACKET_PADDING || length > r.remaining) {
    throw new DecodeError('InvalidField', PACKET, 'length', at, `length ${length} is below 8 or exceeds the ${r.remaining} bytes that follow`);
  }
  const encryptedClientRandom = r.bytes(length - SECURITY_PACKET_PADDING, PACKET, 'encryptedClientRandom');
  const pat = r.at;
  if (r.bytes(SECURITY_PACKET_PADDING, PACKET, 'padding').some((b) => b !== 0)) {
    throw new DecodeError('InvalidField', PACKET, 'padding', pat, 'padding bytes are not zero');
  }
  if (whole) r.expectEnd(PACKET);
  return { encryptedClientRandom };
}

export function encodeSecurityPacket(v: SecurityPacket, w: WriteCursor): void {
  w.u32le(v.encryptedClientRandom.length + SECURITY_PACKET_PADDING); // length, padding included
  w.bytes(v.encryptedClientRandom);
  w.zeros(SECURITY_PACKET_PADDING);
}

/**
 * The Security Exchange PDU data (MS-RDPBCGR 2.2.1.10: the Send Data Request userData): a
 * basic security header whose flags include SEC_EXCHANGE_PKT (FreeRDP also sets
 * SEC_LICENSE_ENCRYPT_CS), then TS_SECURITY_PACKET.
 */
export interface SecurityExchangePdu {
  flags: number;
  flagsHi: number;
  packet: SecurityPacket;
}

export function decodeSecurityExchangePdu(bytes: Uint8Array): SecurityExchangePdu {
  const r = new ReadCursor(bytes);
  const header = decodeSecurityHeader(r, 'basic') as Extract<SecurityHeader, { form: 'basic' }>;
  if ((header.flags & SEC_EXCHANGE_PKT) === 0) {
    throw new DecodeError('UnexpectedType', SEC, 'flags', 0, `flags 0x${header.flags.toString(16)} lack SEC_EXCHANGE_PKT`);
  }
  const packet = decodeSecurityPacket(r);
  r.expectEnd(PACKET);
  return { flags: header.flags, flagsHi: header.flagsHi, packet };
}

export function encodeSecurityExchangePdu(v: SecurityExchangePdu, w: WriteCursor): void {
  encodeSecurityHeader({ form: 'basic', flags: v.flags | SEC_EXCHANGE_PKT, flagsHi: v.flagsHi }, w);
  encodeSecurityPacket(v.packet, w);
}
