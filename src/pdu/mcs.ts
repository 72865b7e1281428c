import { ReadCursor, WriteCursor } from './cursor.js';
import { DecodeError, EncodeError } from './errors.js';
import * as ber from './ber.js';

/**
 * T.125 MCS connect PDUs as RDP uses them (MS-RDPBCGR 2.2.1.3 Client MCS Connect Initial PDU,
 * 2.2.1.4 Server MCS Connect Response PDU; T.125 section 7 part 2 for the ASN.1, BER encoded),
 * and the MCS Disconnect Provider Ultimatum (MS-RDPBCGR 2.2.2.3; T.125 section 7 part 5, ALIGNED
 * PER) that servers also send to refuse a connection.
 *
 * These codecs handle the MCS payload only: the X.224 Data TPDU header (02 f0 80) and the TPKT
 * header around it belong to the caller (x224.ts, tpkt.ts). `userData` is the GCC Conference
 * Create Request / Response, kept as bytes (see gcc.ts).
 *
 * Encoding: the encoders write canonical BER (shortest lengths and integers). Peers do not all
 * do so: rdesktop and nmap write 65535 as `02 02 ff ff`, so their Connect-Initial re-encodes to
 * different (longer, canonical) integer bytes with the same values.
 */

const CONNECT_INITIAL = 'MCS Connect-Initial';
const CONNECT_RESPONSE = 'MCS Connect-Response';
const DOMAIN_PARAMETERS = 'MCS DomainParameters';
const DPUM = 'MCS DisconnectProviderUltimatum';

/** Connect-Initial ::= [APPLICATION 101] IMPLICIT SEQUENCE (T.125 7 part 2). */
export const MCS_TYPE_CONNECT_INITIAL = 101;
/** Connect-Response ::= [APPLICATION 102] IMPLICIT SEQUENCE. */
export const MCS_TYPE_CONNECT_RESPONSE = 102;

/**
 * DomainParameters ::= SEQUENCE (T.125 7 part 2), eight INTEGER (0..MAX) in this order.
 * MS-RDPBCGR 2.2.1.3 shows the target/minimum/maximum sets clients send.
 */
export interface DomainParameters {
  maxChannelIds: number;
  maxUserIds: number;
  maxTokenIds: number;
  numPriorities: number;
  minThroughput: number;
  maxHeight: number;
  maxMCSPDUsize: number;
  protocolVersion: number;
}

const DOMAIN_PARAMETER_FIELDS = [
  'maxChannelIds',
  'maxUserIds',
  'maxTokenIds',
  'numPriorities',
  'minThroughput',
  'maxHeight',
  'maxMCSPDUsize',
  'protocolVersion',
] as const satisfies readonly (keyof DomainParameters)[];

/** The targetParameters that mstsc, FreeRDP and IronRDP send. */
export const DOMAIN_PARAMETERS_TARGET: Readonly<DomainParameters> = Object.freeze({
  maxChannelIds: 34,
  maxUserIds: 2,
  maxTokenIds: 0,
  numPriorities: 1,
  minThroughput: 0,
  maxHeight: 1,
  maxMCSPDUsize: 65535,
  protocolVersion: 2,
});
/** The minimumParameters real clients send. */
export const DOMAIN_PARAMETERS_MIN: Readonly<DomainParameters> = Object.freeze({
  maxChannelIds: 1,
  maxUserIds: 1,
  maxTokenIds: 1,
  numPriorities: 1,
  minThroughput: 0,
  maxHeight: 1,
  maxMCSPDUsize: 1056,
  protocolVersion: 2,
});
/** The maximumParameters real clients send. */
export const DOMAIN_PARAMETERS_MAX: Readonly<DomainParameters> = Object.freeze({
  maxChannelIds: 65535,
  maxUserIds: 64535,
  maxTokenIds: 65535,
  numPriorities: 1,
  minThroughput: 0,
  maxHeight: 1,
  maxMCSPDUsize: 65535,
  protocolVersion: 2,
});

export function decodeDomainParameters(r: ReadCursor, field = 'domainParameters'): DomainParameters {
  const c = ber.readSequence(r, DOMAIN_PARAMETERS, field);
  const out: Partial<DomainParameters> = {};
  for (const name of DOMAIN_PARAMETER_FIELDS) out[name] = ber.readInteger(c, DOMAIN_PARAMETERS, name);
  c.expectEnd(DOMAIN_PARAMETERS);
  return out as DomainParameters;
}

export function encodeDomainParameters(p: DomainParameters, w: WriteCursor): void {
  const body = ber.encodeContents((b) => {
    for (const name of DOMAIN_PARAMETER_FIELDS) ber.writeInteger(b, p[name], DOMAIN_PARAMETERS, name);
  });
  ber.writeSequence(w, body);
}

/**
 * Connect-Initial (T.125 7 part 2; MS-RDPBCGR 2.2.1.3 mcsCi). RDP clients send
 * callingDomainSelector = calledDomainSelector = 01 and upwardFlag TRUE.
 */
