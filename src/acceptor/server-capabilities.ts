import { noOrdersCapability, plainBitmapCapability, type CapabilitySet } from '../pdu/capabilities.js';

/**
 * The capability sets of our Demand Active PDU (MS-RDPBCGR 2.2.1.13.1, 2.2.7): what a server
 * that will send nothing but a few plain PDUs needs to announce for clients to go on.
 */
const zeros = (n: number) => new Uint8Array(n);

/** TS_GENERAL_CAPABILITYSET extraFlags: FASTPATH_OUTPUT_SUPPORTED | LONG_CREDENTIALS_SUPPORTED | NO_BITMAP_COMPRESSION_HDR | ENC_SALTED_CHECKSUM. */
const EXTRA_FLAGS = 0x0001 | 0x0004 | 0x0400 | 0x0010;

export function serverCapabilitySets(o: { desktopWidth: number; desktopHeight: number }): CapabilitySet[] {
  return [
    {
      kind: 'general',
      value: {
        osMajorType: 1, // OSMAJORTYPE_WINDOWS
        osMinorType: 3, // OSMINORTYPE_WINDOWS_NT
        protocolVersion: 0x0200,
        pad2octetsA: 0,
        generalCompressionTypes: 0,
        extraFlags: EXTRA_FLAGS,
        updateCapabilityFlag: 0,
        remoteUnshareFlag: 0,
        generalCompressionLevel: 0,
        refreshRectSupport: 1,
        suppressOutputSupport: 1,
      },
    },
    plainBitmapCapability({ desktopWidth: o.desktopWidth, desktopHeight: o.desktopHeight, desktopResize: true }),
    noOrdersCapability(),
    { kind: 'pointer', value: { colorPointerFlag: 1, colorPointerCacheSize: 25, pointerCacheSize: 25 } },
    {
      kind: 'input',
      // INPUT_FLAG_SCANCODES | INPUT_FLAG_MOUSEX | INPUT_FLAG_UNICODE | INPUT_FLAG_FASTPATH_INPUT2
      value: { inputFlags: 0x0001 | 0x0004 | 0x0010 | 0x0020, pad2octetsA: 0, keyboardLayout: 0, keyboardType: 0, keyboardSubType: 0, keyboardFunctionKey: 0, imeFileName: zeros(64) },
    },
    { kind: 'virtualChannel', value: { flags: 0, VCChunkSize: 1600 } },
    { kind: 'share', value: { nodeId: 1002, pad2octets: 0 } },
    { kind: 'font', value: { fontSupportFlags: 1, pad2octets: 0 } },
    { kind: 'multifragmentUpdate', value: { maxRequestSize: 0x10000 } },
  ];
}
