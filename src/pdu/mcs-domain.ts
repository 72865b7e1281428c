import { ReadCursor, WriteCursor } from './cursor.js';
import { DecodeError, EncodeError } from './errors.js';
import {
  DOMAIN_MCSPDU_DISCONNECT_PROVIDER_ULTIMATUM,
  MCS_RESULT_NAMES,
  decodeMcsDisconnectProviderUltimatum,
  encodeMcsDisconnectProviderUltimatum,
  type McsDisconnectProviderUltimatum,
} from './mcs.js';
import * as per from './per.js';

/**
 * T.125 MCS domain PDUs of the RDP connection sequence (MS-RDPBCGR 1.3.1.1; 2.2.1.5 Erect
 * Domain Request, 2.2.1.6 Attach User Request, 2.2.1.7 Attach User Confirm, 2.2.1.8 Channel
 * Join Request, 2.2.1.9 Channel Join Confirm; the Send Data Request / Indication that carry
 * every later slow-path PDU, 2.2.8.1.1.1.1 mcsSDrq / 2.2.8.1.2.1 mcsSDin). ALIGNED PER of
 * T.125 section 7 parts 3-7 and 10 (DomainMCSPDU).
 *
 * The first octet holds the 6-bit DomainMCSPDU CHOICE index in its high bits; its two low
 * bits belong to the chosen type (an optional-field bitmap, or the start of the first field).
 * These codecs handle the MCS PDU only: TPKT and X.224 Data belong to the caller (x224.ts).
 */

const EDRQ = 'MCS ErectDomainRequest';
const AURQ = 'MCS AttachUserRequest';
const AUCF = 'MCS AttachUserConfirm';
const CJRQ = 'MCS ChannelJoinRequest';
const CJCF = 'MCS ChannelJoinConfirm';
const SDRQ = 'MCS SendDataRequest';
const SDIN = 'MCS SendDataIndication';
const DOMAIN = 'DomainMCSPDU';

/** DomainMCSPDU CHOICE indices used by RDP (T.125 7 part 10). */
export const DOMAIN_MCSPDU_ERECT_DOMAIN_REQUEST = 1;
export const DOMAIN_MCSPDU_ATTACH_USER_REQUEST = 10;
export const DOMAIN_MCSPDU_ATTACH_USER_CONFIRM = 11;
export const DOMAIN_MCSPDU_DETACH_USER_REQUEST = 12;
export const DOMAIN_MCSPDU_DETACH_USER_INDICATION = 13;
export const DOMAIN_MCSPDU_CHANNEL_JOIN_REQUEST = 14;
export const DOMAIN_MCSPDU_CHANNEL_JOIN_CONFIRM = 15;
export const DOMAIN_MCSPDU_SEND_DATA_REQUEST = 25;
export const DOMAIN_MCSPDU_SEND_DATA_INDICATION = 26;

/** Names of all DomainMCSPDU alternatives, by CHOICE index (T.125 7 part 10). */
export const DOMAIN_MCSPDU_NAMES: readonly string[] = Object.freeze([
  'plumbDomainIndication', 'erectDomainRequest', 'mergeChannelsRequest', 'mergeChannelsConfirm',
  'purgeChannelsIndication', 'mergeTokensRequest', 'mergeTokensConfirm', 'purgeTokensIndication',
  'disconnectProviderUltimatum', 'rejectMCSPDUUltimatum', 'attachUserRequest', 'attachUserConfirm',
  'detachUserRequest', 'detachUserIndication', 'channelJoinRequest', 'channelJoinConfirm',
  'channelLeaveRequest', 'channelConveneRequest', 'channelConveneConfirm', 'channelDisbandRequest',
  'channelDisbandIndication', 'channelAdmitRequest', 'channelAdmitIndication', 'channelExpelRequest',
  'channelExpelIndication', 'sendDataRequest', 'sendDataIndication', 'uniformSendDataRequest',
  'uniformSendDataIndication', 'tokenGrabRequest', 'tokenGrabConfirm', 'tokenInhibitRequest',
  'tokenInhibitConfirm', 'tokenGiveRequest', 'tokenGiveIndication', 'tokenGiveResponse',
  'tokenGiveConfirm', 'tokenPleaseRequest', 'tokenPleaseIndication', 'tokenReleaseRequest',
  'tokenReleaseConfirm', 'tokenTestRequest', 'tokenTestConfirm',
]);

