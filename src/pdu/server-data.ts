import { ReadCursor, WriteCursor } from './cursor.js';
import { DecodeError, EncodeError } from './errors.js';
import { collectDataBlocks, decodeDataBlocks, encodeDataBlocks, type BlockCodec } from './gcc.js';
import {
  ENCRYPTION_METHOD_40BIT,
  ENCRYPTION_METHOD_56BIT,
  ENCRYPTION_METHOD_128BIT,
  ENCRYPTION_METHOD_FIPS,
  ENCRYPTION_METHOD_NONE,
} from './client-data.js';
import { decodeServerCertificate, type ServerCertificate } from './server-certificate.js';

/**
 * Server settings data blocks carried in the GCC Conference Create Response (MS-RDPBCGR 2.2.1.4):
 * TS_UD_SC_CORE (2.2.1.4.2), TS_UD_SC_SEC1 (2.2.1.4.3) and TS_UD_SC_NET (2.2.1.4.4). The message
 * channel (SC_MCS_MSGCHANNEL, 2.2.1.4.5) and multitransport (SC_MULTITRANSPORT, 2.2.1.4.6)
 * blocks are kept raw. Every integer is little-endian.
 */

/** TS_UD_HEADER.type of server blocks (MS-RDPBCGR 2.2.1.3.1). */
export const SC_CORE = 0x0c01;
export const SC_SECURITY = 0x0c02;
export const SC_NET = 0x0c03;
export const SC_MCS_MSGCHANNEL = 0x0c04;
export const SC_MULTITRANSPORT = 0x0c08;
export const SERVER_BLOCK_TYPE_NAMES: Readonly<Record<number, string>> = Object.freeze({
  [SC_CORE]: 'SC_CORE',
  [SC_SECURITY]: 'SC_SECURITY',
  [SC_NET]: 'SC_NET',
  [SC_MCS_MSGCHANNEL]: 'SC_MCS_MSGCHANNEL',
  [SC_MULTITRANSPORT]: 'SC_MULTITRANSPORT',
});

/** TS_UD_SC_CORE.earlyCapabilityFlags (MS-RDPBCGR 2.2.1.4.2). */
export const RNS_UD_SC_EDGE_ACTIONS_SUPPORTED_V1 = 0x00000001;
export const RNS_UD_SC_DYNAMIC_DST_SUPPORTED = 0x00000002;
export const RNS_UD_SC_EDGE_ACTIONS_SUPPORTED_V2 = 0x00000004;
export const RNS_UD_SC_SKIP_CHANNELJOIN_SUPPORTED = 0x00000008;
export const RNS_UD_SC_FLAG_NAMES: Readonly<Record<number, string>> = Object.freeze({
  [RNS_UD_SC_EDGE_ACTIONS_SUPPORTED_V1]: 'RNS_UD_SC_EDGE_ACTIONS_SUPPORTED_V1',
  [RNS_UD_SC_DYNAMIC_DST_SUPPORTED]: 'RNS_UD_SC_DYNAMIC_DST_SUPPORTED',
  [RNS_UD_SC_EDGE_ACTIONS_SUPPORTED_V2]: 'RNS_UD_SC_EDGE_ACTIONS_SUPPORTED_V2',
  [RNS_UD_SC_SKIP_CHANNELJOIN_SUPPORTED]: 'RNS_UD_SC_SKIP_CHANNELJOIN_SUPPORTED',
});

