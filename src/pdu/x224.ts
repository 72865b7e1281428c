import { ReadCursor, WriteCursor } from './cursor.js';
import { DecodeError, EncodeError } from './errors.js';
import {
  NEG_REQ_FLAGS,
  decodeCorrelationInfo,
  decodeNegData,
  encodeCorrelationInfo,
  encodeNegData,
  type RdpNegCorrelationInfo,
  type RdpNegFailure,
  type RdpNegReq,
  type RdpNegRsp,
} from './nego.js';
import { decodeTpkt, encodeTpkt } from './tpkt.js';

/**
 * X.224 (ITU-T X.224 class 0) TPDUs as RDP uses them, each inside one TPKT
 * (MS-RDPBCGR 2.2.1.1 Client X.224 Connection Request, 2.2.1.2 Server X.224 Connection Confirm,
 * 2.2.8.1.1.1.1 x224Data). The length indicator (LI) counts the header bytes after itself.
 */
export const X224_CR = 0xe0;
export const X224_CC = 0xd0;
export const X224_DR = 0x80;
export const X224_DT = 0xf0;
export const X224_ER = 0x70;
/** Fixed part of a CR/CC after LI: code (1), DST-REF (2), SRC-REF (2), class option (1). */
const CONNECTION_FIXED = 6;
/** DT header: LI = 2, code 0xF0, EOT = 0x80 (MS-RDPBCGR 2.2.8.1.1.1.1 x224Data). */
const DT_HEADER = Uint8Array.of(0x02, X224_DT, 0x80);
/** The cookie prefix (MS-RDPBCGR 2.2.1.1): "Cookie: mstshash=IDENTIFIER\r\n". */
const COOKIE_PREFIX = 'Cookie: mstshash=';
/** FreeRDP caps the cookie at 255 bytes (DEFAULT_COOKIE_MAX_LENGTH); a longer token is bogus. */
export const MAX_TOKEN_LENGTH = 0xff + COOKIE_PREFIX.length + 2;

/** Client X.224 Connection Request PDU (MS-RDPBCGR 2.2.1.1). */
export interface ConnectionRequest {
  /** the mstshash identifier (usually the user name) from the cookie, without prefix and CR LF */
  cookie?: string;
  /** a routing token ([MSFT-SDLBTS] format), the raw bytes before CR LF */
  routingToken?: Uint8Array;
  /** absent for a legacy (pre-RDP 5.2) client: the server then assumes PROTOCOL_RDP */
  negReq?: RdpNegReq;
  correlationInfo?: RdpNegCorrelationInfo;
  srcRef?: number;
}

/** Server X.224 Connection Confirm PDU (MS-RDPBCGR 2.2.1.2). */
export interface ConnectionConfirm {
  /** absent when the server answers a legacy client, or is one */
  negotiation?: RdpNegRsp | RdpNegFailure;
  dstRef: number;
  srcRef: number;
}

function encodeConnection(code: number, dstRef: number, srcRef: number, variable: Uint8Array): Buffer {
  const li = CONNECTION_FIXED + variable.length;
  if (li > 0xfe) throw new EncodeError('X.224', 'LI', `header of ${li} bytes exceeds 254`);
  const w = new WriteCursor(1 + li);
  w.u8(li); // LI: length of the header after this byte
  w.u8(code); // CR-CDT or CC-CDT
  w.u16be(dstRef); // DST-REF
  w.u16be(srcRef); // SRC-REF
  w.u8(0); // CLASS OPTION: class 0
  w.bytes(variable);
  return encodeTpkt(w.finish());
}

