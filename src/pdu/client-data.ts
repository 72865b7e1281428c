import { ReadCursor, WriteCursor } from './cursor.js';
import { DecodeError, EncodeError } from './errors.js';
import { collectDataBlocks, decodeDataBlocks, encodeDataBlocks, type BlockCodec } from './gcc.js';

/**
 * Client settings data blocks carried in the GCC Conference Create Request (MS-RDPBCGR 2.2.1.3):
 * TS_UD_CS_CORE (2.2.1.3.2), TS_UD_CS_SEC (2.2.1.3.3), TS_UD_CS_NET (2.2.1.3.4) and
 * TS_UD_CS_CLUSTER (2.2.1.3.5). Other blocks (monitor, message channel, multitransport) are kept
 * as raw bytes. Field names are the spec's; every integer is little-endian.
 */

/** TS_UD_HEADER.type of client blocks (MS-RDPBCGR 2.2.1.3.1). */
export const CS_CORE = 0xc001;
export const CS_SECURITY = 0xc002;
export const CS_NET = 0xc003;
export const CS_CLUSTER = 0xc004;
export const CS_MONITOR = 0xc005;
export const CS_MCS_MSGCHANNEL = 0xc006;
export const CS_MONITOR_EX = 0xc008;
export const CS_MULTITRANSPORT = 0xc00a;
export const CLIENT_BLOCK_TYPE_NAMES: Readonly<Record<number, string>> = Object.freeze({
  [CS_CORE]: 'CS_CORE',
  [CS_SECURITY]: 'CS_SECURITY',
  [CS_NET]: 'CS_NET',
  [CS_CLUSTER]: 'CS_CLUSTER',
  [CS_MONITOR]: 'CS_MONITOR',
  [CS_MCS_MSGCHANNEL]: 'CS_MCS_MSGCHANNEL',
  [CS_MONITOR_EX]: 'CS_MONITOR_EX',
  [CS_MULTITRANSPORT]: 'CS_MULTITRANSPORT',
});

/** RDP version numbers, shared by TS_UD_CS_CORE and TS_UD_SC_CORE (MS-RDPBCGR 2.2.1.3.2, 2.2.1.4.2). */
export const RDP_VERSION_4 = 0x00080001;
export const RDP_VERSION_5_PLUS = 0x00080004;
export const RDP_VERSION_10_0 = 0x00080005;
export const RDP_VERSION_10_1 = 0x00080006;
export const RDP_VERSION_10_2 = 0x00080007;
export const RDP_VERSION_10_3 = 0x00080008;
export const RDP_VERSION_10_4 = 0x00080009;
export const RDP_VERSION_10_5 = 0x0008000a;
export const RDP_VERSION_10_6 = 0x0008000b;
export const RDP_VERSION_10_7 = 0x0008000c;
export const RDP_VERSION_10_8 = 0x0008000d;
export const RDP_VERSION_10_9 = 0x0008000e;
export const RDP_VERSION_10_10 = 0x0008000f;
export const RDP_VERSION_10_11 = 0x00080010;
export const RDP_VERSION_10_12 = 0x00080011;
/** Name of a version value: "RDP 4.0", "RDP 5.0-8.1", "RDP 10.0".."RDP 10.12", else hex. */
export function rdpVersionName(version: number): string {
  if (version === RDP_VERSION_4) return 'RDP 4.0';
  if (version === RDP_VERSION_5_PLUS) return 'RDP 5.0-8.1';
  if (version >= RDP_VERSION_10_0 && version <= RDP_VERSION_10_12) return `RDP 10.${version - RDP_VERSION_10_0}`;
  return `unknown (0x${version.toString(16).padStart(8, '0')})`;
}