/** Encryption levels (TS_UD_SC_SEC1.encryptionLevel; MS-RDPBCGR 2.2.1.4.3, 5.3.1). */
export const ENCRYPTION_LEVEL_NONE = 0;
export const ENCRYPTION_LEVEL_LOW = 1;
export const ENCRYPTION_LEVEL_CLIENT_COMPATIBLE = 2;
export const ENCRYPTION_LEVEL_HIGH = 3;
export const ENCRYPTION_LEVEL_FIPS = 4;
/** The same values grouped by name. */
export const ENCRYPTION_LEVEL = Object.freeze({
  NONE: ENCRYPTION_LEVEL_NONE,
  LOW: ENCRYPTION_LEVEL_LOW,
  CLIENT_COMPATIBLE: ENCRYPTION_LEVEL_CLIENT_COMPATIBLE,
  HIGH: ENCRYPTION_LEVEL_HIGH,
  FIPS: ENCRYPTION_LEVEL_FIPS,
} as const);
export const ENCRYPTION_LEVEL_NAMES: Readonly<Record<number, string>> = Object.freeze({
  [ENCRYPTION_LEVEL_NONE]: 'ENCRYPTION_LEVEL_NONE',
  [ENCRYPTION_LEVEL_LOW]: 'ENCRYPTION_LEVEL_LOW',
  [ENCRYPTION_LEVEL_CLIENT_COMPATIBLE]: 'ENCRYPTION_LEVEL_CLIENT_COMPATIBLE',
  [ENCRYPTION_LEVEL_HIGH]: 'ENCRYPTION_LEVEL_HIGH',
  [ENCRYPTION_LEVEL_FIPS]: 'ENCRYPTION_LEVEL_FIPS',
});

/** Name of the single method a server selects (TS_UD_SC_SEC1.encryptionMethod), NONE included. */
export function encryptionMethodName(method: number): string {
  switch (method) {
    case ENCRYPTION_METHOD_NONE:
      return 'ENCRYPTION_METHOD_NONE';
    case ENCRYPTION_METHOD_40BIT:
      return 'ENCRYPTION_METHOD_40BIT';
    case ENCRYPTION_METHOD_56BIT:
      return 'ENCRYPTION_METHOD_56BIT';
    case ENCRYPTION_METHOD_128BIT:
      return 'ENCRYPTION_METHOD_128BIT';
    case ENCRYPTION_METHOD_FIPS:
      return 'ENCRYPTION_METHOD_FIPS';
    default:
      return `unknown (0x${method.toString(16)})`;
  }
}

export function encryptionLevelName(level: number): string {
  return ENCRYPTION_LEVEL_NAMES[level] ?? `unknown (${level})`;
}

/** MS-RDPBCGR 2.2.1.4.2 Server Core Data (TS_UD_SC_CORE). */
export interface ServerCoreData {
  version: number;
  /** the requestedProtocols of the client's RDP_NEG_REQ, echoed for downgrade protection */
  clientRequestedProtocols?: number;
  /** RNS_UD_SC_* (present only after clientRequestedProtocols) */
  earlyCapabilityFlags?: number;
}

const SC_CORE_PDU = 'TS_UD_SC_CORE';

/** Decode a TS_UD_SC_CORE body: 4, 8 or 12 bytes; the block ends where the cursor ends. */
export function decodeServerCoreData(input: ReadCursor | Uint8Array): ServerCoreData {
  const r = input instanceof ReadCursor ? input : new ReadCursor(input);
  const v: ServerCoreData = { version: r.u32le(SC_CORE_PDU, 'version') };
  if (!r.isEmpty()) v.clientRequestedProtocols = r.u32le(SC_CORE_PDU, 'clientRequestedProtocols');
  if (!r.isEmpty()) v.earlyCapabilityFlags = r.u32le(SC_CORE_PDU, 'earlyCapabilityFlags');
  r.expectEnd(SC_CORE_PDU);
  return v;
}

export function encodeServerCoreData(v: ServerCoreData, w: WriteCursor): void {
  w.u32le(v.version);
  if (v.earlyCapabilityFlags !== undefined && v.clientRequestedProtocols === undefined) {
    throw new EncodeError(SC_CORE_PDU, 'clientRequestedProtocols', 'must be set because earlyCapabilityFlags is');
  }
  if (v.clientRequestedProtocols !== undefined) w.u32le(v.clientRequestedProtocols);
  if (v.earlyCapabilityFlags !== undefined) w.u32le(v.earlyCapabilityFlags);
}

/** The only serverRandomLen MS-RDPBCGR 2.2.1.4.3 allows. */
export const SERVER_RANDOM_LENGTH = 32;

