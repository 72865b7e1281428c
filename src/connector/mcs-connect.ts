import { WriteCursor } from '../pdu/cursor.js';
import {
  REDIRECTION_SUPPORTED,
  RDP_VERSION_5_PLUS,
  RNS_UD_24BPP_SUPPORT,
  RNS_UD_16BPP_SUPPORT,
  RNS_UD_15BPP_SUPPORT,
  RNS_UD_32BPP_SUPPORT,
  RNS_UD_COLOR_8BPP,
  RNS_UD_CS_SUPPORT_ERRINFO_PDU,
  RNS_UD_SAS_DEL,
  encodeClientDataBlocks,
  type ClientDataBlock,
} from '../pdu/client-data.js';
import { decodeConferenceCreateResponse, encodeConferenceCreateRequest } from '../pdu/gcc.js';
import { decodeMcsConnectReply, encodeMcsConnectInitial, mcsConnectInitial, mcsReasonName, mcsResultName } from '../pdu/mcs.js';
import {
  SC_MCS_MSGCHANNEL,
  collectServerData,
  decodeServerDataBlocks,
  encryptionLevelName,
  encryptionMethodName,
  type ServerCoreData,
  type ServerNetworkData,
  type ServerSecurityData,
} from '../pdu/server-data.js';
import { decodeX224Data, encodeX224Data } from '../pdu/x224.js';

/**
 * The MCS Connect Initial / Connect Response step of the connection sequence
 * (MS-RDPBCGR 2.2.1.3, 2.2.1.4): the GCC client data the connector sends, and what it reads
 * back from the server.
 */
export interface ClientDataConfig {
  /** TS_UD_CS_SEC encryptionMethods (ENCRYPTION_METHOD_* flags) */
  encryptionMethods: number;
  /**
   * encryptionMethods when the server selected TLS or CredSSP (Enhanced RDP Security), where the
   * field means nothing (MS-RDPBCGR 2.2.1.3.3: "only relevant when Standard RDP Security
   * mechanisms will be used"): xfreerdp and rdesktop write 0 there (captures *--xfreerdp-default,
   * rdesktop sec.c `g_encryption ? 0x3 : 0`). Absent: the same as `encryptionMethods`.
   */
  encryptionMethodsOverTls?: number;
  /** French-locale clients put their methods here (MS-RDPBCGR 2.2.1.3.3) */
  extEncryptionMethods?: number;
  /** TS_UD_CS_CORE version (RDP_VERSION_*) */
  version: number;
  clientName: string;
  clientBuild: number;
  desktopWidth: number;
  desktopHeight: number;
  earlyCapabilityFlags: number;
  /** static virtual channels to ask for (TS_UD_CS_NET) */
  channels: string[];
}

/**
 * A plain, honest client: RDP 5+ core data, 8 bpp with 15/16/24/32 supported, no channels, no
 * cluster redirection beyond announcing support, Set Error Info PDUs understood.
 */
export const DEFAULT_CLIENT_DATA: ClientDataConfig = Object.freeze({
  encryptionMethods: 0x1b,
  version: RDP_VERSION_5_PLUS,
  clientName: 'rdpsec',
  clientBuild: 2600,
  desktopWidth: 1024,
  desktopHeight: 768,
  earlyCapabilityFlags: RNS_UD_CS_SUPPORT_ERRINFO_PDU,
  channels: [],
}) as ClientDataConfig;

/**
 * The whole TPKT frame of the MCS Connect Initial. `serverSelectedProtocol` is echoed in
 * TS_UD_CS_CORE (downgrade protection, MS-RDPBCGR 2.2.1.3.2); null for a legacy client, which
 * stops the core data before that field as pre-5.2 clients do.
 */