/** Encryption method flags (TS_UD_CS_SEC.encryptionMethods, TS_UD_SC_SEC1.encryptionMethod). */
export const ENCRYPTION_METHOD_NONE = 0x00;
export const ENCRYPTION_METHOD_40BIT = 0x01;
export const ENCRYPTION_METHOD_128BIT = 0x02;
export const ENCRYPTION_METHOD_56BIT = 0x08;
export const ENCRYPTION_METHOD_FIPS = 0x10;
/** The same values grouped, for code that indexes by strength name. */
export const ENCRYPTION_METHOD = Object.freeze({
  NONE: ENCRYPTION_METHOD_NONE,
  '40BIT': ENCRYPTION_METHOD_40BIT,
  '128BIT': ENCRYPTION_METHOD_128BIT,
  '56BIT': ENCRYPTION_METHOD_56BIT,
  FIPS: ENCRYPTION_METHOD_FIPS,
} as const);
export const ENCRYPTION_METHOD_NAMES: Readonly<Record<number, string>> = Object.freeze({
  [ENCRYPTION_METHOD_40BIT]: 'ENCRYPTION_METHOD_40BIT',
  [ENCRYPTION_METHOD_128BIT]: 'ENCRYPTION_METHOD_128BIT',
  [ENCRYPTION_METHOD_56BIT]: 'ENCRYPTION_METHOD_56BIT',
  [ENCRYPTION_METHOD_FIPS]: 'ENCRYPTION_METHOD_FIPS',
});

/** TS_UD_CS_CORE.earlyCapabilityFlags (MS-RDPBCGR 2.2.1.3.2). */
export const RNS_UD_CS_SUPPORT_ERRINFO_PDU = 0x0001;
export const RNS_UD_CS_WANT_32BPP_SESSION = 0x0002;
export const RNS_UD_CS_SUPPORT_STATUSINFO_PDU = 0x0004;
export const RNS_UD_CS_STRONG_ASYMMETRIC_KEYS = 0x0008;
export const RNS_UD_CS_RELATIVE_MOUSE_INPUT = 0x0010;
export const RNS_UD_CS_VALID_CONNECTION_TYPE = 0x0020;
export const RNS_UD_CS_SUPPORT_MONITOR_LAYOUT_PDU = 0x0040;
export const RNS_UD_CS_SUPPORT_NETCHAR_AUTODETECT = 0x0080;
export const RNS_UD_CS_SUPPORT_DYNVC_GFX_PROTOCOL = 0x0100;
export const RNS_UD_CS_SUPPORT_DYNAMIC_TIME_ZONE = 0x0200;
export const RNS_UD_CS_SUPPORT_HEARTBEAT_PDU = 0x0400;
export const RNS_UD_CS_SUPPORT_SKIP_CHANNELJOIN = 0x0800;
export const RNS_UD_CS_FLAG_NAMES: Readonly<Record<number, string>> = Object.freeze({
  [RNS_UD_CS_SUPPORT_ERRINFO_PDU]: 'RNS_UD_CS_SUPPORT_ERRINFO_PDU',
  [RNS_UD_CS_WANT_32BPP_SESSION]: 'RNS_UD_CS_WANT_32BPP_SESSION',
  [RNS_UD_CS_SUPPORT_STATUSINFO_PDU]: 'RNS_UD_CS_SUPPORT_STATUSINFO_PDU',
  [RNS_UD_CS_STRONG_ASYMMETRIC_KEYS]: 'RNS_UD_CS_STRONG_ASYMMETRIC_KEYS',
  [RNS_UD_CS_RELATIVE_MOUSE_INPUT]: 'RNS_UD_CS_RELATIVE_MOUSE_INPUT',
  [RNS_UD_CS_VALID_CONNECTION_TYPE]: 'RNS_UD_CS_VALID_CONNECTION_TYPE',
  [RNS_UD_CS_SUPPORT_MONITOR_LAYOUT_PDU]: 'RNS_UD_CS_SUPPORT_MONITOR_LAYOUT_PDU',
  [RNS_UD_CS_SUPPORT_NETCHAR_AUTODETECT]: 'RNS_UD_CS_SUPPORT_NETCHAR_AUTODETECT',
  [RNS_UD_CS_SUPPORT_DYNVC_GFX_PROTOCOL]: 'RNS_UD_CS_SUPPORT_DYNVC_GFX_PROTOCOL',
  [RNS_UD_CS_SUPPORT_DYNAMIC_TIME_ZONE]: 'RNS_UD_CS_SUPPORT_DYNAMIC_TIME_ZONE',
  [RNS_UD_CS_SUPPORT_HEARTBEAT_PDU]: 'RNS_UD_CS_SUPPORT_HEARTBEAT_PDU',
  [RNS_UD_CS_SUPPORT_SKIP_CHANNELJOIN]: 'RNS_UD_CS_SUPPORT_SKIP_CHANNELJOIN',
});

