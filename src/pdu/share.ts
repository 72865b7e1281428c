import { ReadCursor, WriteCursor } from './cursor.js';
import { DecodeError, EncodeError } from './errors.js';
import { decodeCapabilitySets, encodeCapabilitySets, type CapabilitySet } from './capabilities.js';
import { dataPduType2, decodeDataPduBody, encodeDataPduBody, pduType2Name, type DataPduBody } from './share-data.js';

/**
 * Slow-path share PDUs (MS-RDPBCGR 2.2.8.1.1.1): the Share Control Header (2.2.8.1.1.1.1:
 * totalLength, pduType with the protocol version in its high bits, pduSource), the Share Data
 * Header of Data PDUs (2.2.8.1.1.1.2), and the capability exchange: Demand Active
 * (2.2.1.13.1.1), Confirm Active (2.2.1.13.2.1), Deactivate All (2.2.3.1.1). Data PDU bodies
 * are in share-data.ts, capability sets in capabilities.ts. These are the bytes after the
 * security header (if any) of a Send Data Request / Indication. Integers are little-endian.
 */

const SCH = 'TS_SHARECONTROLHEADER';
const SDH = 'TS_SHAREDATAHEADER';
const DEMAND = 'TS_DEMAND_ACTIVE_PDU';
const CONFIRM = 'TS_CONFIRM_ACTIVE_PDU';
const DEACTIVATE = 'TS_DEACTIVATE_ALL_PDU';

/** pduType type nibble (MS-RDPBCGR 2.2.8.1.1.1.1). */
export const PDUTYPE_DEMANDACTIVEPDU = 0x1;
export const PDUTYPE_CONFIRMACTIVEPDU = 0x3;
export const PDUTYPE_DEACTIVATEALLPDU = 0x6;
export const PDUTYPE_DATAPDU = 0x7;
export const PDUTYPE_SERVER_REDIR_PKT = 0xa;
export const PDUTYPE_NAMES: Readonly<Record<number, string>> = Object.freeze({
  [PDUTYPE_DEMANDACTIVEPDU]: 'PDUTYPE_DEMANDACTIVEPDU',
  [PDUTYPE_CONFIRMACTIVEPDU]: 'PDUTYPE_CONFIRMACTIVEPDU',
  [PDUTYPE_DEACTIVATEALLPDU]: 'PDUTYPE_DEACTIVATEALLPDU',
  [PDUTYPE_DATAPDU]: 'PDUTYPE_DATAPDU',
  [PDUTYPE_SERVER_REDIR_PKT]: 'PDUTYPE_SERVER_REDIR_PKT',
});
export function pduTypeName(t: number): string {
  return PDUTYPE_NAMES[t] ?? `unknown (0x${t.toString(16)})`;
}
/** The protocol version in pduType's upper 12 bits: pduType = (TS_PROTOCOL_VERSION << 4) | type. */
export const TS_PROTOCOL_VERSION = 0x1;
/** A totalLength of 0x8000 marks a T.128 Flow PDU, not used by RDP 5+ peers (FreeRDP skips them). */
export const FLOW_PDU_MARKER = 0x8000;
/** Share Control Header size: totalLength, pduType, pduSource. */
export const SHARE_CONTROL_HEADER_SIZE = 6;
/** Share Data Header size after the control header: shareId .. compressedLength. */
export const SHARE_DATA_HEADER_SIZE = 12;

/** streamId (2.2.8.1.1.1.2). */
export const STREAM_UNDEFINED = 0x00;
export const STREAM_LOW = 0x01;
export const STREAM_MED = 0x02;
export const STREAM_HI = 0x04;
/** compressedType bits (2.2.8.1.1.1.2): compression flags, and the PACKET_COMPR_TYPE_* in the low nibble. */
export const PACKET_COMPRESSED = 0x20;
export const PACKET_AT_FRONT = 0x40;
export const PACKET_FLUSHED = 0x80;
export const COMPRESSION_TYPE_MASK = 0x0f;

/** The server's originatorId in Confirm Active (2.2.1.13.2.1): the server channel 1002. */
export const CONFIRM_ACTIVE_ORIGINATOR_ID = 0x03ea;

