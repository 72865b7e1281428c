import { ReadCursor, WriteCursor } from './cursor.js';
import { DecodeError, EncodeError } from './errors.js';

/**
 * Bodies of the slow-path Data PDUs of connection finalization and error reporting, the part
 * after the Share Data Header (MS-RDPBCGR 2.2.8.1.1.1.2; the header itself is read by
 * share.ts): Synchronize (2.2.1.14.1; the server's, 2.2.1.19), Control (2.2.1.15.1: Cooperate
 * and Request Control from the client, 2.2.1.15 / 2.2.1.16; Cooperate and Granted Control from
 * the server, 2.2.1.20 / 2.2.1.21), Font List (2.2.1.18.1), Font Map (2.2.1.22.1), Set Error
 * Info (2.2.5.1.1), Save Session Info (2.2.10.1.1, infoData kept raw), Shutdown Request /
 * Denied (2.2.2.2.1, 2.2.2.3.1, no body) and Monitor Layout (2.2.12.1). Other pduType2 values
 * stay raw. Integers are little-endian.
 */

/** pduType2 (MS-RDPBCGR 2.2.8.1.1.1.2). */
export const PDUTYPE2_UPDATE = 0x02;
export const PDUTYPE2_CONTROL = 0x14;
export const PDUTYPE2_POINTER = 0x1b;
export const PDUTYPE2_INPUT = 0x1c;
export const PDUTYPE2_SYNCHRONIZE = 0x1f;
export const PDUTYPE2_REFRESH_RECT = 0x21;
export const PDUTYPE2_PLAY_SOUND = 0x22;
export const PDUTYPE2_SUPPRESS_OUTPUT = 0x23;
export const PDUTYPE2_SHUTDOWN_REQUEST = 0x24;
export const PDUTYPE2_SHUTDOWN_DENIED = 0x25;
export const PDUTYPE2_SAVE_SESSION_INFO = 0x26;
export const PDUTYPE2_FONTLIST = 0x27;
export const PDUTYPE2_FONTMAP = 0x28;
export const PDUTYPE2_SET_KEYBOARD_INDICATORS = 0x29;
export const PDUTYPE2_BITMAPCACHE_PERSISTENT_LIST = 0x2b;
export const PDUTYPE2_BITMAPCACHE_ERROR_PDU = 0x2c;
export const PDUTYPE2_SET_KEYBOARD_IME_STATUS = 0x2d;
export const PDUTYPE2_OFFSCRCACHE_ERROR_PDU = 0x2e;
export const PDUTYPE2_SET_ERROR_INFO_PDU = 0x2f;
export const PDUTYPE2_DRAWNINEGRID_ERROR_PDU = 0x30;
export const PDUTYPE2_DRAWGDIPLUS_ERROR_PDU = 0x31;
export const PDUTYPE2_ARC_STATUS_PDU = 0x32;
export const PDUTYPE2_STATUS_INFO_PDU = 0x36;
export const PDUTYPE2_MONITOR_LAYOUT_PDU = 0x37;