export function domainMcsPduName(choice: number): string {
  return DOMAIN_MCSPDU_NAMES[choice] ?? `unknown (${choice})`;
}

/**
 * UserId ::= DynamicChannelId ::= ChannelId (1001..65535) (T.125 7 part 1): user ids and
 * dynamic channel ids start at 1001 and are PER-encoded as value - 1001.
 */
export const MCS_BASE_CHANNEL_ID = 1001;
/** The I/O channel servers announce in TS_UD_SC_NET.MCSChannelId (MS-RDPBCGR 2.2.1.4.4). */
export const MCS_GLOBAL_CHANNEL_ID = 1003;

/** DataPriority ::= ENUMERATED { top, high, medium, low } (T.125 7 part 1). */
export const DATA_PRIORITY_NAMES: readonly string[] = Object.freeze(['top', 'high', 'medium', 'low']);
export const DATA_PRIORITY_HIGH = 1;
/** Segmentation ::= BIT STRING { begin(0), end(1) } (SIZE (2)), as a 2-bit value: begin = 2, end = 1. */
export const SEGMENTATION_BEGIN = 0x2;
export const SEGMENTATION_END = 0x1;

function cursorOf(input: ReadCursor | Uint8Array): { r: ReadCursor; whole: boolean } {
  return input instanceof ReadCursor ? { r: input, whole: false } : { r: new ReadCursor(input), whole: true };
}

/** Read the CHOICE octet and check its index; returns the two low bits. */
function readChoiceBits(r: ReadCursor, choice: number, pdu: string): number {
  const at = r.at;
  const b = per.readChoice(r, pdu, 'choice');
  if (b >> 2 !== choice) {
    throw new DecodeError('UnexpectedType', pdu, 'choice', at, `DomainMCSPDU ${domainMcsPduName(b >> 2)} (${b >> 2}), expected ${domainMcsPduName(choice)} (${choice})`);
  }
  return b & 0x03;
}

function expectLowBits(bits: number, expected: number, pdu: string, at: number): void {
  if (bits !== expected) {
    throw new DecodeError('InvalidField', pdu, 'choice', at, `low bits ${bits}, expected ${expected}`);
  }
}

/**
 * Erect Domain Request (MS-RDPBCGR 2.2.1.5; T.125 ErectDomainRequest: subHeight and
 * subInterval INTEGER (0..MAX)). xfreerdp 2.11.7 sends `04 01 00 01 00`. rdesktop 1.9 writes
 * the two values as plain 16-bit big-endian numbers (`04 00 01 00 01`), which is not PER;
 * xrdp reads those four octets without parsing them. Both forms are accepted and `form`
 * records which one was seen, so the peer's bytes re-encode exactly. (The 16-bit form is only
 * recognised when the PDU is handed over whole, as a Uint8Array.)
 */
export interface ErectDomainRequest {
  subHeight: number;
  subInterval: number;
  /** 'per' (default) or 'u16' (rdesktop's two 16-bit big-endian values) */
  form?: 'per' | 'u16';
}

