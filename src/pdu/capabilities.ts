import { ReadCursor, WriteCursor } from './cursor.js';
import { DecodeError, EncodeError } from './errors.js';

/**
 * Capability sets of the Demand Active and Confirm Active PDUs (MS-RDPBCGR 2.2.1.13.1.1.1
 * TS_CAPS_SET header: capabilitySetType u16le, lengthCapability u16le counting the header;
 * the sets of 2.2.7). Each known set is a fixed table of little-endian fields in spec order,
 * decoded by one generic codec; trailing fields the spec marks optional (Pointer
 * pointerCacheSize, Virtual Channel VCChunkSize, Font fontSupportFlags) are read when present.
 * Padding fields are kept as values so a peer's bytes re-encode exactly. Unknown types (and
 * Bitmap Codecs, DrawGdiPlus, whose bodies are variable or large) stay raw with their names.
 */

const CAPS = 'TS_CAPS_SET';

/** capabilitySetType names (MS-RDPBCGR 2.2.1.13.1.1.1), the spec's spellings. */
export const CAPSTYPE_NAMES: Readonly<Record<number, string>> = Object.freeze({
  1: 'CAPSTYPE_GENERAL',
  2: 'CAPSTYPE_BITMAP',
  3: 'CAPSTYPE_ORDER',
  4: 'CAPSTYPE_BITMAPCACHE',
  5: 'CAPSTYPE_CONTROL',
  7: 'CAPSTYPE_ACTIVATION',
  8: 'CAPSTYPE_POINTER',
  9: 'CAPSTYPE_SHARE',
  10: 'CAPSTYPE_COLORCACHE',
  12: 'CAPSTYPE_SOUND',
  13: 'CAPSTYPE_INPUT',
  14: 'CAPSTYPE_FONT',
  15: 'CAPSTYPE_BRUSH',
  16: 'CAPSTYPE_GLYPHCACHE',
  17: 'CAPSTYPE_OFFSCREENCACHE',
  18: 'CAPSTYPE_BITMAPCACHE_HOSTSUPPORT',
  19: 'CAPSTYPE_BITMAPCACHE_REV2',
  20: 'CAPSTYPE_VIRTUALCHANNEL',
  21: 'CAPSTYPE_DRAWNINEGRIDCACHE',
  22: 'CAPSTYPE_DRAWGDIPLUS',
  23: 'CAPSTYPE_RAIL',
  24: 'CAPSTYPE_WINDOW',
  25: 'CAPSETTYPE_COMPDESK',
  26: 'CAPSETTYPE_MULTIFRAGMENTUPDATE',
  27: 'CAPSETTYPE_LARGE_POINTER',
  28: 'CAPSETTYPE_SURFACE_COMMANDS',
  29: 'CAPSETTYPE_BITMAP_CODECS',
  30: 'CAPSSETTYPE_FRAME_ACKNOWLEDGE',
});

export function capabilitySetName(type: number): string {
  return CAPSTYPE_NAMES[type] ?? `unknown (${type})`;
}

/** General capability (2.2.7.1.1): osMajorType, protocolVersion, extraFlags. */
export const OSMAJORTYPE_WINDOWS = 0x0001;
export const OSMAJORTYPE_UNIX = 0x0004;
export const TS_CAPS_PROTOCOLVERSION = 0x0200;
export const FASTPATH_OUTPUT_SUPPORTED = 0x0001;
export const LONG_CREDENTIALS_SUPPORTED = 0x0004;
export const AUTORECONNECT_SUPPORTED = 0x0008;
export const ENC_SALTED_CHECKSUM = 0x0010;
export const NO_BITMAP_COMPRESSION_HDR = 0x0400;
/** Input capability inputFlags (2.2.7.1.6). */
export const INPUT_FLAG_SCANCODES = 0x0001;
export const INPUT_FLAG_MOUSEX = 0x0004;
export const INPUT_FLAG_FASTPATH_INPUT = 0x0008;
export const INPUT_FLAG_UNICODE = 0x0010;
export const INPUT_FLAG_FASTPATH_INPUT2 = 0x0020;
/** Virtual Channel capability flags (2.2.7.1.10). */
export const VCCAPS_NO_COMPR = 0x00000000;
export const VCCAPS_COMPR_SC = 0x00000001;
export const VCCAPS_COMPR_CS_8K = 0x00000002;