export const PDUTYPE2_NAMES: Readonly<Record<number, string>> = Object.freeze({
  [PDUTYPE2_UPDATE]: 'PDUTYPE2_UPDATE',
  [PDUTYPE2_CONTROL]: 'PDUTYPE2_CONTROL',
  [PDUTYPE2_POINTER]: 'PDUTYPE2_POINTER',
  [PDUTYPE2_INPUT]: 'PDUTYPE2_INPUT',
  [PDUTYPE2_SYNCHRONIZE]: 'PDUTYPE2_SYNCHRONIZE',
  [PDUTYPE2_REFRESH_RECT]: 'PDUTYPE2_REFRESH_RECT',
  [PDUTYPE2_PLAY_SOUND]: 'PDUTYPE2_PLAY_SOUND',
  [PDUTYPE2_SUPPRESS_OUTPUT]: 'PDUTYPE2_SUPPRESS_OUTPUT',
  [PDUTYPE2_SHUTDOWN_REQUEST]: 'PDUTYPE2_SHUTDOWN_REQUEST',
  [PDUTYPE2_SHUTDOWN_DENIED]: 'PDUTYPE2_SHUTDOWN_DENIED',
  [PDUTYPE2_SAVE_SESSION_INFO]: 'PDUTYPE2_SAVE_SESSION_INFO',
  [PDUTYPE2_FONTLIST]: 'PDUTYPE2_FONTLIST',
  [PDUTYPE2_FONTMAP]: 'PDUTYPE2_FONTMAP',
  [PDUTYPE2_SET_KEYBOARD_INDICATORS]: 'PDUTYPE2_SET_KEYBOARD_INDICATORS',
  [PDUTYPE2_BITMAPCACHE_PERSISTENT_LIST]: 'PDUTYPE2_BITMAPCACHE_PERSISTENT_LIST',
  [PDUTYPE2_BITMAPCACHE_ERROR_PDU]: 'PDUTYPE2_BITMAPCACHE_ERROR_PDU',
  [PDUTYPE2_SET_KEYBOARD_IME_STATUS]: 'PDUTYPE2_SET_KEYBOARD_IME_STATUS',
  [PDUTYPE2_OFFSCRCACHE_ERROR_PDU]: 'PDUTYPE2_OFFSCRCACHE_ERROR_PDU',
  [PDUTYPE2_SET_ERROR_INFO_PDU]: 'PDUTYPE2_SET_ERROR_INFO_PDU',
  [PDUTYPE2_DRAWNINEGRID_ERROR_PDU]: 'PDUTYPE2_DRAWNINEGRID_ERROR_PDU',
  [PDUTYPE2_DRAWGDIPLUS_ERROR_PDU]: 'PDUTYPE2_DRAWGDIPLUS_ERROR_PDU',
  [PDUTYPE2_ARC_STATUS_PDU]: 'PDUTYPE2_ARC_STATUS_PDU',
  [PDUTYPE2_STATUS_INFO_PDU]: 'PDUTYPE2_STATUS_INFO_PDU',
  [PDUTYPE2_MONITOR_LAYOUT_PDU]: 'PDUTYPE2_MONITOR_LAYOUT_PDU',
});

export function pduType2Name(t: number): string {
  return PDUTYPE2_NAMES[t] ?? `unknown (0x${t.toString(16)})`;
}

/** Synchronize messageType (2.2.1.14.1). */
export const SYNCMSGTYPE_SYNC = 0x0001;
/** Control action (2.2.1.15.1). */
export const CTRLACTION_REQUEST_CONTROL = 0x0001;
export const CTRLACTION_GRANTED_CONTROL = 0x0002;
export const CTRLACTION_DETACH = 0x0003;
export const CTRLACTION_COOPERATE = 0x0004;
export const CTRLACTION_NAMES: Readonly<Record<number, string>> = Object.freeze({
  [CTRLACTION_REQUEST_CONTROL]: 'CTRLACTION_REQUEST_CONTROL',
  [CTRLACTION_GRANTED_CONTROL]: 'CTRLACTION_GRANTED_CONTROL',
  [CTRLACTION_DETACH]: 'CTRLACTION_DETACH',
  [CTRLACTION_COOPERATE]: 'CTRLACTION_COOPERATE',
});
/** Font List listFlags / Font Map mapFlags (2.2.1.18.1, 2.2.1.22.1). */
export const FONTLIST_FIRST = 0x0001;
export const FONTLIST_LAST = 0x0002;
export const FONTMAP_FIRST = 0x0001;
export const FONTMAP_LAST = 0x0002;
/** Save Session Info infoType (2.2.10.1.1). */
export const INFOTYPE_LOGON = 0x00000000;
export const INFOTYPE_LOGON_LONG = 0x00000001;
export const INFOTYPE_LOGON_PLAINNOTIFY = 0x00000002;
export const INFOTYPE_LOGON_EXTENDED_INFO = 0x00000003;
/** TS_MONITOR_DEF.flags (2.2.12.1 via 2.2.1.3.6.1). */
export const TS_MONITOR_PRIMARY = 0x00000001;