export function decodeErectDomainRequest(input: ReadCursor | Uint8Array): ErectDomainRequest {
  const { r, whole } = cursorOf(input);
  const at = r.at;
  expectLowBits(readChoiceBits(r, DOMAIN_MCSPDU_ERECT_DOMAIN_REQUEST, EDRQ), 0, EDRQ, at);
  // rdesktop's form: exactly four octets whose first is 0x00, which PER would read as a
  // zero-length INTEGER (no encoder writes one) followed by a second INTEGER and a stray octet
  if (whole && r.remaining === 4 && r.peekU8(EDRQ, 'subHeight') === 0x00) {
    const subHeight = r.u16be(EDRQ, 'subHeight');
    const subInterval = r.u16be(EDRQ, 'subInterval');
    return { subHeight, subInterval, form: 'u16' };
  }
  const v: ErectDomainRequest = {
    subHeight: per.readInteger(r, EDRQ, 'subHeight'),
    subInterval: per.readInteger(r, EDRQ, 'subInterval'),
  };
  if (whole) r.expectEnd(EDRQ);
  return v;
}

export function encodeErectDomainRequest(v: ErectDomainRequest, w: WriteCursor): void {
  per.writeChoice(w, DOMAIN_MCSPDU_ERECT_DOMAIN_REQUEST << 2);
  if (v.form === 'u16') {
    if (v.subHeight > 0xffff || v.subInterval > 0xffff) throw new EncodeError(EDRQ, 'subHeight', 'u16 form holds 16-bit values only');
    w.u16be(v.subHeight).u16be(v.subInterval);
    return;
  }
  per.writeInteger(w, v.subHeight, EDRQ, 'subHeight');
  per.writeInteger(w, v.subInterval, EDRQ, 'subInterval');
}

/** Attach User Request (MS-RDPBCGR 2.2.1.6): the CHOICE octet 0x28 alone. */
export type AttachUserRequest = Record<string, never>;

export function decodeAttachUserRequest(input: ReadCursor | Uint8Array): AttachUserRequest {
  const { r, whole } = cursorOf(input);
  const at = r.at;
  expectLowBits(readChoiceBits(r, DOMAIN_MCSPDU_ATTACH_USER_REQUEST, AURQ), 0, AURQ, at);
  if (whole) r.expectEnd(AURQ);
  return {};
}

export function encodeAttachUserRequest(_v: AttachUserRequest, w: WriteCursor): void {
  per.writeChoice(w, DOMAIN_MCSPDU_ATTACH_USER_REQUEST << 2);
}

/**
 * Attach User Confirm (MS-RDPBCGR 2.2.1.7; T.125 AttachUserConfirm: result, initiator
 * UserId OPTIONAL). Bit 1 of the CHOICE octet says initiator is present (0x2e); servers
 * leave it out when the result is not rt-successful.
 */
export interface AttachUserConfirm {
  /** MCS Result (MCS_RESULT_NAMES in mcs.ts) */
  result: number;
  /** the user id assigned (1001..65535), also the user channel id */
  initiator?: number;
}

export function decodeAttachUserConfirm(input: ReadCursor | Uint8Array): AttachUserConfirm {
  const { r, whole } = cursorOf(input);
  const at = r.at;
  const bits = readChoiceBits(r, DOMAIN_MCSPDU_ATTACH_USER_CONFIRM, AUCF);
  if ((bits & 0x01) !== 0) throw new DecodeError('InvalidField', AUCF, 'choice', at, 'low bit is not zero');
  const v: AttachUserConfirm = { result: per.readEnumerated(r, MCS_RESULT_NAMES.length, AUCF, 'result') };
  if (bits & 0x02) v.initiator = per.readInteger16(r, MCS_BASE_CHANNEL_ID, AUCF, 'initiator');
  if (whole) r.expectEnd(AUCF);
  return v;
}

export function encodeAttachUserConfirm(v: AttachUserConfirm, w: WriteCursor): void {
  per.writeChoice(w, (DOMAIN_MCSPDU_ATTACH_USER_CONFIRM << 2) | (v.initiator !== undefined ? 0x02 : 0));
  per.writeEnumerated(w, v.result, MCS_RESULT_NAMES.length, AUCF, 'result');
  if (v.initiator !== undefined) per.writeInteger16(w, v.initiator, MCS_BASE_CHANNEL_ID, AUCF, 'initiator');
}

