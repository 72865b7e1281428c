import { ReadCursor, WriteCursor } from './cursor.js';
import { DecodeError } from './errors.js';

/**
 * RDP security protocol negotiation structures carried in the X.224 Connection Request and
 * Confirm (MS-RDPBCGR 2.2.1.1.1, 2.2.1.1.2, 2.2.1.2.1, 2.2.1.2.2). All integers little-endian;
 * RDP_NEG_REQ/RSP/FAILURE are always 8 bytes.
 */

/** requestedProtocols / selectedProtocol values (MS-RDPBCGR 2.2.1.1.1). */
export const PROTOCOL = {
  RDP: 0x00000000,
  SSL: 0x00000001,
  HYBRID: 0x00000002,
  RDSTLS: 0x00000004,
  HYBRID_EX: 0x00000008,
  RDSAAD: 0x00000010,
} as const;
export type ProtocolName = keyof typeof PROTOCOL;
export const PROTOCOL_NAMES: readonly ProtocolName[] = ['RDP', 'SSL', 'HYBRID', 'RDSTLS', 'HYBRID_EX', 'RDSAAD'];

/** Names of the bits set in a requestedProtocols mask ("RDP" for 0), unknown bits as hex. */
export function protocolMaskNames(mask: number): string[] {
  if (mask === 0) return ['RDP'];
  const out: string[] = [];
  let rest = mask >>> 0;
  for (const n of PROTOCOL_NAMES) {
    const bit = PROTOCOL[n];
    if (bit !== 0 && (rest & bit) === bit) {
      out.push(n);
      rest = (rest & ~bit) >>> 0;
    }
  }
  if (rest) out.push(`0x${rest.toString(16)}`);
  return out;
}

/** The name of one selectedProtocol value, or its hex form when it is not a single known protocol. */
export function protocolName(value: number): string {
  const n = PROTOCOL_NAMES.find((p) => PROTOCOL[p] === value);
  return n ?? `0x${(value >>> 0).toString(16).padStart(8, '0')}`;
}

export const TYPE_RDP_NEG_REQ = 0x01;
export const TYPE_RDP_NEG_RSP = 0x02;
export const TYPE_RDP_NEG_FAILURE = 0x03;
export const TYPE_RDP_CORRELATION_INFO = 0x06;
const NEG_STRUCT_LENGTH = 8;
const CORRELATION_INFO_LENGTH = 36;

/** RDP_NEG_REQ flags (MS-RDPBCGR 2.2.1.1.1). */
export const NEG_REQ_FLAGS = {
  RESTRICTED_ADMIN_MODE_REQUIRED: 0x01,
  REDIRECTED_AUTHENTICATION_MODE_REQUIRED: 0x02,
  CORRELATION_INFO_PRESENT: 0x08,
} as const;

/** RDP_NEG_RSP flags (MS-RDPBCGR 2.2.1.2.1). */
export const NEG_RSP_FLAGS = {
  EXTENDED_CLIENT_DATA_SUPPORTED: 0x01,
  DYNVC_GFX_PROTOCOL_SUPPORTED: 0x02,
  NEGRSP_FLAG_RESERVED: 0x04,
  RESTRICTED_ADMIN_MODE_SUPPORTED: 0x08,
  REDIRECTED_AUTHENTICATION_MODE_SUPPORTED: 0x10,
} as const;

/** RDP_NEG_FAILURE failureCode values (MS-RDPBCGR 2.2.1.2.2). */
export const FAILURE_CODE = {
  SSL_REQUIRED_BY_SERVER: 1,
  SSL_NOT_ALLOWED_BY_SERVER: 2,
  SSL_CERT_NOT_ON_SERVER: 3,
  INCONSISTENT_FLAGS: 4,
  HYBRID_REQUIRED_BY_SERVER: 5,
  SSL_WITH_USER_AUTH_REQUIRED_BY_SERVER: 6,
} as const;
export type FailureCodeName = keyof typeof FAILURE_CODE;

export function failureCodeName(code: number): string {
  const e = Object.entries(FAILURE_CODE).find(([, v]) => v === code);
  return e ? e[0] : `UNKNOWN_FAILURE_CODE_${code}`;
}

/** Names of the bits set in a flags byte, unknown bits as hex. */
export function flagNames(flags: number, table: Record<string, number>): string[] {
  const out: string[] = [];
  let rest = flags;
  for (const [name, bit] of Object.entries(table)) {
    if (flags & bit) {
      out.push(name);
      rest &= ~bit;
    }
  }
  if (rest) out.push(`0x${rest.toString(16)}`);
  return out;
}