export interface McsConnectInitial {
  callingDomainSelector: Uint8Array;
  calledDomainSelector: Uint8Array;
  upwardFlag: boolean;
  targetParameters: DomainParameters;
  minimumParameters: DomainParameters;
  maximumParameters: DomainParameters;
  /** the GCC Conference Create Request (gcc.ts) */
  userData: Uint8Array;
}

function cursorOf(input: ReadCursor | Uint8Array): { r: ReadCursor; whole: boolean } {
  return input instanceof ReadCursor ? { r: input, whole: false } : { r: new ReadCursor(input), whole: true };
}

/**
 * Decode a Connect-Initial. From a Uint8Array the PDU must fill it; from a ReadCursor it is read
 * from the current position (its own BER length delimits it).
 */
export function decodeMcsConnectInitial(input: ReadCursor | Uint8Array): McsConnectInitial {
  const { r, whole } = cursorOf(input);
  const c = ber.readApplicationTag(r, MCS_TYPE_CONNECT_INITIAL, CONNECT_INITIAL, 'tag');
  const value: McsConnectInitial = {
    callingDomainSelector: ber.readOctetString(c, CONNECT_INITIAL, 'callingDomainSelector'),
    calledDomainSelector: ber.readOctetString(c, CONNECT_INITIAL, 'calledDomainSelector'),
    upwardFlag: ber.readBoolean(c, CONNECT_INITIAL, 'upwardFlag'),
    targetParameters: decodeDomainParameters(c, 'targetParameters'),
    minimumParameters: decodeDomainParameters(c, 'minimumParameters'),
    maximumParameters: decodeDomainParameters(c, 'maximumParameters'),
    userData: ber.readOctetString(c, CONNECT_INITIAL, 'userData'),
  };
  c.expectEnd(CONNECT_INITIAL);
  if (whole) r.expectEnd(CONNECT_INITIAL);
  return value;
}

export function encodeMcsConnectInitial(v: McsConnectInitial, w: WriteCursor): void {
  const body = ber.encodeContents((b) => {
    ber.writeOctetString(b, v.callingDomainSelector);
    ber.writeOctetString(b, v.calledDomainSelector);
    ber.writeBoolean(b, v.upwardFlag);
    encodeDomainParameters(v.targetParameters, b);
    encodeDomainParameters(v.minimumParameters, b);
    encodeDomainParameters(v.maximumParameters, b);
    ber.writeOctetString(b, v.userData);
  });
  ber.writeApplicationTag(w, MCS_TYPE_CONNECT_INITIAL, body);
}

/** A Connect-Initial with the selectors, flag and domain parameters real clients use. */
export function mcsConnectInitial(userData: Uint8Array): McsConnectInitial {
  return {
    callingDomainSelector: Uint8Array.of(1),
    calledDomainSelector: Uint8Array.of(1),
    upwardFlag: true,
    targetParameters: { ...DOMAIN_PARAMETERS_TARGET },
    minimumParameters: { ...DOMAIN_PARAMETERS_MIN },
    maximumParameters: { ...DOMAIN_PARAMETERS_MAX },
    userData,
  };
}

/** Result ::= ENUMERATED (T.125 7 part 2), names as in the ASN.1. */
export const MCS_RESULT_NAMES: readonly string[] = Object.freeze([
  'rt-successful',
  'rt-domain-merging',
  'rt-domain-not-hierarchical',
  'rt-no-such-channel',
  'rt-no-such-domain',
  'rt-no-such-user',
  'rt-not-admitted',
  'rt-other-user-id',
  'rt-parameters-unacceptable',
  'rt-token-not-available',
  'rt-token-not-possessed',
  'rt-too-many-channels',
  'rt-too-many-tokens',
  'rt-too-many-users',
  'rt-unspecified-failure',
  'rt-user-rejected',
]);
export const MCS_RESULT_RT_SUCCESSFUL = 0;

/** Name of an MCS Result value (`rt-...`), or `unknown (n)`. */
export function mcsResultName(result: number): string {
  return MCS_RESULT_NAMES[result] ?? `unknown (${result})`;
}

/** Connect-Response (T.125 7 part 2; MS-RDPBCGR 2.2.1.4 mcsCrsp). */
export interface McsConnectResponse {
  /** MCS Result (MCS_RESULT_NAMES); 0 = rt-successful */
  result: number;
  calledConnectId: number;
  domainParameters: DomainParameters;
  /** the GCC Conference Create Response (gcc.ts) */
  userData: Uint8Array;
}

export function decodeMcsConnectResponse(input: ReadCursor | Uint8Array): McsConnectResponse {
  const { r, whole } = cursorOf(input);
  const c = ber.readApplicationTag(r, MCS_TYPE_CONNECT_RESPONSE, CONNECT_RESPONSE, 'tag');
  const value: McsConnectResponse = {
    result: ber.readEnumerated(c, MCS_RESULT_NAMES.length, CONNECT_RESPONSE, 'result'),
    calledConnectId: ber.readInteger(c, CONNECT_RESPONSE, 'calledConnectId'),
    domainParameters: decodeDomainParameters(c, 'domainParameters'),
    userData: ber.readOctetString(c, CONNECT_RESPONSE, 'userData'),
  };
  c.expectEnd(CONNECT_RESPONSE);
  if (whole) r.expectEnd(CONNECT_RESPONSE);
  return value;
}