/** TS_SYNCHRONIZE_PDU body: messageType (SYNCMSGTYPE_SYNC), targetUser (the peer's MCS user id). */
export interface Synchronize {
  messageType: number;
  targetUser: number;
}
/** TS_CONTROL_PDU body. */
export interface Control {
  action: number;
  grantId: number;
  controlId: number;
}
/** TS_FONT_LIST_PDU body: clients send 0, 0, FONTLIST_FIRST | FONTLIST_LAST, 0x0032. */
export interface FontList {
  numberFonts: number;
  totalNumFonts: number;
  listFlags: number;
  entrySize: number;
}
/** TS_FONT_MAP_PDU body: servers send 0, 0, FONTMAP_FIRST | FONTMAP_LAST, 0x0004. */
export interface FontMap {
  numberEntries: number;
  totalNumEntries: number;
  mapFlags: number;
  entrySize: number;
}
/** TS_SET_ERROR_INFO_PDU body: errorInfo (error-info.ts names it). */
export interface SetErrorInfo {
  errorInfo: number;
}
/** TS_SAVE_SESSION_INFO_PDU_DATA: infoType (INFOTYPE_*) and the raw infoData. */
export interface SaveSessionInfo {
  infoType: number;
  infoData: Uint8Array;
}
/** TS_MONITOR_DEF (MS-RDPBCGR 2.2.1.3.6.1): signed desktop coordinates, inclusive. */
export interface MonitorDef {
  left: number;
  top: number;
  right: number;
  bottom: number;
  flags: number;
}
/** TS_MONITOR_LAYOUT_PDU body: monitorCount then monitorCount TS_MONITOR_DEF. */
export interface MonitorLayout {
  monitors: MonitorDef[];
}

/** A Data PDU body by pduType2; unknown types (and compressed bodies, see share.ts) raw. */
export type DataPduBody =
  | { kind: 'synchronize'; value: Synchronize }
  | { kind: 'control'; value: Control }
  | { kind: 'fontList'; value: FontList }
  | { kind: 'fontMap'; value: FontMap }
  | { kind: 'setErrorInfo'; value: SetErrorInfo }
  | { kind: 'saveSessionInfo'; value: SaveSessionInfo }
  | { kind: 'shutdownRequest' }
  | { kind: 'shutdownDenied' }
  | { kind: 'monitorLayout'; value: MonitorLayout }
  | { kind: 'raw'; pduType2: number; data: Uint8Array };

type FixedKind = 'synchronize' | 'control' | 'fontList' | 'fontMap' | 'setErrorInfo';
/** The bodies made of fixed u16/u32 fields, as tables. */
const FIXED: Record<FixedKind, { pduType2: number; pdu: string; fields: readonly (readonly [string, 2 | 4])[] }> = {
  synchronize: { pduType2: PDUTYPE2_SYNCHRONIZE, pdu: 'TS_SYNCHRONIZE_PDU', fields: [['messageType', 2], ['targetUser', 2]] },
  control: { pduType2: PDUTYPE2_CONTROL, pdu: 'TS_CONTROL_PDU', fields: [['action', 2], ['grantId', 2], ['controlId', 4]] },
  fontList: { pduType2: PDUTYPE2_FONTLIST, pdu: 'TS_FONT_LIST_PDU', fields: [['numberFonts', 2], ['totalNumFonts', 2], ['listFlags', 2], ['entrySize', 2]] },
  fontMap: { pduType2: PDUTYPE2_FONTMAP, pdu: 'TS_FONT_MAP_PDU', fields: [['numberEntries', 2], ['totalNumEntries', 2], ['mapFlags', 2], ['entrySize', 2]] },
  setErrorInfo: { pduType2: PDUTYPE2_SET_ERROR_INFO_PDU, pdu: 'TS_SET_ERROR_INFO_PDU', fields: [['errorInfo', 4]] },
};