/** Demand Active (2.2.1.13.1.1). lengthSourceDescriptor / lengthCombinedCapabilities / numberCapabilities are derived. */
export interface DemandActive {
  shareId: number;
  /** "RDP\0" from Windows, xrdp and FreeRDP servers */
  sourceDescriptor: Uint8Array;
  capabilitySets: CapabilitySet[];
  /** absent when a (pre-RDP 5.1) server ends the PDU after the capability sets */
  sessionId?: number;
  /** pad2Octets, recorded only when not zero */
  pad2Octets?: number;
}

/** Confirm Active (2.2.1.13.2.1). */
export interface ConfirmActive {
  shareId: number;
  /** CONFIRM_ACTIVE_ORIGINATOR_ID (0x03EA) */
  originatorId: number;
  /** "MSTSC\0" from mstsc, "FREERDP\0" from FreeRDP */
  sourceDescriptor: Uint8Array;
  capabilitySets: CapabilitySet[];
  pad2Octets?: number;
}

/** Deactivate All (2.2.3.1.1): Windows sends lengthSourceDescriptor 1 and a single 0x00. */
export interface DeactivateAll {
  shareId: number;
  sourceDescriptor: Uint8Array;
}

/** A Data PDU: the Share Data Header fields (pduType2 follows from `body`) and the body. */
export interface DataPdu {
  shareId: number;
  streamId: number;
  /**
   * as sent; not checked (FreeRDP writes the body length, xrdp the whole PDU's totalLength).
   * When encoding, the body length if unset.
   */
  uncompressedLength?: number;
  /** PACKET_COMPRESSED etc.; with PACKET_COMPRESSED the body stays raw (bulk compression is not decoded) */
  compressedType: number;
  compressedLength: number;
  /** pad1, recorded only when not zero */
  pad1?: number;
  body: DataPduBody;
}

/** One share PDU (after the security header). */
export type SharePdu =
  | { kind: 'demandActive'; pduSource: number; value: DemandActive }
  | { kind: 'confirmActive'; pduSource: number; value: ConfirmActive }
  | { kind: 'deactivateAll'; pduSource: number; value: DeactivateAll }
  | { kind: 'data'; pduSource: number; value: DataPdu }
  | { kind: 'raw'; pduType: number; pduSource: number; data: Uint8Array };

/** Read the capability part: numberCapabilities, pad2Octets, the sets, exactly `length` bytes. */
function readCombinedCapabilities(r: ReadCursor, length: number, pdu: string): { sets: CapabilitySet[]; pad: number } {
  const c = r.sub(length, pdu, 'lengthCombinedCapabilities');
  const count = c.u16le(pdu, 'numberCapabilities');
  const pad = c.u16le(pdu, 'pad2Octets');
  const sets = decodeCapabilitySets(c, count);
  c.expectEnd(pdu);
  return { sets, pad };
}

function decodeDemandActive(r: ReadCursor): DemandActive {
  const shareId = r.u32le(DEMAND, 'shareId');
  const lengthSourceDescriptor = r.u16le(DEMAND, 'lengthSourceDescriptor');
  const lengthCombinedCapabilities = r.u16le(DEMAND, 'lengthCombinedCapabilities');
  const sourceDescriptor = r.bytes(lengthSourceDescriptor, DEMAND, 'sourceDescriptor');
  const { sets, pad } = readCombinedCapabilities(r, lengthCombinedCapabilities, DEMAND);
  const v: DemandActive = { shareId, sourceDescriptor, capabilitySets: sets };
  if (!r.isEmpty()) v.sessionId = r.u32le(DEMAND, 'sessionId');
  if (pad !== 0) v.pad2Octets = pad;
  r.expectEnd(DEMAND);
  return v;
}

function decodeConfirmActive(r: ReadCursor): ConfirmActive {
  const shareId = r.u32le(CONFIRM, 'shareId');
  const originatorId = r.u16le(CONFIRM, 'originatorId');
  const lengthSourceDescriptor = r.u16le(CONFIRM, 'lengthSourceDescriptor');
  const lengthCombinedCapabilities = r.u16le(CONFIRM, 'lengthCombinedCapabilities');
  const sourceDescriptor = r.bytes(lengthSourceDescriptor, CONFIRM, 'sourceDescriptor');
  const { sets, pad } = readCombinedCapabilities(r, lengthCombinedCapabilities, CONFIRM);
  r.expectEnd(CONFIRM);
  const v: ConfirmActive = { shareId, originatorId, sourceDescriptor, capabilitySets: sets };
  if (pad !== 0) v.pad2Octets = pad;
  return v;
}