export function encodeMcsConnectResponse(v: McsConnectResponse, w: WriteCursor): void {
  const body = ber.encodeContents((b) => {
    ber.writeEnumerated(b, v.result, CONNECT_RESPONSE, 'result');
    ber.writeInteger(b, v.calledConnectId, CONNECT_RESPONSE, 'calledConnectId');
    encodeDomainParameters(v.domainParameters, b);
    ber.writeOctetString(b, v.userData);
  });
  ber.writeApplicationTag(w, MCS_TYPE_CONNECT_RESPONSE, body);
}

/** Reason ::= ENUMERATED (T.125 7 part 5), names as in the ASN.1. */
export const MCS_REASON_NAMES: readonly string[] = Object.freeze([
  'rn-domain-disconnected',
  'rn-provider-initiated',
  'rn-token-purged',
  'rn-user-requested',
  'rn-channel-purged',
]);
export const RN_DOMAIN_DISCONNECTED = 0;
export const RN_PROVIDER_INITIATED = 1;
export const RN_TOKEN_PURGED = 2;
export const RN_USER_REQUESTED = 3;
export const RN_CHANNEL_PURGED = 4;

export function mcsReasonName(reason: number): string {
  return MCS_REASON_NAMES[reason] ?? `unknown (${reason})`;
}

/** DomainMCSPDU CHOICE index of disconnectProviderUltimatum (T.125 7 part 10). */
export const DOMAIN_MCSPDU_DISCONNECT_PROVIDER_ULTIMATUM = 8;

/** MS-RDPBCGR 2.2.2.3 / T.125 DisconnectProviderUltimatum: 2 octets, e.g. 21 80 = rn-user-requested. */
export interface McsDisconnectProviderUltimatum {
  reason: number;
}

/**
 * Decode the 2-octet ultimatum: 6 bits of CHOICE index (8), then the 3-bit reason, then 7 zero
 * padding bits. From a ReadCursor, exactly 2 octets are consumed.
 */
export function decodeMcsDisconnectProviderUltimatum(input: ReadCursor | Uint8Array): McsDisconnectProviderUltimatum {
  const { r, whole } = cursorOf(input);
  const at = r.at;
  const b0 = r.u8(DPUM, 'choice');
  if (b0 >> 2 !== DOMAIN_MCSPDU_DISCONNECT_PROVIDER_ULTIMATUM) {
    throw new DecodeError('UnexpectedType', DPUM, 'choice', at, `DomainMCSPDU choice ${b0 >> 2} is not disconnectProviderUltimatum (8)`);
  }
  const b1 = r.u8(DPUM, 'reason');
  const reason = ((b0 & 0x03) << 1) | (b1 >> 7);
  if (reason >= MCS_REASON_NAMES.length) {
    throw new DecodeError('InvalidField', DPUM, 'reason', at, `reason ${reason} is not a Reason value`);
  }
  if ((b1 & 0x7f) !== 0) {
    throw new DecodeError('InvalidField', DPUM, 'padding', at + 1, 'padding bits are not zero');
  }
  if (whole) r.expectEnd(DPUM);
  return { reason };
}

export function encodeMcsDisconnectProviderUltimatum(v: McsDisconnectProviderUltimatum, w: WriteCursor): void {
  if (!Number.isInteger(v.reason) || v.reason < 0 || v.reason >= MCS_REASON_NAMES.length) {
    throw new EncodeError(DPUM, 'reason', `${v.reason} is not a Reason value`);
  }
  w.u8((DOMAIN_MCSPDU_DISCONNECT_PROVIDER_ULTIMATUM << 2) | (v.reason >> 1));
  w.u8((v.reason & 1) << 7);
}

/** What a server may answer to a Connect-Initial. */
export type McsConnectReply =
  | { kind: 'response'; response: McsConnectResponse }
  | { kind: 'ultimatum'; ultimatum: McsDisconnectProviderUltimatum };

/**
 * Decode a server's answer to the Connect-Initial: a Connect-Response (BER, first octet 0x7f)
 * or a Disconnect Provider Ultimatum (PER, first octet 0x20..0x23) used as a refusal.
 */
export function decodeMcsConnectReply(bytes: Uint8Array): McsConnectReply {
  const r = new ReadCursor(bytes);
  const first = r.peekU8(CONNECT_RESPONSE, 'tag');
  if (first >> 2 === DOMAIN_MCSPDU_DISCONNECT_PROVIDER_ULTIMATUM) {
    return { kind: 'ultimatum', ultimatum: decodeMcsDisconnectProviderUltimatum(bytes) };
  }
  return { kind: 'response', response: decodeMcsConnectResponse(bytes) };
}