const MONITOR = 'TS_MONITOR_LAYOUT_PDU';
const SAVE = 'TS_SAVE_SESSION_INFO_PDU_DATA';
const MONITOR_DEF_SIZE = 20;
/** The pduType2 of a body kind. */
export function dataPduType2(body: DataPduBody): number {
  switch (body.kind) {
    case 'raw':
      return body.pduType2;
    case 'saveSessionInfo':
      return PDUTYPE2_SAVE_SESSION_INFO;
    case 'shutdownRequest':
      return PDUTYPE2_SHUTDOWN_REQUEST;
    case 'shutdownDenied':
      return PDUTYPE2_SHUTDOWN_DENIED;
    case 'monitorLayout':
      return PDUTYPE2_MONITOR_LAYOUT_PDU;
    default:
      return FIXED[body.kind].pduType2;
  }
}

/** Decode the body of a Data PDU of type pduType2; the cursor holds exactly the body. */
export function decodeDataPduBody(pduType2: number, r: ReadCursor): DataPduBody {
  for (const [kind, t] of Object.entries(FIXED) as [FixedKind, (typeof FIXED)[FixedKind]][]) {
    if (t.pduType2 !== pduType2) continue;
    const value: Record<string, number> = {};
    for (const [name, size] of t.fields) value[name] = size === 2 ? r.u16le(t.pdu, name) : r.u32le(t.pdu, name);
    r.expectEnd(t.pdu);
    return { kind, value } as unknown as DataPduBody;
  }
  switch (pduType2) {
    case PDUTYPE2_SAVE_SESSION_INFO:
      return { kind: 'saveSessionInfo', value: { infoType: r.u32le(SAVE, 'infoType'), infoData: r.rest() } };
    case PDUTYPE2_SHUTDOWN_REQUEST:
      r.expectEnd('TS_SHUTDOWN_REQ_PDU');
      return { kind: 'shutdownRequest' };
    case PDUTYPE2_SHUTDOWN_DENIED:
      r.expectEnd('TS_SHUTDOWN_DENIED_PDU');
      return { kind: 'shutdownDenied' };
    case PDUTYPE2_MONITOR_LAYOUT_PDU: {
      const at = r.at;
      const count = r.u32le(MONITOR, 'monitorCount');
      if (count * MONITOR_DEF_SIZE !== r.remaining) {
        throw new DecodeError('InvalidField', MONITOR, 'monitorCount', at, `${count} monitors do not match the ${r.remaining} bytes that follow`);
      }
      const monitors: MonitorDef[] = [];
      for (let i = 0; i < count; i++) {
        monitors.push({
          left: r.u32le(MONITOR, 'left') | 0,
          top: r.u32le(MONITOR, 'top') | 0,
          right: r.u32le(MONITOR, 'right') | 0,
          bottom: r.u32le(MONITOR, 'bottom') | 0,
          flags: r.u32le(MONITOR, 'flags'),
        });
      }
      return { kind: 'monitorLayout', value: { monitors } };
    }
    default:
      return { kind: 'raw', pduType2, data: r.rest() };
  }
}

export function encodeDataPduBody(body: DataPduBody, w: WriteCursor): void {
  switch (body.kind) {
    case 'raw':
      w.bytes(body.data);
      return;
    case 'saveSessionInfo':
      w.u32le(body.value.infoType).bytes(body.value.infoData);
      return;
    case 'shutdownRequest':
    case 'shutdownDenied':
      return;
    case 'monitorLayout':
      w.u32le(body.value.monitors.length); // monitorCount
      for (const m of body.value.monitors) w.u32le(m.left).u32le(m.top).u32le(m.right).u32le(m.bottom).u32le(m.flags);
      return;
    default: {
      const t = FIXED[body.kind];
      const value = body.value as unknown as Record<string, number>;
      for (const [name, size] of t.fields) {
        const v = value[name];
        if (v === undefined || !Number.isInteger(v) || v < 0 || v >= 2 ** (8 * size)) throw new EncodeError(t.pdu, name, `${String(v)} is not a ${size}-byte unsigned integer`);
        if (size === 2) w.u16le(v);
        else w.u32le(v);
      }
    }
  }
}