/** Channel Join Request (MS-RDPBCGR 2.2.1.8; T.125 ChannelJoinRequest: initiator, channelId). */
export interface ChannelJoinRequest {
  /** the user id from the Attach User Confirm */
  initiator: number;
  /** ChannelId (0..65535): the user channel, the I/O channel 1003, virtual channels, message channel */
  channelId: number;
}

export function decodeChannelJoinRequest(input: ReadCursor | Uint8Array): ChannelJoinRequest {
  const { r, whole } = cursorOf(input);
  const at = r.at;
  expectLowBits(readChoiceBits(r, DOMAIN_MCSPDU_CHANNEL_JOIN_REQUEST, CJRQ), 0, CJRQ, at);
  const v: ChannelJoinRequest = {
    initiator: per.readInteger16(r, MCS_BASE_CHANNEL_ID, CJRQ, 'initiator'),
    channelId: per.readInteger16(r, 0, CJRQ, 'channelId'),
  };
  if (whole) r.expectEnd(CJRQ);
  return v;
}

export function encodeChannelJoinRequest(v: ChannelJoinRequest, w: WriteCursor): void {
  per.writeChoice(w, DOMAIN_MCSPDU_CHANNEL_JOIN_REQUEST << 2);
  per.writeInteger16(w, v.initiator, MCS_BASE_CHANNEL_ID, CJRQ, 'initiator');
  per.writeInteger16(w, v.channelId, 0, CJRQ, 'channelId');
}

/**
 * Channel Join Confirm (MS-RDPBCGR 2.2.1.9; T.125 ChannelJoinConfirm: result, initiator,
 * requested, channelId OPTIONAL). Bit 1 of the CHOICE octet says channelId is present (0x3e).
 */
export interface ChannelJoinConfirm {
  result: number;
  initiator: number;
  requested: number;
  channelId?: number;
}

export function decodeChannelJoinConfirm(input: ReadCursor | Uint8Array): ChannelJoinConfirm {
  const { r, whole } = cursorOf(input);
  const at = r.at;
  const bits = readChoiceBits(r, DOMAIN_MCSPDU_CHANNEL_JOIN_CONFIRM, CJCF);
  if ((bits & 0x01) !== 0) throw new DecodeError('InvalidField', CJCF, 'choice', at, 'low bit is not zero');
  const v: ChannelJoinConfirm = {
    result: per.readEnumerated(r, MCS_RESULT_NAMES.length, CJCF, 'result'),
    initiator: per.readInteger16(r, MCS_BASE_CHANNEL_ID, CJCF, 'initiator'),
    requested: per.readInteger16(r, 0, CJCF, 'requested'),
  };
  if (bits & 0x02) v.channelId = per.readInteger16(r, 0, CJCF, 'channelId');
  if (whole) r.expectEnd(CJCF);
  return v;
}

export function encodeChannelJoinConfirm(v: ChannelJoinConfirm, w: WriteCursor): void {
  per.writeChoice(w, (DOMAIN_MCSPDU_CHANNEL_JOIN_CONFIRM << 2) | (v.channelId !== undefined ? 0x02 : 0));
  per.writeEnumerated(w, v.result, MCS_RESULT_NAMES.length, CJCF, 'result');
  per.writeInteger16(w, v.initiator, MCS_BASE_CHANNEL_ID, CJCF, 'initiator');
  per.writeInteger16(w, v.requested, 0, CJCF, 'requested');
  if (v.channelId !== undefined) per.writeInteger16(w, v.channelId, 0, CJCF, 'channelId');
}

/**
 * Send Data Request / Indication (T.125 SendDataRequest, SendDataIndication: initiator,
 * channelId, dataPriority, segmentation, userData; MS-RDPBCGR 2.2.8.1.1.1.1 mcsSDrq,
 * 2.2.8.1.2.1 mcsSDin). dataPriority (2 bits) and segmentation (2 bits) share one octet with
 * four zero padding bits: RDP peers send 0x70 (high, begin|end).
 *
 * `userData` is an OCTET STRING whose PER length FreeRDP, mstsc and the FreeRDP server always
 * write in the two-octet form (`80 14` for 20); xrdp writes the short form below 128. The
 * decoder sets `longLength` when a length below 128 came in two octets, and the encoder
 * honours it, so both re-encode exactly; unset, the encoder writes the canonical form.
 */
