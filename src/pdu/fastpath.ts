import { ReadCursor, WriteCursor } from './cursor.js';
import { DecodeError, EncodeError } from './errors.js';
import { DATA_SIGNATURE_LENGTH, FIPS_HEADER_LENGTH } from './security-header.js';

/**
 * Fast-path framing (MS-RDPBCGR 2.2.9.1.2 Server Fast-Path Update PDU, TS_FP_UPDATE_PDU;
 * 2.2.9.1.2.1 Fast-Path Update, TS_FP_UPDATE; 2.2.8.1.2 Client Fast-Path Input Event PDU,
 * TS_FP_INPUT_PDU, header only): enough to frame, skip or hand to the decryptor the fast-path
 * PDUs a server sends as soon as activation ends (xrdp and FreeRDP send fast-path updates
 * right after the Font Map). The update contents (bitmaps, pointers, orders) stay raw.
 *
 * Header octet: action in bits 0-1 (FASTPATH_OUTPUT_ACTION_FASTPATH = 0; 3 would be a TPKT),
 * 4 reserved bits (for input: numEvents), flags in bits 6-7. Then a length of 1 octet, or 2
 * octets big-endian with the top bit set, counting the whole PDU. When encrypted: the FIPS
 * information (FIPS method only: length 0x10, version, padlen) and the 8-byte dataSignature.
 * As with slow-path headers (security-header.ts), the caller names the method's form.
 */

const OUT = 'TS_FP_UPDATE_PDU';
const UPD = 'TS_FP_UPDATE';
const IN = 'TS_FP_INPUT_PDU';

export const FASTPATH_OUTPUT_ACTION_FASTPATH = 0x0;
export const FASTPATH_OUTPUT_ACTION_X224 = 0x3;
/** fpOutputHeader / fpInputHeader flags (2 bits). */
export const FASTPATH_OUTPUT_SECURE_CHECKSUM = 0x1;
export const FASTPATH_OUTPUT_ENCRYPTED = 0x2;
export const FASTPATH_INPUT_SECURE_CHECKSUM = 0x1;
export const FASTPATH_INPUT_ENCRYPTED = 0x2;
/** The largest length the two-octet form holds. */
export const FASTPATH_MAX_LENGTH = 0x7fff;

/** updateCode (2.2.9.1.2.1). */
export const FASTPATH_UPDATETYPE_ORDERS = 0x0;
export const FASTPATH_UPDATETYPE_BITMAP = 0x1;
export const FASTPATH_UPDATETYPE_PALETTE = 0x2;
export const FASTPATH_UPDATETYPE_SYNCHRONIZE = 0x3;
export const FASTPATH_UPDATETYPE_SURFCMDS = 0x4;
export const FASTPATH_UPDATETYPE_PTR_NULL = 0x5;
export const FASTPATH_UPDATETYPE_PTR_DEFAULT = 0x6;
export const FASTPATH_UPDATETYPE_PTR_POSITION = 0x8;
export const FASTPATH_UPDATETYPE_COLOR = 0x9;
export const FASTPATH_UPDATETYPE_CACHED = 0xa;
export const FASTPATH_UPDATETYPE_POINTER = 0xb;
export const FASTPATH_UPDATETYPE_LARGE_POINTER = 0xc;
export const FASTPATH_UPDATETYPE_NAMES: Readonly<Record<number, string>> = Object.freeze({
  0x0: 'FASTPATH_UPDATETYPE_ORDERS',
  0x1: 'FASTPATH_UPDATETYPE_BITMAP',
  0x2: 'FASTPATH_UPDATETYPE_PALETTE',
  0x3: 'FASTPATH_UPDATETYPE_SYNCHRONIZE',
  0x4: 'FASTPATH_UPDATETYPE_SURFCMDS',
  0x5: 'FASTPATH_UPDATETYPE_PTR_NULL',
  0x6: 'FASTPATH_UPDATETYPE_PTR_DEFAULT',
  0x8: 'FASTPATH_UPDATETYPE_PTR_POSITION',
  0x9: 'FASTPATH_UPDATETYPE_COLOR',
  0xa: 'FASTPATH_UPDATETYPE_CACHED',
  0xb: 'FASTPATH_UPDATETYPE_POINTER',
  0xc: 'FASTPATH_UPDATETYPE_LARGE_POINTER',
});
/** fragmentation (2.2.9.1.2.1). */
export const FASTPATH_FRAGMENT_SINGLE = 0x0;
export const FASTPATH_FRAGMENT_LAST = 0x1;
export const FASTPATH_FRAGMENT_FIRST = 0x2;
export const FASTPATH_FRAGMENT_NEXT = 0x3;
/** compression (2.2.9.1.2.1): compressionFlags follows the header only with this value. */
export const FASTPATH_OUTPUT_COMPRESSION_USED = 0x2;

export type FastPathSecurityForm = 'none' | 'rc4' | 'fips';