/**
 * MS-RDPBCGR 2.2.1.4.3 Server Security Data (TS_UD_SC_SEC1). When encryptionMethod and
 * encryptionLevel are both 0 (Enhanced RDP Security, or a server without encryption) the block
 * ends there and `serverRandom`/`serverCertificate` are absent.
 */
export interface ServerSecurityData {
  /** ENCRYPTION_METHOD_* (one value) */
  encryptionMethod: number;
  /** ENCRYPTION_LEVEL_* */
  encryptionLevel: number;
  /** 32 bytes, present unless method and level are both 0 */
  serverRandom?: Uint8Array;
  /** the raw SERVER_CERTIFICATE (decode it with decodeServerCertificate), present with serverRandom */
  serverCertificate?: Uint8Array;
}

const SC_SEC = 'TS_UD_SC_SEC1';

/**
 * Decode a TS_UD_SC_SEC1 body; the block ends where the cursor ends. serverRandomLen must be 32
 * and serverCertLen non-zero (FreeRDP rejects zero too); both are checked against the bytes that
 * remain before anything is sliced. The certificate is left as bytes so that a malformed
 * certificate does not hide the method and level.
 */
export function decodeServerSecurityData(input: ReadCursor | Uint8Array): ServerSecurityData {
  const r = input instanceof ReadCursor ? input : new ReadCursor(input);
  const v: ServerSecurityData = {
    encryptionMethod: r.u32le(SC_SEC, 'encryptionMethod'),
    encryptionLevel: r.u32le(SC_SEC, 'encryptionLevel'),
  };
  if (v.encryptionMethod === ENCRYPTION_METHOD_NONE && v.encryptionLevel === ENCRYPTION_LEVEL_NONE) {
    r.expectEnd(SC_SEC);
    return v;
  }
  let at = r.at;
  const serverRandomLen = r.u32le(SC_SEC, 'serverRandomLen');
  if (serverRandomLen !== SERVER_RANDOM_LENGTH) {
    throw new DecodeError('InvalidField', SC_SEC, 'serverRandomLen', at, `serverRandomLen ${serverRandomLen} is not 32`);
  }
  at = r.at;
  const serverCertLen = r.u32le(SC_SEC, 'serverCertLen');
  if (serverCertLen === 0) {
    throw new DecodeError('InvalidField', SC_SEC, 'serverCertLen', at, 'serverCertLen is 0 although encryption is on');
  }
  if (serverRandomLen + serverCertLen !== r.remaining) {
    throw new DecodeError(
      serverRandomLen + serverCertLen > r.remaining ? 'InvalidField' : 'TrailingBytes',
      SC_SEC,
      'serverCertLen',
      at,
      `serverRandomLen ${serverRandomLen} + serverCertLen ${serverCertLen} do not match the ${r.remaining} bytes that follow`,
    );
  }
  v.serverRandom = r.bytes(serverRandomLen, SC_SEC, 'serverRandom');
  v.serverCertificate = r.bytes(serverCertLen, SC_SEC, 'serverCertificate');
  r.expectEnd(SC_SEC);
  return v;
}

export function encodeServerSecurityData(v: ServerSecurityData, w: WriteCursor): void {
  w.u32le(v.encryptionMethod);
  w.u32le(v.encryptionLevel);
  const none = v.encryptionMethod === ENCRYPTION_METHOD_NONE && v.encryptionLevel === ENCRYPTION_LEVEL_NONE;
  if (none) {
    if (v.serverRandom || v.serverCertificate) {
      throw new EncodeError(SC_SEC, 'serverRandom', 'must be absent when method and level are both 0');
    }
    return;
  }
  if (!v.serverRandom || v.serverRandom.length !== SERVER_RANDOM_LENGTH) {
    throw new EncodeError(SC_SEC, 'serverRandom', 'must be 32 bytes when encryption is on');
  }
  if (!v.serverCertificate || v.serverCertificate.length === 0) {
    throw new EncodeError(SC_SEC, 'serverCertificate', 'must be present when encryption is on');
  }
  w.u32le(v.serverRandom.length);
  w.u32le(v.serverCertificate.length);
  w.bytes(v.serverRandom);
  w.bytes(v.serverCertificate);
}