export interface SendData {
  initiator: number;
  channelId: number;
  dataPriority: number;
  /** SEGMENTATION_BEGIN | SEGMENTATION_END for a whole PDU */
  segmentation: number;
  /** the security header and RDP PDU (a view into the input) */
  userData: Uint8Array;
  longLength?: boolean;
}

function decodeSendData(input: ReadCursor | Uint8Array, choice: number, pdu: string): SendData {
  const { r, whole } = cursorOf(input);
  const at = r.at;
  expectLowBits(readChoiceBits(r, choice, pdu), 0, pdu, at);
  const initiator = per.readInteger16(r, MCS_BASE_CHANNEL_ID, pdu, 'initiator');
  const channelId = per.readInteger16(r, 0, pdu, 'channelId');
  const pat = r.at;
  const b = r.u8(pdu, 'dataPriority');
  if ((b & 0x0f) !== 0) throw new DecodeError('InvalidField', pdu, 'dataPriority', pat, 'padding bits are not zero');
  const lat = r.at;
  const length = per.readLength(r, pdu, 'userData');
  const longLength = r.at - lat === 2 && length < 0x80;
  if (whole && length !== r.remaining) {
    throw new DecodeError('InvalidField', pdu, 'userData', lat, `length ${length} does not match the ${r.remaining} bytes that follow`);
  }
  const userData = r.bytes(length, pdu, 'userData');
  const v: SendData = { initiator, channelId, dataPriority: b >> 6, segmentation: (b >> 4) & 0x03, userData };
  if (longLength) v.longLength = true;
  return v;
}

function encodeSendData(v: SendData, w: WriteCursor, choice: number, pdu: string): void {
  if (!Number.isInteger(v.dataPriority) || v.dataPriority < 0 || v.dataPriority > 3) {
    throw new EncodeError(pdu, 'dataPriority', `${v.dataPriority} is not a DataPriority`);
  }
  if (!Number.isInteger(v.segmentation) || v.segmentation < 0 || v.segmentation > 3) {
    throw new EncodeError(pdu, 'segmentation', `${v.segmentation} is not a 2-bit Segmentation`);
  }
  per.writeChoice(w, choice << 2);
  per.writeInteger16(w, v.initiator, MCS_BASE_CHANNEL_ID, pdu, 'initiator');
  per.writeInteger16(w, v.channelId, 0, pdu, 'channelId');
  w.u8((v.dataPriority << 6) | (v.segmentation << 4));
  if (v.longLength || v.userData.length >= 0x80) per.writeLongLength(w, v.userData.length, pdu, 'userData');
  else per.writeLength(w, v.userData.length, pdu, 'userData');
  w.bytes(v.userData);
}

/** Send Data Request (client to server). From a Uint8Array the userData must end the input. */
export function decodeSendDataRequest(input: ReadCursor | Uint8Array): SendData {
  return decodeSendData(input, DOMAIN_MCSPDU_SEND_DATA_REQUEST, SDRQ);
}
export function encodeSendDataRequest(v: SendData, w: WriteCursor): void {
  encodeSendData(v, w, DOMAIN_MCSPDU_SEND_DATA_REQUEST, SDRQ);
}
/** Send Data Indication (server to client). */
export function decodeSendDataIndication(input: ReadCursor | Uint8Array): SendData {
  return decodeSendData(input, DOMAIN_MCSPDU_SEND_DATA_INDICATION, SDIN);
}
export function encodeSendDataIndication(v: SendData, w: WriteCursor): void {
  encodeSendData(v, w, DOMAIN_MCSPDU_SEND_DATA_INDICATION, SDIN);
}