/** TS_CACHE_DEFINITION (2.2.7.1.8.1), ten of which make GlyphCache. */
export interface CacheDefinition {
  cacheEntries: number;
  cacheMaximumCellSize: number;
}

type Kind = 1 | 2 | 4 | { readonly bytes: number } | { readonly cacheDefinitions: number };
type FieldSpec = readonly [string, Kind];
interface SetSpec {
  readonly type: number;
  readonly fields: readonly FieldSpec[];
  /** trailing fields that may be absent, read in order while bytes remain */
  readonly optional?: readonly FieldSpec[];
}
type KindValue<K> = K extends 1 | 2 | 4 ? number : K extends { bytes: number } ? Uint8Array : K extends { cacheDefinitions: number } ? CacheDefinition[] : never;
type Fields<F extends readonly FieldSpec[]> = { -readonly [P in F[number] as P[0]]: KindValue<P[1]> };
type SetValue<S extends SetSpec> = Fields<S['fields']> & (S extends { optional: infer O extends readonly FieldSpec[] } ? Partial<Fields<O>> : unknown);

const u = <const T extends readonly FieldSpec[]>(...f: T): T => f;

/** The decoded sets, in MS-RDPBCGR 2.2.7 order: name -> layout. */
const SPECS = {
  general: { type: 1, fields: u(['osMajorType', 2], ['osMinorType', 2], ['protocolVersion', 2], ['pad2octetsA', 2], ['generalCompressionTypes', 2], ['extraFlags', 2], ['updateCapabilityFlag', 2], ['remoteUnshareFlag', 2], ['generalCompressionLevel', 2], ['refreshRectSupport', 1], ['suppressOutputSupport', 1]) },
  bitmap: { type: 2, fields: u(['preferredBitsPerPixel', 2], ['receive1BitPerPixel', 2], ['receive4BitsPerPixel', 2], ['receive8BitsPerPixel', 2], ['desktopWidth', 2], ['desktopHeight', 2], ['pad2octets', 2], ['desktopResizeFlag', 2], ['bitmapCompressionFlag', 2], ['highColorFlags', 1], ['drawingFlags', 1], ['multipleRectangleSupport', 2], ['pad2octetsB', 2]) },
  order: { type: 3, fields: u(['terminalDescriptor', { bytes: 16 }], ['pad4octetsA', 4], ['desktopSaveXGranularity', 2], ['desktopSaveYGranularity', 2], ['pad2octetsA', 2], ['maximumOrderLevel', 2], ['numberFonts', 2], ['orderFlags', 2], ['orderSupport', { bytes: 32 }], ['textFlags', 2], ['orderSupportExFlags', 2], ['pad4octetsB', 4], ['desktopSaveSize', 4], ['pad2octetsC', 2], ['pad2octetsD', 2], ['textANSICodePage', 2], ['pad2octetsE', 2]) },
  bitmapCache: { type: 4, fields: u(['pad1', 4], ['pad2', 4], ['pad3', 4], ['pad4', 4], ['pad5', 4], ['pad6', 4], ['cache0Entries', 2], ['cache0MaximumCellSize', 2], ['cache1Entries', 2], ['cache1MaximumCellSize', 2], ['cache2Entries', 2], ['cache2MaximumCellSize', 2]) },
  control: { type: 5, fields: u(['controlFlags', 2], ['remoteDetachFlag', 2], ['controlInterest', 2], ['detachInterest', 2]) },
  activation: { type: 7, fields: u(['helpKeyFlag', 2], ['helpKeyIndexFlag', 2], ['helpExtendedKeyFlag', 2], ['windowManagerKeyFlag', 2]) },
  pointer: { type: 8, fields: u(['colorPointerFlag', 2], ['colorPointerCacheSize', 2]), optional: u(['pointerCacheSize', 2]) },
  share: { type: 9, fields: u(['nodeId', 2], ['pad2octets', 2]) },
  colorCache: { type: 10, fields: u(['colorTableCacheSize', 2], ['pad2octets', 2]) },
  sound: { type: 12, fields: u(['soundFlags', 2], ['pad2octetsA', 2]) },
  input: { type: 13, fields: u(['inputFlags', 2], ['pad2octetsA', 2], ['keyboardLayout', 4], ['keyboardType', 4], ['keyboardSubType', 4], ['keyboardFunctionKey', 4], ['imeFileName', { bytes: 64 }]) },
  font: { type: 14, fields: u(), optional: u(['fontSupportFlags', 2], ['pad2octets', 2]) },
  brush: { type: 15, fields: u(['brushSupportLevel', 4]) },
  glyphCache: { type: 16, fields: u(['glyphCache', { cacheDefinitions: 10 }], ['fragCache', 4], ['glyphSupportLevel', 2], ['pad2octets', 2]) },
  offscreenBitmapCache: { type: 17, fields: u(['offscreenSupportLevel', 4], ['offscreenCacheSize', 2], ['offscreenCacheEntries', 2]) },
  bitmapCacheHostSupport: { type: 18, fields: u(['cacheVersion', 1], ['pad1', 1], ['pad2', 2]) },
  bitmapCacheRev2: { type: 19, fields: u(['cacheFlags', 2], ['pad2', 1], ['numCellCaches', 1], ['bitmapCache0CellInfo', 4], ['bitmapCache1CellInfo', 4], ['bitmapCache2CellInfo', 4], ['bitmapCache3CellInfo', 4], ['bitmapCache4CellInfo', 4], ['pad3', { bytes: 12 }]) },
  virtualChannel: { type: 20, fields: u(['flags', 4]), optional: u(['VCChunkSize', 4]) },
  drawNineGridCache: { type: 21, fields: u(['drawNineGridSupportLevel', 4], ['drawNineGridCacheSize', 2], ['drawNineGridCacheEntries', 2]) },
  rail: { type: 23, fields: u(['railSupportLevel', 4]) },
  windowList: { type: 24, fields: u(['wndSupportLevel', 4], ['numIconCaches', 1], ['numIconCacheEntries', 2]) },
  desktopComposition: { type: 25, fields: u(['compDeskSupportLevel', 2]) },
  multifragmentUpdate: { type: 26, fields: u(['maxRequestSize', 4]) },
  largePointer: { type: 27, fields: u(['largePointerSupportFlags', 2]) },
  surfaceCommands: { type: 28, fields: u(['cmdFlags', 4], ['reserved', 4]) },
  frameAcknowledge: { type: 30, fields: u(['maxUnacknowledgedFrameCount', 4]) },
} as const satisfies Record<string, SetSpec>;

