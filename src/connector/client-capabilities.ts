import { noOrdersCapability, plainBitmapCapability, type CapabilitySet } from '../pdu/capabilities.js';

/**
 * The capability sets of our Confirm Active PDU (MS-RDPBCGR 2.2.1.13.2, 2.2.7): a minimal,
 * honest client that asks for no drawing orders, no bitmap or glyph caches and no compression,
 * so that a server has nothing to send but plain bitmaps; enough for Windows, xrdp and FreeRDP
 * to finish the activation.
 */
const zeros = (n: number) => new Uint8Array(n);

/** TS_GENERAL_CAPABILITYSET extraFlags (2.2.7.1.1). */
const FASTPATH_OUTPUT_SUPPORTED = 0x0001;
const LONG_CREDENTIALS_SUPPORTED = 0x0004;
const ENC_SALTED_CHECKSUM = 0x0010;
const NO_BITMAP_COMPRESSION_HDR = 0x0400;
/** TS_INPUT_CAPABILITYSET: INPUT_FLAG_SCANCODES | INPUT_FLAG_MOUSEX | INPUT_FLAG_UNICODE (2.2.7.1.6). */
const INPUT_FLAGS = 0x0001 | 0x0004 | 0x0010;
/** TS_CONTROL_CAPABILITYSET: CONTROLPRIORITY_NEVER (2.2.7.2.2). */
const CONTROLPRIORITY_NEVER = 0x0002;

export function clientCapabilitySets(o: { desktopWidth: number; desktopHeight: number; saltedMac: boolean }): CapabilitySet[] {
  return [
    {
      kind: 'general',
      value: {
        osMajorType: 1, // OSMAJORTYPE_WINDOWS
        osMinorType: 3, // OSMINORTYPE_WINDOWS_NT
        protocolVersion: 0x0200, // TS_CAPS_PROTOCOLVERSION
        pad2octetsA: 0,
        generalCompressionTypes: 0,
        extraFlags: FASTPATH_OUTPUT_SUPPORTED | LONG_CREDENTIALS_SUPPORTED | NO_BITMAP_COMPRESSION_HDR | (o.saltedMac ? ENC_SALTED_CHECKSUM : 0),
        updateCapabilityFlag: 0,
        remoteUnshareFlag: 0,
        generalCompressionLevel: 0,
        refreshRectSupport: 0,
        suppressOutputSupport: 0,
      },
    },
    plainBitmapCapability({ desktopWidth: o.desktopWidth, desktopHeight: o.desktopHeight, desktopResize: false }),
    noOrdersCapability(),
    {
      kind: 'bitmapCache',
      value: { pad1: 0, pad2: 0, pad3: 0, pad4: 0, pad5: 0, pad6: 0, cache0Entries: 0, cache0MaximumCellSize: 0, cache1Entries: 0, cache1MaximumCellSize: 0, cache2Entries: 0, cache2MaximumCellSize: 0 },
    },
    { kind: 'pointer', value: { colorPointerFlag: 1, colorPointerCacheSize: 20, pointerCacheSize: 21 } },
    {
      kind: 'input',
      value: { inputFlags: INPUT_FLAGS, pad2octetsA: 0, keyboardLayout: 0x409, keyboardType: 4, keyboardSubType: 0, keyboardFunctionKey: 12, imeFileName: zeros(64) },
    },
    { kind: 'brush', value: { brushSupportLevel: 0 } },
    {
      kind: 'glyphCache',
      value: { glyphCache: Array.from({ length: 10 }, () => ({ cacheEntries: 0, cacheMaximumCellSize: 0 })), fragCache: 0, glyphSupportLevel: 0, pad2octets: 0 },
    },
    { kind: 'offscreenBitmapCache', value: { offscreenSupportLevel: 0, offscreenCacheSize: 0, offscreenCacheEntries: 0 } },
    { kind: 'virtualChannel', value: { flags: 0, VCChunkSize: 1600 } },
    { kind: 'sound', value: { soundFlags: 0, pad2octetsA: 0 } },
    { kind: 'control', value: { controlFlags: 0, remoteDetachFlag: 0, controlInterest: CONTROLPRIORITY_NEVER, detachInterest: CONTROLPRIORITY_NEVER } },
    { kind: 'activation', value: { helpKeyFlag: 0, helpKeyIndexFlag: 0, helpExtendedKeyFlag: 0, windowManagerKeyFlag: 0 } },
    { kind: 'share', value: { nodeId: 0, pad2octets: 0 } },
    { kind: 'font', value: { fontSupportFlags: 1, pad2octets: 0 } }, // FONTSUPPORT_FONTLIST
    { kind: 'colorCache', value: { colorTableCacheSize: 6, pad2octets: 0 } },
  ];
}