/** TS_UD_CS_CORE value constants (MS-RDPBCGR 2.2.1.3.2). */
export const RNS_UD_COLOR_4BPP = 0xca00;
export const RNS_UD_COLOR_8BPP = 0xca01;
export const RNS_UD_COLOR_16BPP_555 = 0xca02;
export const RNS_UD_COLOR_16BPP_565 = 0xca03;
export const RNS_UD_COLOR_24BPP = 0xca04;
export const RNS_UD_SAS_DEL = 0xaa03;
export const RNS_UD_24BPP_SUPPORT = 0x0001;
export const RNS_UD_16BPP_SUPPORT = 0x0002;
export const RNS_UD_15BPP_SUPPORT = 0x0004;
export const RNS_UD_32BPP_SUPPORT = 0x0008;
export const CONNECTION_TYPE_MODEM = 0x01;
export const CONNECTION_TYPE_BROADBAND_LOW = 0x02;
export const CONNECTION_TYPE_SATELLITE = 0x03;
export const CONNECTION_TYPE_BROADBAND_HIGH = 0x04;
export const CONNECTION_TYPE_WAN = 0x05;
export const CONNECTION_TYPE_LAN = 0x06;
export const CONNECTION_TYPE_AUTODETECT = 0x07;

/** Names of the bits set in `value` per `names`; unnamed bits as hex. */
export function flagNames(value: number, names: Readonly<Record<number, string>>): string[] {
  const out: string[] = [];
  for (let i = 0; i < 32; i++) {
    const bit = 2 ** i;
    if (Math.floor(value / bit) % 2 === 1) out.push(names[bit] ?? `0x${bit.toString(16)}`);
  }
  return out;
}

/** MS-RDPBCGR 2.2.1.3.2 Client Core Data (TS_UD_CS_CORE). Optional fields appear in order. */
export interface ClientCoreData {
  version: number;
  desktopWidth: number;
  desktopHeight: number;
  /** RNS_UD_COLOR_*; ignored by servers when postBeta2ColorDepth is present */
  colorDepth: number;
  /** RNS_UD_SAS_DEL */
  SASSequence: number;
  keyboardLayout: number;
  clientBuild: number;
  /** up to 15 characters (32 bytes UTF-16LE, NUL-terminated) */
  clientName: string;
  keyboardType: number;
  keyboardSubType: number;
  keyboardFunctionKey: number;
  /** up to 31 characters (64 bytes UTF-16LE) */
  imeFileName: string;
  postBeta2ColorDepth?: number;
  clientProductId?: number;
  serialNumber?: number;
  highColorDepth?: number;
  supportedColorDepths?: number;
  earlyCapabilityFlags?: number;
  /** up to 31 characters (64 bytes UTF-16LE) */
  clientDigProductId?: string;
  connectionType?: number;
  pad1octet?: number;
  /** the selectedProtocol of RDP_NEG_RSP, echoed for downgrade protection */
  serverSelectedProtocol?: number;
  desktopPhysicalWidth?: number;
  desktopPhysicalHeight?: number;
  desktopOrientation?: number;
  desktopScaleFactor?: number;
  deviceScaleFactor?: number;
}

