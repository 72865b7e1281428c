import { ReadCursor, WriteCursor } from './cursor.js';
import { DecodeError, EncodeError } from './errors.js';
import * as per from './per.js';

/**
 * T.124 GCC Conference Create Request / Response as RDP carries them in the MCS Connect-Initial
 * and Connect-Response userData (MS-RDPBCGR 2.2.1.3 gccCCrq, 2.2.1.4 gccCCrsp; T.124 section 8.7
 * ASN.1, ALIGNED PER), and the framing of the RDP settings data blocks inside them
 * (TS_UD_HEADER, MS-RDPBCGR 2.2.1.3.1).
 *
 * RDP fixes almost every bit of these PDUs; like FreeRDP gcc.c and IronRDP gcc/conference_create.rs
 * we check each fixed octet against the value the spec shows. The settings blocks are kept as
 * bytes here; client-data.ts and server-data.ts decode them.
 */

const CCRQ = 'GCC ConferenceCreateRequest';
const CCRSP = 'GCC ConferenceCreateResponse';
const UD_HEADER = 'TS_UD_HEADER';

/** t124Identifier: { itu-t(0) recommendation(0) t(20) t124(124) version(0) 1 } (T.124 02/98). */
export const T124_02_98_OID: readonly number[] = Object.freeze([0, 0, 20, 124, 0, 1]);
/** H.221 non-standard key of the client-to-server user data (MS-RDPBCGR 2.2.1.3). */
export const H221_CS_KEY = 'Duca';
/** H.221 non-standard key of the server-to-client user data (MS-RDPBCGR 2.2.1.4). */
export const H221_SC_KEY = 'McDn';

/** ConnectData::t124Identifier Key CHOICE: object (0). */
const KEY_CHOICE_OBJECT = 0x00;
/** ConnectGCCPDU CHOICE conferenceCreateRequest (0) and the ConferenceCreateRequest preamble. */
const CONNECT_GCC_PDU_CONFERENCE_CREATE_REQUEST = 0x00;
/** ConferenceCreateRequest optional-field bitmap: only userData present. */
const CONFERENCE_CREATE_REQUEST_SELECTION = 0x08;
/** ConnectGCCPDU CHOICE conferenceCreateResponse (1), with the response preamble. */
const CONNECT_GCC_PDU_CONFERENCE_CREATE_RESPONSE = 0x14;
/** UserData: value present + Key CHOICE h221NonStandard (1). */
const USER_DATA_H221_CHOICE = 0xc0;
/** H221NonStandardIdentifier ::= OCTET STRING (SIZE (4..255)). */
const H221_KEY_MIN = 4;
/** ConferenceName::numeric is SimpleNumericString (SIZE (1..255)). */
const CONFERENCE_NAME_MIN = 1;
/** UserID ::= DynamicChannelID ::= INTEGER (1001..65535). */
const USER_ID_MIN = 1001;
/** The ConferenceCreateResponse::result octet is read against the MCS result count (FreeRDP). */
const CONFERENCE_RESULT_COUNT = 16;
/**
 * The connectPDU length servers write in the response: Windows, xrdp and FreeRDP all write the
 * constant 0x2a whatever the real length; MS-RDPBCGR 2.2.1.4 tells clients to ignore it.
 */
export const CONFERENCE_CREATE_RESPONSE_CONNECT_PDU_LENGTH = 0x2a;

/** ConferenceCreateResponse::result names (T.124 8.7). */
export const GCC_RESULT_NAMES: readonly string[] = Object.freeze([
  'success',
  'userRejected',
  'resourcesNotAvailable',
  'rejectedForSymmetryBreaking',
  'lockedConferenceNotSupported',
]);

export function gccResultName(result: number): string {
  return GCC_RESULT_NAMES[result] ?? `unknown (${result})`;
}

/** MS-RDPBCGR 2.2.1.3 Conference Create Request (gccCCrq). */
export interface ConferenceCreateRequest {
  /** ConferenceName::numeric; RDP clients send "1" */
  conferenceName: string;
  /** the concatenated client data blocks (TS_UD_CS_*), see client-data.ts */
  userData: Uint8Array;
}