/** fipsInformation (2.2.9.1.2): the tail of TS_SECURITY_HEADER2. */
export interface FastPathFipsInformation {
  length: number;
  version: number;
  padlen: number;
}

/** Header fields shared by fast-path output and input PDUs. */
interface FastPathFrame {
  /** FASTPATH_OUTPUT_* / FASTPATH_INPUT_* flags */
  flags: number;
  /** the length was written in two octets although below 128 (xrdp does) */
  longLength?: boolean;
  fipsInformation?: FastPathFipsInformation;
  dataSignature?: Uint8Array;
  /** what follows: fpOutputUpdates / fpInputEvents, encrypted when flags has ENCRYPTED */
  data: Uint8Array;
}

/** TS_FP_UPDATE_PDU. */
export interface FastPathOutputPdu extends FastPathFrame {
  /** the 4 reserved header bits, recorded only when not zero */
  reserved?: number;
}

/**
 * TS_FP_INPUT_PDU. numEvents comes from the header bits (1..15), or else from the numEvents
 * octet before the events; when the PDU is encrypted that octet is inside the encrypted data,
 * so numEvents reads 0 and the octet stays at the start of `data`.
 */
export interface FastPathInputPdu extends FastPathFrame {
  numEvents: number;
}

function decodeFrame(bytes: Uint8Array, form: FastPathSecurityForm, pdu: string): { b0: number; frame: FastPathFrame; r: ReadCursor } {
  const r = new ReadCursor(bytes);
  const b0 = r.u8(pdu, 'header');
  if ((b0 & 0x03) !== FASTPATH_OUTPUT_ACTION_FASTPATH) {
    throw new DecodeError('UnexpectedType', pdu, 'action', 0, `action ${b0 & 0x03} is not FASTPATH_ACTION_FASTPATH`);
  }
  const l1 = r.u8(pdu, 'length');
  const length = l1 & 0x80 ? ((l1 & 0x7f) << 8) | r.u8(pdu, 'length') : l1;
  if (length !== bytes.length) {
    throw new DecodeError(length > bytes.length ? 'NotEnoughBytes' : 'InvalidField', pdu, 'length', 1, `length ${length} does not match the ${bytes.length} bytes`);
  }
  const flags = b0 >> 6;
  const frame: FastPathFrame = { flags, data: new Uint8Array(0) };
  if (l1 & 0x80 && length < 0x80) frame.longLength = true;
  if (flags & FASTPATH_OUTPUT_ENCRYPTED && form !== 'none') {
    if (form === 'fips') {
      const at = r.at;
      const fipsLength = r.u16le(pdu, 'fipsInformation.length');
      if (fipsLength !== FIPS_HEADER_LENGTH) throw new DecodeError('InvalidField', pdu, 'fipsInformation.length', at, `length ${fipsLength}, must be 16`);
      const version = r.u8(pdu, 'fipsInformation.version');
      const pat = r.at;
      const padlen = r.u8(pdu, 'fipsInformation.padlen');
      if (padlen >= 8) throw new DecodeError('InvalidField', pdu, 'fipsInformation.padlen', pat, `padlen ${padlen} is not below 8`);
      frame.fipsInformation = { length: fipsLength, version, padlen };
    }
    frame.dataSignature = r.bytes(DATA_SIGNATURE_LENGTH, pdu, 'dataSignature');
  } else if (flags & FASTPATH_OUTPUT_ENCRYPTED) {
    throw new DecodeError('InvalidField', pdu, 'flags', 0, 'encrypted fast-path PDU without an encryption method');
  }
  return { b0, frame, r };
}

/**
 * Decode a whole TS_FP_UPDATE_PDU (one frame as TPKT_OR_FASTPATH_HINT delimits it). `form`
 * is the server's method: 'none' (no Standard RDP Security encryption), 'rc4' or 'fips'.
 */
export function decodeFastPathOutput(bytes: Uint8Array, form: FastPathSecurityForm): FastPathOutputPdu {
  const { b0, frame, r } = decodeFrame(bytes, form, OUT);
  const v: FastPathOutputPdu = { ...frame, data: r.rest() };
  if ((b0 >> 2) & 0x0f) v.reserved = (b0 >> 2) & 0x0f;
  return v;
}

/** Decode a whole TS_FP_INPUT_PDU header; fpInputEvents stay raw in `data`. */
export function decodeFastPathInput(bytes: Uint8Array, form: FastPathSecurityForm): FastPathInputPdu {
  const { b0, frame, r } = decodeFrame(bytes, form, IN);
  let numEvents = (b0 >> 2) & 0x0f;
  // numEvents 0 in the header: the count is the first octet after the security fields (unencrypted only)
  if (numEvents === 0 && !(frame.flags & FASTPATH_INPUT_ENCRYPTED)) numEvents = r.u8(IN, 'numEvents');
  return { ...frame, numEvents, data: r.rest() };
}