type FieldKind = 1 | 2 | 4 | 'utf16-32' | 'utf16-64';
type CoreKey = keyof ClientCoreData;
/** The fixed part, 128 bytes. */
const CORE_REQUIRED: readonly [CoreKey, FieldKind][] = [
  ['version', 4], ['desktopWidth', 2], ['desktopHeight', 2], ['colorDepth', 2], ['SASSequence', 2],
  ['keyboardLayout', 4], ['clientBuild', 4], ['clientName', 'utf16-32'], ['keyboardType', 4],
  ['keyboardSubType', 4], ['keyboardFunctionKey', 4], ['imeFileName', 'utf16-64'],
];
/** The optional tail: a field is present when the block is long enough; each needs all before it. */
const CORE_OPTIONAL: readonly [CoreKey, FieldKind][] = [
  ['postBeta2ColorDepth', 2], ['clientProductId', 2], ['serialNumber', 4], ['highColorDepth', 2],
  ['supportedColorDepths', 2], ['earlyCapabilityFlags', 2], ['clientDigProductId', 'utf16-64'],
  ['connectionType', 1], ['pad1octet', 1], ['serverSelectedProtocol', 4], ['desktopPhysicalWidth', 4],
  ['desktopPhysicalHeight', 4], ['desktopOrientation', 2], ['desktopScaleFactor', 4], ['deviceScaleFactor', 4],
];
const CORE = 'TS_UD_CS_CORE';

function fieldSize(kind: FieldKind): number {
  return kind === 'utf16-32' ? 32 : kind === 'utf16-64' ? 64 : kind;
}

function readField(r: ReadCursor, kind: FieldKind, pdu: string, field: string): number | string {
  switch (kind) {
    case 1:
      return r.u8(pdu, field);
    case 2:
      return r.u16le(pdu, field);
    case 4:
      return r.u32le(pdu, field);
    default: {
      const s = Buffer.from(r.bytes(fieldSize(kind), pdu, field)).toString('utf16le');
      const nul = s.indexOf('\0');
      return nul < 0 ? s : s.slice(0, nul);
    }
  }
}

function writeField(w: WriteCursor, kind: FieldKind, v: number | string, pdu: string, field: string): void {
  if (typeof v === 'string') {
    const size = fieldSize(kind);
    const bytes = Buffer.from(v, 'utf16le');
    if (kind !== 'utf16-32' && kind !== 'utf16-64') throw new EncodeError(pdu, field, 'expected a number');
    if (bytes.length > size - 2) throw new EncodeError(pdu, field, `"${v}" does not fit ${size} bytes with its terminator`);
    w.bytes(bytes);
    w.zeros(size - bytes.length);
    return;
  }
  if (typeof kind !== 'number' || !Number.isInteger(v) || v < 0 || v >= 2 ** (8 * kind)) {
    throw new EncodeError(pdu, field, `${v} does not fit ${fieldSize(kind)} bytes`);
  }
  if (kind === 1) w.u8(v);
  else if (kind === 2) w.u16le(v);
  else w.u32le(v);
}

/**
 * Decode a TS_UD_CS_CORE body (after the TS_UD_HEADER); the block ends where the cursor ends.
 * Optional fields are present as far as the block reaches; a block that ends inside a field is
 * InvalidField.
 */
export function decodeClientCoreData(input: ReadCursor | Uint8Array): ClientCoreData {
  const r = input instanceof ReadCursor ? input : new ReadCursor(input);
  const out: Record<string, number | string> = {};
  for (const [name, kind] of CORE_REQUIRED) out[name] = readField(r, kind, CORE, name);
  for (const [name, kind] of CORE_OPTIONAL) {
    if (r.isEmpty()) break;
    if (r.remaining < fieldSize(kind)) {
      throw new DecodeError('InvalidField', CORE, name, r.at, `block ends ${r.remaining} bytes into this ${fieldSize(kind)}-byte field`);
    }
    out[name] = readField(r, kind, CORE, name);
  }
  r.expectEnd(CORE);
  return out as unknown as ClientCoreData;
}

/** Encode a TS_UD_CS_CORE body: the fixed part, then optional fields up to the last one set. */
export function encodeClientCoreData(v: ClientCoreData, w: WriteCursor): void {
  for (const [name, kind] of CORE_REQUIRED) writeField(w, kind, v[name] as number | string, CORE, name);
  let last = -1;
  CORE_OPTIONAL.forEach(([name], i) => {
    if (v[name] !== undefined) last = i;
  });
  for (let i = 0; i <= last; i++) {
    const [name, kind] = CORE_OPTIONAL[i]!;
    const value = v[name];
    if (value === undefined) throw new EncodeError(CORE, name, `must be set because ${CORE_OPTIONAL[last]![0]} is`);
    writeField(w, kind, value, CORE, name);
  }
}