export type CapabilitySetKind = keyof typeof SPECS;
export type CapabilityValue<K extends CapabilitySetKind> = SetValue<(typeof SPECS)[K]>;
export type GeneralCapabilitySet = CapabilityValue<'general'>;
export type BitmapCapabilitySet = CapabilityValue<'bitmap'>;
export type OrderCapabilitySet = CapabilityValue<'order'>;
export type PointerCapabilitySet = CapabilityValue<'pointer'>;
export type InputCapabilitySet = CapabilityValue<'input'>;
export type VirtualChannelCapabilitySet = CapabilityValue<'virtualChannel'>;

/** A raw (undecoded) set: its type, the type's name, and the body after the 4-byte header. */
export interface RawCapabilitySet {
  kind: 'raw';
  type: number;
  name: string;
  data: Uint8Array;
}
/** One capability set: decoded when its type is in the table, raw otherwise. */
export type CapabilitySet = { [K in CapabilitySetKind]: { kind: K; value: CapabilityValue<K> } }[CapabilitySetKind] | RawCapabilitySet;

const KIND_BY_TYPE = new Map<number, CapabilitySetKind>(Object.entries(SPECS).map(([k, s]) => [s.type, k as CapabilitySetKind]));

/** The capabilitySetType of a decoded kind. */
export function capabilitySetType(kind: CapabilitySetKind): number {
  return SPECS[kind].type;
}