export function encodeConnectionRequest(v: ConnectionRequest): Buffer {
  const w = new WriteCursor();
  if (v.routingToken && v.cookie !== undefined) {
    throw new EncodeError('X.224 Connection Request', 'cookie', 'a cookie MUST NOT appear together with a routingToken');
  }
  if (v.routingToken) {
    w.bytes(v.routingToken).u8(0x0d).u8(0x0a);
  } else if (v.cookie !== undefined) {
    if (/[\r\n]/.test(v.cookie)) throw new EncodeError('X.224 Connection Request', 'cookie', 'contains CR or LF');
    w.bytes(Buffer.from(COOKIE_PREFIX + v.cookie + '\r\n', 'latin1'));
  }
  if (v.negReq) {
    const flags = v.correlationInfo ? v.negReq.flags | NEG_REQ_FLAGS.CORRELATION_INFO_PRESENT : v.negReq.flags;
    encodeNegData({ ...v.negReq, flags }, w);
    if (v.correlationInfo) encodeCorrelationInfo(v.correlationInfo, w);
  }
  return encodeConnection(X224_CR, 0, v.srcRef ?? 0, w.finish());
}

export function encodeConnectionConfirm(v: ConnectionConfirm): Buffer {
  const w = new WriteCursor(8);
  if (v.negotiation) encodeNegData(v.negotiation, w);
  return encodeConnection(X224_CC, v.dstRef, v.srcRef, w.finish());
}

/** Read LI and check that it spans exactly the TPKT payload (a CR/CC carries no user data). */
function connectionHeader(payload: Uint8Array, pdu: string, code: number): ReadCursor {
  const r = new ReadCursor(payload);
  const li = r.u8(pdu, 'LI');
  if (li + 1 !== payload.length) {
    throw new DecodeError('InvalidField', pdu, 'LI', 0, `LI ${li} does not match the ${payload.length - 1} bytes that follow`);
  }
  if (li < CONNECTION_FIXED) {
    throw new DecodeError('InvalidField', pdu, 'LI', 0, `LI ${li} is below the fixed header size 6`);
  }
  const got = r.u8(pdu, 'code');
  if ((got & 0xf0) !== code) {
    throw new DecodeError('UnexpectedType', pdu, 'code', 1, `TPDU code 0x${got.toString(16)}, expected 0x${code.toString(16)}`);
  }
  return r;
}

/** Decode a whole TPKT frame holding a Connection Request (server side). */
export function decodeConnectionRequest(frame: Uint8Array): ConnectionRequest {
  const pdu = 'X.224 Connection Request';
  const r = connectionHeader(decodeTpkt(frame), pdu, X224_CR);
  r.u16be(pdu, 'DST-REF');
  const srcRef = r.u16be(pdu, 'SRC-REF');
  const cls = r.u8(pdu, 'CLASS OPTION');
  if ((cls & 0xf0) !== 0) {
    throw new DecodeError('UnsupportedValue', pdu, 'CLASS OPTION', r.at - 1, `class ${cls >> 4}, only class 0 is used by RDP`);
  }
  const out: ConnectionRequest = { srcRef };
  // routingToken or cookie: text up to CR LF, present when the variable part does not start
  // with an RDP_NEG_REQ type byte (MS-RDPBCGR 2.2.1.1).
  if (!r.isEmpty() && r.peekU8(pdu, 'rdpNegReq') !== 0x01) {
    const start = r.offset;
    const data = r.buf.subarray(start, r.length);
    let end = -1;
    for (let i = 0; i + 1 < data.length && i < MAX_TOKEN_LENGTH; i++) {
      if (data[i] === 0x0d && data[i + 1] === 0x0a) {
        end = i;
        break;
      }
    }
    if (end < 0) {
      throw new DecodeError('InvalidField', pdu, 'cookie', r.at, `token without CR LF in the first ${MAX_TOKEN_LENGTH} bytes`);
    }
    const token = r.bytes(end, pdu, 'cookie');
    r.skip(2, pdu, 'cookie CR LF');
    const text = Buffer.from(token).toString('latin1');
    if (text.startsWith(COOKIE_PREFIX)) out.cookie = text.slice(COOKIE_PREFIX.length);
    else out.routingToken = Uint8Array.from(token);
  }
  if (!r.isEmpty()) {
    const negReq = decodeNegData(r, ['RDP_NEG_REQ']) as RdpNegReq;
    out.negReq = negReq;
    if (negReq.flags & NEG_REQ_FLAGS.CORRELATION_INFO_PRESENT) out.correlationInfo = decodeCorrelationInfo(r);
  }
  r.expectEnd(pdu);
  return out;
}