export function buildMcsConnectInitial(c: ClientDataConfig, serverSelectedProtocol: number | null): Buffer {
  const enhanced = serverSelectedProtocol !== null && serverSelectedProtocol !== 0;
  const encryptionMethods = enhanced && c.encryptionMethodsOverTls !== undefined ? c.encryptionMethodsOverTls : c.encryptionMethods;
  const blocks: ClientDataBlock[] = [
    {
      kind: 'core',
      value: {
        version: c.version,
        desktopWidth: c.desktopWidth,
        desktopHeight: c.desktopHeight,
        colorDepth: RNS_UD_COLOR_8BPP,
        SASSequence: RNS_UD_SAS_DEL,
        keyboardLayout: 0x409,
        clientBuild: c.clientBuild,
        clientName: c.clientName,
        keyboardType: 4,
        keyboardSubType: 0,
        keyboardFunctionKey: 12,
        imeFileName: '',
        postBeta2ColorDepth: RNS_UD_COLOR_8BPP,
        clientProductId: 1,
        serialNumber: 0,
        highColorDepth: 24,
        supportedColorDepths: RNS_UD_24BPP_SUPPORT | RNS_UD_16BPP_SUPPORT | RNS_UD_15BPP_SUPPORT | RNS_UD_32BPP_SUPPORT,
        earlyCapabilityFlags: c.earlyCapabilityFlags,
        ...(serverSelectedProtocol !== null
          ? { clientDigProductId: '', connectionType: 0, pad1octet: 0, serverSelectedProtocol }
          : {}),
      },
    },
    { kind: 'security', value: { encryptionMethods, extEncryptionMethods: c.extEncryptionMethods ?? 0 } },
    { kind: 'network', value: { channelDefArray: c.channels.map((name) => ({ name, options: 0x80000000 })) } },
    { kind: 'cluster', value: { Flags: REDIRECTION_SUPPORTED | REDIRECTION_VERSION4_BITS, RedirectedSessionID: 0 } },
  ];
  const userData = new WriteCursor();
  encodeClientDataBlocks(blocks, userData);
  const gcc = new WriteCursor();
  encodeConferenceCreateRequest({ conferenceName: '1', userData: userData.finish() }, gcc);
  const mcs = new WriteCursor();
  encodeMcsConnectInitial(mcsConnectInitial(gcc.finish()), mcs);
  return encodeX224Data(mcs.finish());
}

/** SC_MCS_MSGCHANNEL (MS-RDPBCGR 2.2.1.4.5): a 2-byte MCSChannelID. */
function messageChannel(raw: { type: number; data: Uint8Array }[]): { messageChannelId?: number } {
  const b = raw.find((r) => r.type === SC_MCS_MSGCHANNEL);
  return b && b.data.length === 2 ? { messageChannelId: b.data[0]! | (b.data[1]! << 8) } : {};
}

/** TS_UD_CS_CLUSTER: REDIRECTION_VERSION4 (value 3) in the ServerSessionRedirectionVersionMask bits (MS-RDPBCGR 2.2.1.3.5). */
const REDIRECTION_VERSION4_BITS = 3 << 2;

/** Short names for reports: '40BIT', '128BIT', 'FIPS', 'NONE' (the spec names without ENCRYPTION_METHOD_). */
export function methodName(method: number): string {
  return encryptionMethodName(method).replace(/^ENCRYPTION_METHOD_/, '');
}
/** Short names for reports: 'NONE', 'LOW', 'CLIENT_COMPATIBLE', 'HIGH', 'FIPS'. */
export function levelName(level: number): string {
  return encryptionLevelName(level).replace(/^ENCRYPTION_LEVEL_/, '');
}

/** What the server answered to the Connect Initial. */
export type McsConnectOutcome =
  | { kind: 'disconnect'; reason: number; reasonName: string }
  | {
      kind: 'response';
      /** MCS result, 0 = rt-successful */
      result: number;
      resultName: string;
      summary: string;
      serverCore?: ServerCoreData;
      serverSecurity?: ServerSecurityData;
      serverNetwork?: ServerNetworkData;
      /** SC_MCS_MSGCHANNEL MCSChannelID (MS-RDPBCGR 2.2.1.4.5), when the server announces one */
      messageChannelId?: number;
      /** types of server data blocks we keep raw (SC_MCS_MSGCHANNEL, SC_MULTITRANSPORT, ...) */
      otherBlocks: number[];
    };

export function readMcsConnectResponse(frame: Uint8Array): McsConnectOutcome {
  const reply = decodeMcsConnectReply(decodeX224Data(frame));
  if (reply.kind === 'ultimatum') {
    return { kind: 'disconnect', reason: reply.ultimatum.reason, reasonName: mcsReasonName(reply.ultimatum.reason) };
  }
  const r = reply.response;
  if (r.result !== 0) {
    return { kind: 'response', result: r.result, resultName: mcsResultName(r.result), summary: `result ${mcsResultName(r.result)}`, otherBlocks: [] };
  }
  const gcc = decodeConferenceCreateResponse(r.userData);
  const data = collectServerData(decodeServerDataBlocks(gcc.userData));
  const sec = data.security;
  return {
    kind: 'response',
    result: r.result,
    resultName: mcsResultName(r.result),
    summary: sec
      ? `encryptionMethod=${encryptionMethodName(sec.encryptionMethod)} encryptionLevel=${encryptionLevelName(sec.encryptionLevel)}`
      : 'no server security data',
    ...(data.core ? { serverCore: data.core } : {}),
    ...(sec ? { serverSecurity: sec } : {}),
    ...(data.network ? { serverNetwork: data.network } : {}),
    ...messageChannel(data.raw),
    otherBlocks: data.raw.map((b) => b.type),
  };
}