function kindSize(k: Kind): number {
  return typeof k === 'number' ? k : 'bytes' in k ? k.bytes : k.cacheDefinitions * 4;
}

function readField(r: ReadCursor, k: Kind, pdu: string, name: string): number | Uint8Array | CacheDefinition[] {
  if (k === 1) return r.u8(pdu, name);
  if (k === 2) return r.u16le(pdu, name);
  if (k === 4) return r.u32le(pdu, name);
  if ('bytes' in k) return r.bytes(k.bytes, pdu, name);
  r.ensure(k.cacheDefinitions * 4, pdu, name);
  const defs: CacheDefinition[] = [];
  for (let i = 0; i < k.cacheDefinitions; i++) defs.push({ cacheEntries: r.u16le(pdu, name), cacheMaximumCellSize: r.u16le(pdu, name) });
  return defs;
}

function writeField(w: WriteCursor, k: Kind, v: unknown, pdu: string, name: string): void {
  if (typeof k === 'number') {
    if (typeof v !== 'number' || !Number.isInteger(v) || v < 0 || v >= 2 ** (8 * k)) throw new EncodeError(pdu, name, `${String(v)} is not a ${k}-byte unsigned integer`);
    if (k === 1) w.u8(v);
    else if (k === 2) w.u16le(v);
    else w.u32le(v);
  } else if ('bytes' in k) {
    if (!(v instanceof Uint8Array) || v.length !== k.bytes) throw new EncodeError(pdu, name, `must be ${k.bytes} bytes`);
    w.bytes(v);
  } else {
    const defs = v as CacheDefinition[];
    if (!Array.isArray(defs) || defs.length !== k.cacheDefinitions) throw new EncodeError(pdu, name, `must hold ${k.cacheDefinitions} TS_CACHE_DEFINITION`);
    for (const d of defs) w.u16le(d.cacheEntries).u16le(d.cacheMaximumCellSize);
  }
}

/** Decode a set body (after the header) by its table; the body must match the layout exactly. */
function decodeBody(spec: SetSpec, r: ReadCursor, pdu: string): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [name, k] of spec.fields) out[name] = readField(r, k, pdu, name);
  for (const [name, k] of spec.optional ?? []) {
    if (r.isEmpty()) break;
    if (r.remaining < kindSize(k)) throw new DecodeError('InvalidField', pdu, name, r.at, `set ends ${r.remaining} bytes into this ${kindSize(k)}-byte field`);
    out[name] = readField(r, k, pdu, name);
  }
  r.expectEnd(pdu);
  return out;
}

function encodeBody(spec: SetSpec, v: Record<string, unknown>, w: WriteCursor, pdu: string): void {
  for (const [name, k] of spec.fields) writeField(w, k, v[name], pdu, name);
  let gap = false;
  for (const [name, k] of spec.optional ?? []) {
    if (v[name] === undefined) gap = true;
    else if (gap) throw new EncodeError(pdu, name, 'set while an optional field before it is not');
    else writeField(w, k, v[name], pdu, name);
  }
}

/** TS_CAPS_SET header size: capabilitySetType, lengthCapability. */
export const CAPS_HEADER_SIZE = 4;

/** Read one capability set (header and body) from the cursor. */
export function decodeCapabilitySet(r: ReadCursor): CapabilitySet {
  const at = r.at;
  const type = r.u16le(CAPS, 'capabilitySetType');
  const length = r.u16le(CAPS, 'lengthCapability');
  if (length < CAPS_HEADER_SIZE || length - CAPS_HEADER_SIZE > r.remaining) {
    throw new DecodeError('InvalidField', CAPS, 'lengthCapability', at + 2, `${capabilitySetName(type)} length ${length} is below 4 or runs past the ${r.remaining + CAPS_HEADER_SIZE} bytes left`);
  }
  const body = r.sub(length - CAPS_HEADER_SIZE, CAPS, 'capabilityData');
  const kind = KIND_BY_TYPE.get(type);
  if (kind === undefined) return { kind: 'raw', type, name: capabilitySetName(type), data: body.rest() };
  return { kind, value: decodeBody(SPECS[kind], body, capabilitySetName(type)) } as CapabilitySet;
}