/** Decode a whole TPKT frame holding a Connection Confirm (client side). */
export function decodeConnectionConfirm(frame: Uint8Array): ConnectionConfirm {
  const pdu = 'X.224 Connection Confirm';
  const r = connectionHeader(decodeTpkt(frame), pdu, X224_CC);
  const dstRef = r.u16be(pdu, 'DST-REF');
  const srcRef = r.u16be(pdu, 'SRC-REF');
  r.u8(pdu, 'CLASS OPTION');
  const out: ConnectionConfirm = { dstRef, srcRef };
  if (!r.isEmpty()) {
    out.negotiation = decodeNegData(r, ['RDP_NEG_RSP', 'RDP_NEG_FAILURE']) as RdpNegRsp | RdpNegFailure;
  }
  r.expectEnd(pdu);
  return out;
}

/** X.224 Disconnect Request (ITU-T X.224 13.5): some servers send it to refuse a connection. */
export interface DisconnectRequest {
  dstRef: number;
  srcRef: number;
  reason: number;
}

/** Encode an X.224 Disconnect Request (LI 6, code 0x80, DST-REF, SRC-REF, reason). */
export function encodeDisconnectRequest(v: DisconnectRequest): Buffer {
  const w = new WriteCursor(7);
  w.u8(6); // LI
  w.u8(X224_DR); // DR code
  w.u16be(v.dstRef); // DST-REF
  w.u16be(v.srcRef); // SRC-REF
  w.u8(v.reason); // reason
  return encodeTpkt(w.finish());
}

/** What a server may send in answer to a Connection Request. */
export type ServerConnectionAnswer =
  | ({ tpdu: 'CC' } & ConnectionConfirm)
  | ({ tpdu: 'DR' } & DisconnectRequest);

export function decodeServerConnectionAnswer(frame: Uint8Array): ServerConnectionAnswer {
  const payload = decodeTpkt(frame);
  const code = payload.length > 1 ? payload[1]! & 0xf0 : -1;
  if (code === X224_DR) {
    const pdu = 'X.224 Disconnect Request';
    const r = new ReadCursor(payload);
    const li = r.u8(pdu, 'LI');
    if (li + 1 > payload.length || li < 6) {
      throw new DecodeError('InvalidField', pdu, 'LI', 0, `LI ${li} does not fit the ${payload.length - 1} bytes that follow`);
    }
    r.u8(pdu, 'code');
    const dstRef = r.u16be(pdu, 'DST-REF');
    const srcRef = r.u16be(pdu, 'SRC-REF');
    const reason = r.u8(pdu, 'reason');
    return { tpdu: 'DR', dstRef, srcRef, reason };
  }
  return { tpdu: 'CC', ...decodeConnectionConfirm(frame) };
}

/** Wrap a payload (MCS PDU) in X.224 Data and TPKT. */
export function encodeX224Data(payload: Uint8Array): Buffer {
  const body = Buffer.alloc(DT_HEADER.length + payload.length);
  body.set(DT_HEADER, 0);
  body.set(payload, DT_HEADER.length);
  return encodeTpkt(body);
}

/** Unwrap TPKT and X.224 Data; returns the payload (a view). */
export function decodeX224Data(frame: Uint8Array): Uint8Array {
  const pdu = 'X.224 Data';
  const r = new ReadCursor(decodeTpkt(frame), 0, undefined, 4);
  const li = r.u8(pdu, 'LI');
  const code = r.u8(pdu, 'code');
  if ((code & 0xf0) !== X224_DT) {
    throw new DecodeError('UnexpectedType', pdu, 'code', r.at - 1, `TPDU code 0x${code.toString(16)}, expected Data (0xf0)`);
  }
  if (li !== 2) throw new DecodeError('InvalidField', pdu, 'LI', r.at - 2, `LI ${li}, must be 2`);
  r.u8(pdu, 'EOT');
  return r.rest();
}

/** The TPDU code of a TPKT frame's X.224 header, or null when it is too short to tell. */
export function x224Code(frame: Uint8Array): number | null {
  return frame.length > 5 ? frame[5]! & 0xf0 : null;
}