/** MS-RDPBCGR 2.2.1.3.3 Client Security Data (TS_UD_CS_SEC). */
export interface ClientSecurityData {
  /** ENCRYPTION_METHOD_* flags offered */
  encryptionMethods: number;
  /** French-locale clients put their methods here and 0 in encryptionMethods */
  extEncryptionMethods: number;
}

export function decodeClientSecurityData(input: ReadCursor | Uint8Array): ClientSecurityData {
  const r = input instanceof ReadCursor ? input : new ReadCursor(input);
  const v = {
    encryptionMethods: r.u32le('TS_UD_CS_SEC', 'encryptionMethods'),
    extEncryptionMethods: r.u32le('TS_UD_CS_SEC', 'extEncryptionMethods'),
  };
  r.expectEnd('TS_UD_CS_SEC');
  return v;
}

export function encodeClientSecurityData(v: ClientSecurityData, w: WriteCursor): void {
  w.u32le(v.encryptionMethods);
  w.u32le(v.extEncryptionMethods);
}

/** CHANNEL_DEF.options (MS-RDPBCGR 2.2.1.3.4.1). */
export const CHANNEL_OPTION_INITIALIZED = 0x80000000;
export const CHANNEL_OPTION_ENCRYPT_RDP = 0x40000000;
export const CHANNEL_OPTION_ENCRYPT_SC = 0x20000000;
export const CHANNEL_OPTION_ENCRYPT_CS = 0x10000000;
export const CHANNEL_OPTION_PRI_HIGH = 0x08000000;
export const CHANNEL_OPTION_PRI_MED = 0x04000000;
export const CHANNEL_OPTION_PRI_LOW = 0x02000000;
export const CHANNEL_OPTION_COMPRESS_RDP = 0x00800000;
export const CHANNEL_OPTION_COMPRESS = 0x00400000;
export const CHANNEL_OPTION_SHOW_PROTOCOL = 0x00200000;
export const REMOTE_CONTROL_PERSISTENT = 0x00100000;
/** TS_UD_CS_NET.channelCount maximum (CHANNEL_MAX_COUNT). */
export const CHANNEL_MAX_COUNT = 31;

/** MS-RDPBCGR 2.2.1.3.4.1 Channel Definition Structure (CHANNEL_DEF). */
export interface ChannelDef {
  /** up to 7 ANSI characters (8 bytes, NUL-terminated) */
  name: string;
  options: number;
}

/** MS-RDPBCGR 2.2.1.3.4 Client Network Data (TS_UD_CS_NET). */
export interface ClientNetworkData {
  channelDefArray: ChannelDef[];
}

const NET = 'TS_UD_CS_NET';

export function decodeClientNetworkData(input: ReadCursor | Uint8Array): ClientNetworkData {
  const r = input instanceof ReadCursor ? input : new ReadCursor(input);
  const at = r.at;
  const channelCount = r.u32le(NET, 'channelCount');
  if (channelCount > CHANNEL_MAX_COUNT) {
    throw new DecodeError('InvalidField', NET, 'channelCount', at, `${channelCount} channels exceeds CHANNEL_MAX_COUNT (31)`);
  }
  if (r.remaining !== channelCount * 12) {
    throw new DecodeError('InvalidField', NET, 'channelCount', at, `${channelCount} channels need ${channelCount * 12} bytes, block has ${r.remaining}`);
  }
  const channelDefArray: ChannelDef[] = [];
  for (let i = 0; i < channelCount; i++) {
    const raw = r.bytes(8, NET, `channelDefArray[${i}].name`);
    const nul = raw.indexOf(0);
    const name = Buffer.from(nul < 0 ? raw : raw.subarray(0, nul)).toString('latin1');
    channelDefArray.push({ name, options: r.u32le(NET, `channelDefArray[${i}].options`) });
  }
  r.expectEnd(NET);
  return { channelDefArray };
}