/** Decode the certificate of a TS_UD_SC_SEC1, if it has one. */
export function serverSecurityCertificate(v: ServerSecurityData): ServerCertificate | undefined {
  return v.serverCertificate ? decodeServerCertificate(v.serverCertificate) : undefined;
}

/** MS-RDPBCGR 2.2.1.4.4 Server Network Data (TS_UD_SC_NET). */
export interface ServerNetworkData {
  /** the MCS I/O channel */
  MCSChannelId: number;
  /** one MCS channel ID per TS_UD_CS_NET channel, in the client's order */
  channelIdArray: number[];
}

const SC_NET_PDU = 'TS_UD_SC_NET';

/** Decode a TS_UD_SC_NET body; a 2-byte Pad follows an odd channelCount and is required. */
export function decodeServerNetworkData(input: ReadCursor | Uint8Array): ServerNetworkData {
  const r = input instanceof ReadCursor ? input : new ReadCursor(input);
  const MCSChannelId = r.u16le(SC_NET_PDU, 'MCSChannelId');
  const at = r.at;
  const channelCount = r.u16le(SC_NET_PDU, 'channelCount');
  const expected = channelCount * 2 + (channelCount % 2 === 1 ? 2 : 0);
  if (r.remaining !== expected) {
    throw new DecodeError('InvalidField', SC_NET_PDU, 'channelCount', at, `${channelCount} channels need ${expected} bytes, block has ${r.remaining}`);
  }
  const channelIdArray: number[] = [];
  for (let i = 0; i < channelCount; i++) channelIdArray.push(r.u16le(SC_NET_PDU, `channelIdArray[${i}]`));
  if (channelCount % 2 === 1) r.skip(2, SC_NET_PDU, 'Pad');
  r.expectEnd(SC_NET_PDU);
  return { MCSChannelId, channelIdArray };
}

export function encodeServerNetworkData(v: ServerNetworkData, w: WriteCursor): void {
  if (v.channelIdArray.length > 0xffff) throw new EncodeError(SC_NET_PDU, 'channelCount', 'too many channels');
  w.u16le(v.MCSChannelId);
  w.u16le(v.channelIdArray.length);
  for (const id of v.channelIdArray) w.u16le(id);
  if (v.channelIdArray.length % 2 === 1) w.zeros(2);
}

/** One server block, decoded when we know its type, raw otherwise. Order is kept. */
export type ServerDataBlock =
  | { kind: 'core'; value: ServerCoreData }
  | { kind: 'security'; value: ServerSecurityData }
  | { kind: 'network'; value: ServerNetworkData }
  | { kind: 'raw'; type: number; data: Uint8Array };

type KnownServerBlock = Exclude<ServerDataBlock, { kind: 'raw' }>;
const SERVER_CODECS: Record<KnownServerBlock['kind'], BlockCodec> = {
  core: { type: SC_CORE, decode: decodeServerCoreData, encode: encodeServerCoreData },
  security: { type: SC_SECURITY, decode: decodeServerSecurityData, encode: encodeServerSecurityData },
  network: { type: SC_NET, decode: decodeServerNetworkData, encode: encodeServerNetworkData },
};

/**
 * Decode the server data blocks of a Conference Create Response userData (MS-RDPBCGR 2.2.1.4).
 * Unknown types are kept raw; a type seen twice is InvalidField.
 */
export function decodeServerDataBlocks(input: ReadCursor | Uint8Array): ServerDataBlock[] {
  return decodeDataBlocks<ServerDataBlock>(input, SERVER_CODECS);
}

export function encodeServerDataBlocks(blocks: readonly ServerDataBlock[], w: WriteCursor): void {
  encodeDataBlocks(blocks, SERVER_CODECS, w);
}

/** The blocks by kind, for code that does not care about their order. */
export interface ServerData {
  core?: ServerCoreData;
  security?: ServerSecurityData;
  network?: ServerNetworkData;
  raw: { type: number; data: Uint8Array }[];
}

export function collectServerData(blocks: readonly ServerDataBlock[]): ServerData {
  return collectDataBlocks<ServerData>(blocks);
}