/** MS-RDPBCGR 2.2.1.4 Conference Create Response (gccCCrsp). */
export interface ConferenceCreateResponse {
  /** nodeID (UserID, 1001..65535); Windows, xrdp and FreeRDP send 0x79f3 */
  nodeID: number;
  /** tag (INTEGER); servers send 1 */
  tag: number;
  /** result (GCC_RESULT_NAMES); 0 = success */
  result: number;
  /** the concatenated server data blocks (TS_UD_SC_*), see server-data.ts */
  userData: Uint8Array;
  /**
   * the connectPDU length as declared (ignored when decoding, see
   * CONFERENCE_CREATE_RESPONSE_CONNECT_PDU_LENGTH); when encoding, the real length if unset
   */
  connectPduLength?: number;
  /** the userData length was (or is to be) written in the two-octet form though below 128, as xrdp does */
  userDataLongLength?: boolean;
}

function cursorOf(input: ReadCursor | Uint8Array): { r: ReadCursor; whole: boolean } {
  return input instanceof ReadCursor ? { r: input, whole: false } : { r: new ReadCursor(input), whole: true };
}

function readConnectDataKey(r: ReadCursor, pdu: string): void {
  per.expectOctet(r, KEY_CHOICE_OBJECT, pdu, 't124Identifier');
  const at = r.at;
  const oid = per.readObjectIdentifier(r, pdu, 't124Identifier');
  if (!per.sameObjectIdentifier(oid, T124_02_98_OID)) {
    throw new DecodeError('UnexpectedType', pdu, 't124Identifier', at, `object identifier ${oid.join('.')} is not T.124 0.0.20.124.0.1`);
  }
}

function writeConnectDataKey(w: WriteCursor): void {
  per.writeChoice(w, KEY_CHOICE_OBJECT);
  per.writeObjectIdentifier(w, T124_02_98_OID);
}

/**
 * One UserData set: h221NonStandard key (checked) and the value octets (the settings blocks).
 * `longLength` tells that the value length used the two-octet form below 128 (xrdp does).
 */
function readUserDataSet(r: ReadCursor, key: string, pdu: string): { value: Uint8Array; longLength: boolean } {
  let at = r.at;
  const sets = per.readNumberOfSets(r, pdu, 'userData');
  if (sets !== 1) throw new DecodeError('UnsupportedValue', pdu, 'userData', at, `${sets} UserData sets, expected 1`);
  per.expectOctet(r, USER_DATA_H221_CHOICE, pdu, 'userData.key');
  at = r.at;
  const got = per.readOctetString(r, H221_KEY_MIN, pdu, 'userData.key');
  if (Buffer.from(got).toString('latin1') !== key) {
    throw new DecodeError('InvalidField', pdu, 'userData.key', at, `H.221 key is not "${key}"`);
  }
  at = r.at;
  const length = per.readLength(r, pdu, 'userData.value');
  const longLength = r.at - at === 2 && length < 0x80;
  if (length !== r.remaining) {
    throw new DecodeError('InvalidField', pdu, 'userData.value', at, `length ${length} does not match the ${r.remaining} bytes that follow`);
  }
  return { value: r.bytes(length, pdu, 'userData.value'), longLength };
}

function writeUserDataSet(w: WriteCursor, key: string, value: Uint8Array, pdu: string, longLength = false): void {
  per.writeNumberOfSets(w, 1);
  per.writeChoice(w, USER_DATA_H221_CHOICE);
  per.writeOctetString(w, Buffer.from(key, 'latin1'), H221_KEY_MIN, pdu, 'userData.key');
  if (longLength) per.writeLongLength(w, value.length, pdu, 'userData.value');
  else per.writeLength(w, value.length, pdu, 'userData.value');
  w.bytes(value);
}

/**
 * Decode the Conference Create Request (MS-RDPBCGR 2.2.1.3). Strict: the connectPDU length must
 * cover exactly the bytes that follow it (real clients compute it), and so must the userData
 * length; from a ReadCursor the request extends to the cursor's end.
 */
export function decodeConferenceCreateRequest(input: ReadCursor | Uint8Array): ConferenceCreateRequest {
  const { r } = cursorOf(input);
  readConnectDataKey(r, CCRQ);
  const at = r.at;
  const length = per.readLength(r, CCRQ, 'connectPDU');
  if (length !== r.remaining) {
    throw new DecodeError('InvalidField', CCRQ, 'connectPDU', at, `length ${length} does not match the ${r.remaining} bytes that follow`);
  }
  per.expectOctet(r, CONNECT_GCC_PDU_CONFERENCE_CREATE_REQUEST, CCRQ, 'connectPDU.choice');
  per.expectOctet(r, CONFERENCE_CREATE_REQUEST_SELECTION, CCRQ, 'selection', 'UnsupportedValue');
  const conferenceName = per.readNumericString(r, CONFERENCE_NAME_MIN, CCRQ, 'conferenceName');
  // lockedConference, listedConference, conductibleConference, terminationMethod and the
  // ConferenceName extension bits: all zero in RDP (FreeRDP writes them as one padding octet)
  per.readPadding(r, 1, CCRQ, 'conferenceFlags');
  const userData = readUserDataSet(r, H221_CS_KEY, CCRQ).value;
  r.expectEnd(CCRQ);
  return { conferenceName, userData };
}