export function encodeClientNetworkData(v: ClientNetworkData, w: WriteCursor): void {
  if (v.channelDefArray.length > CHANNEL_MAX_COUNT) {
    throw new EncodeError(NET, 'channelCount', `${v.channelDefArray.length} channels exceeds CHANNEL_MAX_COUNT (31)`);
  }
  w.u32le(v.channelDefArray.length);
  v.channelDefArray.forEach((c, i) => {
    if (!/^[\x01-\xff]{0,7}$/.test(c.name)) throw new EncodeError(NET, `channelDefArray[${i}].name`, `"${c.name}" is not up to 7 ANSI characters`);
    const name = Buffer.from(c.name, 'latin1');
    w.bytes(name);
    w.zeros(8 - name.length);
    w.u32le(c.options);
  });
}

/** TS_UD_CS_CLUSTER.Flags (MS-RDPBCGR 2.2.1.3.5). */
export const REDIRECTION_SUPPORTED = 0x00000001;
export const REDIRECTED_SESSIONID_FIELD_VALID = 0x00000002;
export const REDIRECTED_SMARTCARD = 0x00000040;
export const SERVER_SESSION_REDIRECTION_VERSION_MASK = 0x0000003c;
/** REDIRECTION_VERSION1..6 are 0..5 in the version bits. */
export function clusterRedirectionVersion(flags: number): number {
  return ((flags & SERVER_SESSION_REDIRECTION_VERSION_MASK) >> 2) + 1;
}

/** MS-RDPBCGR 2.2.1.3.5 Client Cluster Data (TS_UD_CS_CLUSTER). */
export interface ClientClusterData {
  Flags: number;
  RedirectedSessionID: number;
}

export function decodeClientClusterData(input: ReadCursor | Uint8Array): ClientClusterData {
  const r = input instanceof ReadCursor ? input : new ReadCursor(input);
  const v = { Flags: r.u32le('TS_UD_CS_CLUSTER', 'Flags'), RedirectedSessionID: r.u32le('TS_UD_CS_CLUSTER', 'RedirectedSessionID') };
  r.expectEnd('TS_UD_CS_CLUSTER');
  return v;
}

export function encodeClientClusterData(v: ClientClusterData, w: WriteCursor): void {
  w.u32le(v.Flags);
  w.u32le(v.RedirectedSessionID);
}

/** One client block, decoded when we know its type, raw otherwise. Order is kept. */
export type ClientDataBlock =
  | { kind: 'core'; value: ClientCoreData }
  | { kind: 'security'; value: ClientSecurityData }
  | { kind: 'network'; value: ClientNetworkData }
  | { kind: 'cluster'; value: ClientClusterData }
  | { kind: 'raw'; type: number; data: Uint8Array };

type KnownClientBlock = Exclude<ClientDataBlock, { kind: 'raw' }>;
const CLIENT_CODECS: Record<KnownClientBlock['kind'], BlockCodec> = {
  core: { type: CS_CORE, decode: decodeClientCoreData, encode: encodeClientCoreData },
  security: { type: CS_SECURITY, decode: decodeClientSecurityData, encode: encodeClientSecurityData },
  network: { type: CS_NET, decode: decodeClientNetworkData, encode: encodeClientNetworkData },
  cluster: { type: CS_CLUSTER, decode: decodeClientClusterData, encode: encodeClientClusterData },
};

/**
 * Decode the client data blocks of a Conference Create Request userData (MS-RDPBCGR 2.2.1.3).
 * Unknown types are kept raw; a type seen twice is InvalidField.
 */
export function decodeClientDataBlocks(input: ReadCursor | Uint8Array): ClientDataBlock[] {
  return decodeDataBlocks<ClientDataBlock>(input, CLIENT_CODECS);
}

export function encodeClientDataBlocks(blocks: readonly ClientDataBlock[], w: WriteCursor): void {
  encodeDataBlocks(blocks, CLIENT_CODECS, w);
}

/** The blocks by kind, for code that does not care about their order. */
export interface ClientData {
  core?: ClientCoreData;
  security?: ClientSecurityData;
  network?: ClientNetworkData;
  cluster?: ClientClusterData;
  raw: { type: number; data: Uint8Array }[];
}

export function collectClientData(blocks: readonly ClientDataBlock[]): ClientData {
  return collectDataBlocks<ClientData>(blocks);
}