export interface RdpNegReq {
  type: 'RDP_NEG_REQ';
  flags: number;
  requestedProtocols: number;
}
export interface RdpNegRsp {
  type: 'RDP_NEG_RSP';
  flags: number;
  selectedProtocol: number;
}
export interface RdpNegFailure {
  type: 'RDP_NEG_FAILURE';
  flags: number;
  failureCode: number;
}
/** RDP_NEG_CORRELATION_INFO (MS-RDPBCGR 2.2.1.1.2): a 16-byte correlationId and 16 reserved bytes. */
export interface RdpNegCorrelationInfo {
  type: 'RDP_NEG_CORRELATION_INFO';
  flags: number;
  correlationId: Uint8Array;
}
export type RdpNegData = RdpNegReq | RdpNegRsp | RdpNegFailure;

/** The common 8-byte layout: type (1), flags (1), length (2) = 8, then a 4-byte value. */
export function encodeNegData(v: RdpNegData, w: WriteCursor): void {
  const type =
    v.type === 'RDP_NEG_REQ' ? TYPE_RDP_NEG_REQ : v.type === 'RDP_NEG_RSP' ? TYPE_RDP_NEG_RSP : TYPE_RDP_NEG_FAILURE;
  w.u8(type); // type
  w.u8(v.flags); // flags
  w.u16le(NEG_STRUCT_LENGTH); // length, always 8
  w.u32le(
    v.type === 'RDP_NEG_REQ' ? v.requestedProtocols : v.type === 'RDP_NEG_RSP' ? v.selectedProtocol : v.failureCode,
  );
}

/**
 * Decode one RDP_NEG_REQ, RDP_NEG_RSP or RDP_NEG_FAILURE; `expected` restricts the types
 * accepted (a Connection Confirm carries RSP or FAILURE, a Connection Request carries REQ).
 */
export function decodeNegData(r: ReadCursor, expected: readonly RdpNegData['type'][]): RdpNegData {
  const start = r.at;
  const type = r.u8('RDP_NEG_DATA', 'type');
  const name =
    type === TYPE_RDP_NEG_REQ
      ? 'RDP_NEG_REQ'
      : type === TYPE_RDP_NEG_RSP
        ? 'RDP_NEG_RSP'
        : type === TYPE_RDP_NEG_FAILURE
          ? 'RDP_NEG_FAILURE'
          : null;
  if (!name || !expected.includes(name)) {
    throw new DecodeError('UnexpectedType', 'RDP_NEG_DATA', 'type', start, `type 0x${type.toString(16)} where ${expected.join(' or ')} was expected`);
  }
  const flags = r.u8(name, 'flags');
  const length = r.u16le(name, 'length');
  if (length !== NEG_STRUCT_LENGTH) {
    throw new DecodeError('InvalidField', name, 'length', start + 2, `length ${length}, must be 8`);
  }
  const value = r.u32le(name, name === 'RDP_NEG_REQ' ? 'requestedProtocols' : name === 'RDP_NEG_RSP' ? 'selectedProtocol' : 'failureCode');
  if (name === 'RDP_NEG_REQ') return { type: name, flags, requestedProtocols: value };
  if (name === 'RDP_NEG_RSP') return { type: name, flags, selectedProtocol: value };
  return { type: name, flags, failureCode: value };
}

export function encodeCorrelationInfo(v: RdpNegCorrelationInfo, w: WriteCursor): void {
  w.u8(TYPE_RDP_CORRELATION_INFO); // type
  w.u8(0); // flags, MUST be 0
  w.u16le(CORRELATION_INFO_LENGTH); // length, always 36
  w.bytes(v.correlationId.subarray(0, 16)); // correlationId
  if (v.correlationId.length < 16) w.zeros(16 - v.correlationId.length);
  w.zeros(16); // reserved
}

export function decodeCorrelationInfo(r: ReadCursor): RdpNegCorrelationInfo {
  const start = r.at;
  const type = r.u8('RDP_NEG_CORRELATION_INFO', 'type');
  if (type !== TYPE_RDP_CORRELATION_INFO) {
    throw new DecodeError('UnexpectedType', 'RDP_NEG_CORRELATION_INFO', 'type', start, `type 0x${type.toString(16)}, expected 0x06`);
  }
  const flags = r.u8('RDP_NEG_CORRELATION_INFO', 'flags');
  const length = r.u16le('RDP_NEG_CORRELATION_INFO', 'length');
  if (length !== CORRELATION_INFO_LENGTH) {
    throw new DecodeError('InvalidField', 'RDP_NEG_CORRELATION_INFO', 'length', start + 2, `length ${length}, must be 36`);
  }
  const correlationId = Uint8Array.from(r.bytes(16, 'RDP_NEG_CORRELATION_INFO', 'correlationId'));
  r.skip(16, 'RDP_NEG_CORRELATION_INFO', 'reserved');
  return { type: 'RDP_NEG_CORRELATION_INFO', flags, correlationId };
}