export function encodeConferenceCreateRequest(v: ConferenceCreateRequest, w: WriteCursor): void {
  const inner = new WriteCursor();
  per.writeChoice(inner, CONNECT_GCC_PDU_CONFERENCE_CREATE_REQUEST);
  per.writeChoice(inner, CONFERENCE_CREATE_REQUEST_SELECTION);
  per.writeNumericString(inner, v.conferenceName, CONFERENCE_NAME_MIN, CCRQ, 'conferenceName');
  per.writePadding(inner, 1);
  writeUserDataSet(inner, H221_CS_KEY, v.userData, CCRQ);
  const body = inner.finish();
  writeConnectDataKey(w);
  per.writeLength(w, body.length, CCRQ, 'connectPDU');
  w.bytes(body);
}

/**
 * Decode the Conference Create Response (MS-RDPBCGR 2.2.1.4). The connectPDU length is recorded
 * but not checked (servers write 0x2a); the userData length must cover exactly the rest. From a
 * ReadCursor the response extends to the cursor's end.
 */
export function decodeConferenceCreateResponse(input: ReadCursor | Uint8Array): ConferenceCreateResponse {
  const { r } = cursorOf(input);
  readConnectDataKey(r, CCRSP);
  const connectPduLength = per.readLength(r, CCRSP, 'connectPDU');
  per.expectOctet(r, CONNECT_GCC_PDU_CONFERENCE_CREATE_RESPONSE, CCRSP, 'connectPDU.choice');
  const nodeID = per.readInteger16(r, USER_ID_MIN, CCRSP, 'nodeID');
  const tag = per.readInteger(r, CCRSP, 'tag');
  const result = per.readEnumerated(r, CONFERENCE_RESULT_COUNT, CCRSP, 'result');
  const { value: userData, longLength } = readUserDataSet(r, H221_SC_KEY, CCRSP);
  r.expectEnd(CCRSP);
  const v: ConferenceCreateResponse = { nodeID, tag, result, userData, connectPduLength };
  if (longLength) v.userDataLongLength = true;
  return v;
}

export function encodeConferenceCreateResponse(v: ConferenceCreateResponse, w: WriteCursor): void {
  const inner = new WriteCursor();
  per.writeChoice(inner, CONNECT_GCC_PDU_CONFERENCE_CREATE_RESPONSE);
  per.writeInteger16(inner, v.nodeID, USER_ID_MIN, CCRSP, 'nodeID');
  per.writeInteger(inner, v.tag, CCRSP, 'tag');
  per.writeEnumerated(inner, v.result, CONFERENCE_RESULT_COUNT, CCRSP, 'result');
  writeUserDataSet(inner, H221_SC_KEY, v.userData, CCRSP, v.userDataLongLength);
  const body = inner.finish();
  writeConnectDataKey(w);
  per.writeLength(w, v.connectPduLength ?? body.length, CCRSP, 'connectPDU');
  w.bytes(body);
}

/** One settings data block: TS_UD_HEADER type and the bytes after the 4-byte header. */
export interface UserDataBlock {
  /** TS_UD_HEADER.type (CS_* / SC_*) */
  type: number;
  /** the block body (a view), TS_UD_HEADER.length - 4 bytes */
  data: Uint8Array;
  /** absolute offset of the body, for errors from body decoders */
  offset: number;
}

/** Size of TS_UD_HEADER (type u16le, length u16le). */
export const TS_UD_HEADER_SIZE = 4;

/**
 * Split concatenated settings blocks (MS-RDPBCGR 2.2.1.3.1 TS_UD_HEADER: type u16le, length
 * u16le including the header). A length below 4 (0 included: nmap's rdp.lua loops forever on
 * one) or one that runs past the end is InvalidField. From a ReadCursor, blocks are read to its end.
 */