function encodeFrame(b0: number, v: FastPathFrame, prefix: Uint8Array, w: WriteCursor, pdu: string): void {
  const encrypted = (v.flags & FASTPATH_OUTPUT_ENCRYPTED) !== 0;
  if (encrypted !== (v.dataSignature !== undefined)) throw new EncodeError(pdu, 'dataSignature', 'present exactly when the ENCRYPTED flag is set');
  if (v.dataSignature && v.dataSignature.length !== DATA_SIGNATURE_LENGTH) throw new EncodeError(pdu, 'dataSignature', 'must be 8 bytes');
  const security = (v.fipsInformation ? 4 : 0) + (v.dataSignature ? DATA_SIGNATURE_LENGTH : 0);
  const short = 2 + security + prefix.length + v.data.length;
  const long = v.longLength || short >= 0x80;
  const length = long ? short + 1 : short;
  if (length > FASTPATH_MAX_LENGTH) throw new EncodeError(pdu, 'length', `${length} bytes exceed 32767`);
  w.u8(b0 | ((v.flags & 0x3) << 6)); // header: action, reserved/numEvents, flags
  if (long) w.u16be(0x8000 | length);
  else w.u8(length);
  if (v.fipsInformation) w.u16le(v.fipsInformation.length).u8(v.fipsInformation.version).u8(v.fipsInformation.padlen);
  if (v.dataSignature) w.bytes(v.dataSignature);
  w.bytes(prefix).bytes(v.data);
}

export function encodeFastPathOutput(v: FastPathOutputPdu, w: WriteCursor): void {
  encodeFrame(((v.reserved ?? 0) & 0x0f) << 2, v, new Uint8Array(0), w, OUT);
}

export function encodeFastPathInput(v: FastPathInputPdu, w: WriteCursor): void {
  if (!Number.isInteger(v.numEvents) || v.numEvents < 0 || v.numEvents > 0xff) throw new EncodeError(IN, 'numEvents', `${v.numEvents} is not an octet`);
  const inHeader = v.numEvents > 0 && v.numEvents < 16;
  const encrypted = (v.flags & FASTPATH_INPUT_ENCRYPTED) !== 0;
  // encrypted with the count outside the header: the caller's `data` already starts with it
  const prefix = inHeader || encrypted ? new Uint8Array(0) : Uint8Array.of(v.numEvents);
  encodeFrame((inHeader ? v.numEvents : 0) << 2, v, prefix, w, IN);
}

/** TS_FP_UPDATE (2.2.9.1.2.1). */
export interface FastPathUpdate {
  /** FASTPATH_UPDATETYPE_* */
  updateCode: number;
  /** FASTPATH_FRAGMENT_* */
  fragmentation: number;
  /** FASTPATH_OUTPUT_COMPRESSION_USED or 0 */
  compression: number;
  /** bulk compression flags, present when compression is FASTPATH_OUTPUT_COMPRESSION_USED */
  compressionFlags?: number;
  /** the (possibly compressed) update, `size` bytes */
  updateData: Uint8Array;
}

/** Split decrypted fpOutputUpdates into updates; each size is checked against what is left. */
export function decodeFastPathUpdates(data: Uint8Array): FastPathUpdate[] {
  const r = new ReadCursor(data);
  const out: FastPathUpdate[] = [];
  while (!r.isEmpty()) {
    const h = r.u8(UPD, 'updateHeader');
    const u: FastPathUpdate = { updateCode: h & 0x0f, fragmentation: (h >> 4) & 0x03, compression: h >> 6, updateData: new Uint8Array(0) };
    if (u.compression === FASTPATH_OUTPUT_COMPRESSION_USED) u.compressionFlags = r.u8(UPD, 'compressionFlags');
    const size = r.u16le(UPD, 'size');
    u.updateData = r.bytes(size, UPD, 'updateData');
    out.push(u);
  }
  return out;
}

export function encodeFastPathUpdates(updates: readonly FastPathUpdate[], w: WriteCursor): void {
  for (const u of updates) {
    if (u.updateCode > 0x0f || u.fragmentation > 3 || u.compression > 3) throw new EncodeError(UPD, 'updateHeader', 'a field does not fit its bits');
    if ((u.compression === FASTPATH_OUTPUT_COMPRESSION_USED) !== (u.compressionFlags !== undefined)) {
      throw new EncodeError(UPD, 'compressionFlags', 'present exactly when compression is FASTPATH_OUTPUT_COMPRESSION_USED');
    }
    if (u.updateData.length > 0xffff) throw new EncodeError(UPD, 'size', `${u.updateData.length} bytes exceed 65535`);
    w.u8(u.updateCode | (u.fragmentation << 4) | (u.compression << 6)); // updateHeader
    if (u.compressionFlags !== undefined) w.u8(u.compressionFlags);
    w.u16le(u.updateData.length); // size
    w.bytes(u.updateData);
  }
}

export function fastPathUpdateName(code: number): string {
  return FASTPATH_UPDATETYPE_NAMES[code] ?? `unknown (0x${code.toString(16)})`;
}