export function encodeCapabilitySet(s: CapabilitySet, w: WriteCursor): void {
  const start = w.offset;
  if (s.kind === 'raw') {
    w.u16le(s.type);
    w.reserve(2);
    w.bytes(s.data);
  } else {
    const spec = SPECS[s.kind];
    w.u16le(spec.type); // capabilitySetType
    w.reserve(2); // lengthCapability, patched below
    encodeBody(spec, s.value as Record<string, unknown>, w, capabilitySetName(spec.type));
  }
  w.patchU16le(start + 2, w.offset - start, CAPS, 'lengthCapability');
}

/** Read `count` sets (numberCapabilities) from the cursor, in order. */
export function decodeCapabilitySets(r: ReadCursor, count: number): CapabilitySet[] {
  // each set takes at least its 4-byte header: bound the count before looping
  if (count * CAPS_HEADER_SIZE > r.remaining) {
    throw new DecodeError('InvalidField', CAPS, 'numberCapabilities', r.at, `${count} sets cannot fit the ${r.remaining} bytes left`);
  }
  const sets: CapabilitySet[] = [];
  for (let i = 0; i < count; i++) sets.push(decodeCapabilitySet(r));
  return sets;
}

export function encodeCapabilitySets(sets: readonly CapabilitySet[], w: WriteCursor): void {
  for (const s of sets) encodeCapabilitySet(s, w);
}

/** The first set of a kind, if any. */
export function findCapabilitySet<K extends CapabilitySetKind>(sets: readonly CapabilitySet[], kind: K): CapabilityValue<K> | undefined {
  const s = sets.find((x) => x.kind === kind) as { value: CapabilityValue<K> } | undefined;
  return s?.value;
}

/** The spec names of the sets, in order (for reports). */
export function capabilitySetNames(sets: readonly CapabilitySet[]): string[] {
  return sets.map((s) => capabilitySetName(s.kind === 'raw' ? s.type : SPECS[s.kind].type));
}

/**
 * TS_BITMAP_CAPABILITYSET (2.2.7.1.2) as both of our ends send it: 16 bpp preferred, every
 * depth receivable, bitmap compression and multiple rectangles supported.
 */
export function plainBitmapCapability(o: { desktopWidth: number; desktopHeight: number; desktopResize: boolean }): CapabilitySet {
  return {
    kind: 'bitmap',
    value: {
      preferredBitsPerPixel: 16,
      receive1BitPerPixel: 1,
      receive4BitsPerPixel: 1,
      receive8BitsPerPixel: 1,
      desktopWidth: o.desktopWidth,
      desktopHeight: o.desktopHeight,
      pad2octets: 0,
      desktopResizeFlag: o.desktopResize ? 1 : 0,
      bitmapCompressionFlag: 1,
      highColorFlags: 0,
      drawingFlags: 0,
      multipleRectangleSupport: 1,
      pad2octetsB: 0,
    },
  };
}

/**
 * TS_ORDER_CAPABILITYSET (2.2.7.1.3) supporting no drawing order at all (every orderSupport
 * byte 0), with NEGOTIATEORDERSUPPORT | ZEROBOUNDSDELTASSUPPORT as the spec requires.
 */
export function noOrdersCapability(): CapabilitySet {
  return {
    kind: 'order',
    value: {
      terminalDescriptor: new Uint8Array(16),
      pad4octetsA: 0,
      desktopSaveXGranularity: 1,
      desktopSaveYGranularity: 20,
      pad2octetsA: 0,
      maximumOrderLevel: 1, // ORD_LEVEL_1_ORDERS
      numberFonts: 0,
      orderFlags: 0x0002 | 0x0008, // NEGOTIATEORDERSUPPORT | ZEROBOUNDSDELTASSUPPORT
      orderSupport: new Uint8Array(32),
      textFlags: 0,
      orderSupportExFlags: 0,
      pad4octetsB: 0,
      desktopSaveSize: 0,
      pad2octetsC: 0,
      pad2octetsD: 0,
      textANSICodePage: 0,
      pad2octetsE: 0,
    },
  };
}