export function readUserDataBlocks(input: ReadCursor | Uint8Array): UserDataBlock[] {
  const { r } = cursorOf(input);
  const blocks: UserDataBlock[] = [];
  while (!r.isEmpty()) {
    const at = r.at;
    const type = r.u16le(UD_HEADER, 'type');
    const length = r.u16le(UD_HEADER, 'length');
    if (length < TS_UD_HEADER_SIZE) {
      throw new DecodeError('InvalidField', UD_HEADER, 'length', at + 2, `block 0x${type.toString(16)} length ${length} is below the header size 4`);
    }
    if (length - TS_UD_HEADER_SIZE > r.remaining) {
      throw new DecodeError(
        'InvalidField',
        UD_HEADER,
        'length',
        at + 2,
        `block 0x${type.toString(16)} length ${length} runs past the end (${r.remaining + TS_UD_HEADER_SIZE} bytes left)`,
      );
    }
    const offset = r.at;
    blocks.push({ type, data: r.bytes(length - TS_UD_HEADER_SIZE, UD_HEADER, 'data'), offset });
  }
  return blocks;
}

/** Write one block: TS_UD_HEADER then the body. */
export function writeUserDataBlock(w: WriteCursor, type: number, data: Uint8Array): void {
  const length = TS_UD_HEADER_SIZE + data.length;
  if (length > 0xffff) throw new EncodeError(UD_HEADER, 'length', `block 0x${type.toString(16)} of ${length} bytes exceeds 65535`);
  w.u16le(type);
  w.u16le(length);
  w.bytes(data);
}

/** A cursor over a block body whose errors report offsets within the whole input. */
export function blockCursor(block: UserDataBlock): ReadCursor {
  return new ReadCursor(block.data, 0, block.data.length, block.offset);
}

/**
 * A settings block decoded when its type is known, kept raw otherwise (order is kept). The
 * client (TS_UD_CS_*) and server (TS_UD_SC_*) sides share this shape; each has its own table
 * of codecs (client-data.ts, server-data.ts).
 */
export type DataBlock<K extends string, V> = { kind: K; value: V } | { kind: 'raw'; type: number; data: Uint8Array };

export interface BlockCodec {
  type: number;
  decode(r: ReadCursor): unknown;
  encode(v: never, w: WriteCursor): void;
}

/** Decode concatenated blocks with a table of codecs; a type seen twice is InvalidField. */
export function decodeDataBlocks<B extends { kind: string }>(input: ReadCursor | Uint8Array, codecs: Record<string, BlockCodec>): B[] {
  const seen = new Set<number>();
  return readUserDataBlocks(input).map((b) => {
    if (seen.has(b.type)) {
      throw new DecodeError('InvalidField', UD_HEADER, 'type', b.offset - TS_UD_HEADER_SIZE, `block 0x${b.type.toString(16)} appears twice`);
    }
    seen.add(b.type);
    for (const [kind, codec] of Object.entries(codecs)) {
      if (codec.type === b.type) return { kind, value: codec.decode(blockCursor(b)) } as unknown as B;
    }
    return { kind: 'raw', type: b.type, data: b.data } as unknown as B;
  });
}

export function encodeDataBlocks(
  blocks: readonly ({ kind: string; value?: unknown } | { kind: 'raw'; type: number; data: Uint8Array })[],
  codecs: Record<string, BlockCodec>,
  w: WriteCursor,
): void {
  for (const b of blocks) {
    if (b.kind === 'raw' && 'data' in b) {
      writeUserDataBlock(w, b.type, b.data);
      continue;
    }
    const codec = codecs[b.kind]!;
    const body = new WriteCursor();
    (codec.encode as (v: unknown, w: WriteCursor) => void)((b as { value: unknown }).value, body);
    writeUserDataBlock(w, codec.type, body.finish());
  }
}

/** The blocks by kind, for code that does not care about their order. */
export function collectDataBlocks<T extends { raw: { type: number; data: Uint8Array }[] }>(
  blocks: readonly ({ kind: string; value?: unknown } | { kind: 'raw'; type: number; data: Uint8Array })[],
): T {
  const out = { raw: [] } as unknown as T;
  for (const b of blocks) {
    if (b.kind === 'raw' && 'data' in b) out.raw.push({ type: b.type, data: b.data });
    else (out as unknown as Record<string, unknown>)[b.kind] = (b as { value: unknown }).value;
  }
  return out;
}