/** A Send Data Request / Indication with the usual priority and segmentation (0x70). */
export function sendData(initiator: number, channelId: number, userData: Uint8Array): SendData {
  return { initiator, channelId, dataPriority: DATA_PRIORITY_HIGH, segmentation: SEGMENTATION_BEGIN | SEGMENTATION_END, userData };
}

/** One decoded domain PDU of the connection sequence. */
export type DomainPdu =
  | { kind: 'erectDomainRequest'; value: ErectDomainRequest }
  | { kind: 'attachUserRequest'; value: AttachUserRequest }
  | { kind: 'attachUserConfirm'; value: AttachUserConfirm }
  | { kind: 'channelJoinRequest'; value: ChannelJoinRequest }
  | { kind: 'channelJoinConfirm'; value: ChannelJoinConfirm }
  | { kind: 'sendDataRequest'; value: SendData }
  | { kind: 'sendDataIndication'; value: SendData }
  | { kind: 'disconnectProviderUltimatum'; value: McsDisconnectProviderUltimatum };

/**
 * Decode one whole DomainMCSPDU (the X.224 Data payload) by its CHOICE index. Alternatives
 * RDP does not use in the connection sequence are UnsupportedValue, named.
 */
export function decodeDomainPdu(bytes: Uint8Array): DomainPdu {
  const r = new ReadCursor(bytes);
  const choice = r.peekU8(DOMAIN, 'choice') >> 2;
  switch (choice) {
    case DOMAIN_MCSPDU_ERECT_DOMAIN_REQUEST:
      return { kind: 'erectDomainRequest', value: decodeErectDomainRequest(bytes) };
    case DOMAIN_MCSPDU_ATTACH_USER_REQUEST:
      return { kind: 'attachUserRequest', value: decodeAttachUserRequest(bytes) };
    case DOMAIN_MCSPDU_ATTACH_USER_CONFIRM:
      return { kind: 'attachUserConfirm', value: decodeAttachUserConfirm(bytes) };
    case DOMAIN_MCSPDU_CHANNEL_JOIN_REQUEST:
      return { kind: 'channelJoinRequest', value: decodeChannelJoinRequest(bytes) };
    case DOMAIN_MCSPDU_CHANNEL_JOIN_CONFIRM:
      return { kind: 'channelJoinConfirm', value: decodeChannelJoinConfirm(bytes) };
    case DOMAIN_MCSPDU_SEND_DATA_REQUEST:
      return { kind: 'sendDataRequest', value: decodeSendDataRequest(bytes) };
    case DOMAIN_MCSPDU_SEND_DATA_INDICATION:
      return { kind: 'sendDataIndication', value: decodeSendDataIndication(bytes) };
    case DOMAIN_MCSPDU_DISCONNECT_PROVIDER_ULTIMATUM:
      return { kind: 'disconnectProviderUltimatum', value: decodeMcsDisconnectProviderUltimatum(bytes) };
    default:
      throw new DecodeError('UnsupportedValue', DOMAIN, 'choice', 0, `DomainMCSPDU ${domainMcsPduName(choice)} (${choice}) is not supported`);
  }
}

const DOMAIN_ENCODERS: { [K in DomainPdu['kind']]: (v: Extract<DomainPdu, { kind: K }>['value'], w: WriteCursor) => void } = {
  erectDomainRequest: encodeErectDomainRequest,
  attachUserRequest: encodeAttachUserRequest,
  attachUserConfirm: encodeAttachUserConfirm,
  channelJoinRequest: encodeChannelJoinRequest,
  channelJoinConfirm: encodeChannelJoinConfirm,
  sendDataRequest: encodeSendDataRequest,
  sendDataIndication: encodeSendDataIndication,
  disconnectProviderUltimatum: encodeMcsDisconnectProviderUltimatum,
};

export function encodeDomainPdu(pdu: DomainPdu, w: WriteCursor): void {
  (DOMAIN_ENCODERS[pdu.kind] as (v: unknown, w: WriteCursor) => void)(pdu.value, w);
}