function decodeDataPdu(r: ReadCursor): DataPdu {
  const shareId = r.u32le(SDH, 'shareId');
  const pad1 = r.u8(SDH, 'pad1');
  const streamId = r.u8(SDH, 'streamId');
  const uncompressedLength = r.u16le(SDH, 'uncompressedLength');
  const pduType2 = r.u8(SDH, 'pduType2');
  const compressedType = r.u8(SDH, 'compressedType');
  const compressedLength = r.u16le(SDH, 'compressedLength');
  const body: DataPduBody = compressedType & PACKET_COMPRESSED ? { kind: 'raw', pduType2, data: r.rest() } : decodeDataPduBody(pduType2, r);
  const v: DataPdu = { shareId, streamId, uncompressedLength, compressedType, compressedLength, body };
  if (pad1 !== 0) v.pad1 = pad1;
  return v;
}

/**
 * Decode one share PDU. Strict: totalLength must equal the input length. A Flow PDU
 * (totalLength 0x8000) is UnsupportedValue.
 */
export function decodeSharePdu(bytes: Uint8Array): SharePdu {
  const r = new ReadCursor(bytes);
  const totalLength = r.u16le(SCH, 'totalLength');
  if (totalLength === FLOW_PDU_MARKER) throw new DecodeError('UnsupportedValue', SCH, 'totalLength', 0, 'T.128 Flow PDU (0x8000) is not supported');
  if (totalLength !== bytes.length) {
    throw new DecodeError(totalLength > bytes.length ? 'NotEnoughBytes' : 'InvalidField', SCH, 'totalLength', 0, `totalLength ${totalLength} does not match the ${bytes.length} bytes`);
  }
  const pduType = r.u16le(SCH, 'pduType');
  if (pduType >> 4 !== TS_PROTOCOL_VERSION) {
    throw new DecodeError('UnsupportedValue', SCH, 'pduType', 2, `protocol version ${pduType >> 4}, expected TS_PROTOCOL_VERSION (1)`);
  }
  const type = pduType & 0x0f;
  const pduSource = r.u16le(SCH, 'pduSource');
  switch (type) {
    case PDUTYPE_DEMANDACTIVEPDU:
      return { kind: 'demandActive', pduSource, value: decodeDemandActive(r) };
    case PDUTYPE_CONFIRMACTIVEPDU:
      return { kind: 'confirmActive', pduSource, value: decodeConfirmActive(r) };
    case PDUTYPE_DEACTIVATEALLPDU: {
      const shareId = r.u32le(DEACTIVATE, 'shareId');
      const length = r.u16le(DEACTIVATE, 'lengthSourceDescriptor');
      const sourceDescriptor = r.bytes(length, DEACTIVATE, 'sourceDescriptor');
      r.expectEnd(DEACTIVATE);
      return { kind: 'deactivateAll', pduSource, value: { shareId, sourceDescriptor } };
    }
    case PDUTYPE_DATAPDU:
      return { kind: 'data', pduSource, value: decodeDataPdu(r) };
    default:
      return { kind: 'raw', pduType: type, pduSource, data: r.rest() };
  }
}

/**
 * Split a Send Data userData holding one or more concatenated share PDUs (servers may send
 * several in one MCS PDU; FreeRDP reads them in a loop) and decode each.
 */
export function decodeSharePdus(bytes: Uint8Array): SharePdu[] {
  const out: SharePdu[] = [];
  let offset = 0;
  while (offset < bytes.length) {
    const r = new ReadCursor(bytes, offset, bytes.length, 0);
    const totalLength = r.u16le(SCH, 'totalLength');
    if (totalLength < SHARE_CONTROL_HEADER_SIZE || totalLength > bytes.length - offset) {
      throw new DecodeError('InvalidField', SCH, 'totalLength', offset, `totalLength ${totalLength} is below 6 or exceeds the ${bytes.length - offset} bytes left`);
    }
    try {
      out.push(decodeSharePdu(bytes.subarray(offset, offset + totalLength)));
    } catch (e) {
      DecodeError.wrap(e, SCH, `pdu[${out.length}]`, offset);
    }
    offset += totalLength;
  }
  return out;
}

function writeSource(w: WriteCursor, src: Uint8Array, pdu: string): void {
  if (src.length > 0xffff) throw new EncodeError(pdu, 'sourceDescriptor', 'longer than 65535 bytes');
  w.u16le(src.length);
}

/** numberCapabilities, pad2Octets and the sets: the lengthCombinedCapabilities bytes. */
function combinedCapabilities(sets: readonly CapabilitySet[], pad: number): Buffer {
  const c = new WriteCursor();
  c.u16le(sets.length); // numberCapabilities
  c.u16le(pad); // pad2Octets
  encodeCapabilitySets(sets, c);
  return c.finish();
}

/** Encode one share PDU; totalLength and the derived lengths are computed. */
export function encodeSharePdu(pdu: SharePdu, w: WriteCursor): void {
  const start = w.offset;
  const at = w.reserve(2); // totalLength, patched below
  const type =
    pdu.kind === 'demandActive' ? PDUTYPE_DEMANDACTIVEPDU
    : pdu.kind === 'confirmActive' ? PDUTYPE_CONFIRMACTIVEPDU
    : pdu.kind === 'deactivateAll' ? PDUTYPE_DEACTIVATEALLPDU
    : pdu.kind === 'data' ? PDUTYPE_DATAPDU
    : pdu.pduType;
  w.u16le((TS_PROTOCOL_VERSION << 4) | (type & 0x0f)); // pduType
  w.u16le(pdu.pduSource); // pduSource
  switch (pdu.kind) {
    case 'demandActive':
    case 'confirmActive': {
      const v = pdu.value;
      const pdu2 = pdu.kind === 'demandActive' ? DEMAND : CONFIRM;
      const caps = combinedCapabilities(v.capabilitySets, v.pad2Octets ?? 0);
      w.u32le(v.shareId);
      if (pdu.kind === 'confirmActive') w.u16le(pdu.value.originatorId);
      writeSource(w, v.sourceDescriptor, pdu2); // lengthSourceDescriptor
      if (caps.length > 0xffff) throw new EncodeError(pdu2, 'lengthCombinedCapabilities', `${caps.length} bytes exceed 65535`);
      w.u16le(caps.length); // lengthCombinedCapabilities
      w.bytes(v.sourceDescriptor).bytes(caps);
      if (pdu.kind === 'demandActive' && pdu.value.sessionId !== undefined) w.u32le(pdu.value.sessionId);
      break;
    }
    case 'deactivateAll':
      w.u32le(pdu.value.shareId);
      writeSource(w, pdu.value.sourceDescriptor, DEACTIVATE);
      w.bytes(pdu.value.sourceDescriptor);
      break;
    case 'data': {
      const v = pdu.value;
      const body = new WriteCursor();
      encodeDataPduBody(v.body, body);
      const bytes = body.finish();
      w.u32le(v.shareId).u8(v.pad1 ?? 0).u8(v.streamId);
      w.u16le(v.uncompressedLength ?? bytes.length); // uncompressedLength
      w.u8(dataPduType2(v.body)).u8(v.compressedType).u16le(v.compressedLength);
      w.bytes(bytes);
      break;
    }
    case 'raw':
      w.bytes(pdu.data);
      break;
  }
  const total = w.offset - start;
  if (total >= FLOW_PDU_MARKER) throw new EncodeError(SCH, 'totalLength', `${total} bytes reach the 0x8000 flow marker`);
  w.patchU16le(at, total, SCH, 'totalLength');
}

/** A short label for a share PDU, for transcripts: "PDUTYPE_DATAPDU/PDUTYPE2_CONTROL". */
export function sharePduLabel(pdu: SharePdu): string {
  if (pdu.kind === 'raw') return pduTypeName(pdu.pduType);
  if (pdu.kind !== 'data') return pduTypeName(pdu.kind === 'demandActive' ? PDUTYPE_DEMANDACTIVEPDU : pdu.kind === 'confirmActive' ? PDUTYPE_CONFIRMACTIVEPDU : PDUTYPE_DEACTIVATEALLPDU);
  return `PDUTYPE_DATAPDU/${pduType2Name(dataPduType2(pdu.value.body))}`;
}
