import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { ReadCursor } from '../../src/pdu/cursor.js';
import { EncodeError } from '../../src/pdu/errors.js';
import * as caps from '../../src/pdu/capabilities.js';
import type { ConfirmActive, DemandActive } from '../../src/pdu/share.js';
import { findStep, walkSession } from './fixtures-session.js';
import { enc, fuzzMutations, fuzzRandom, hex, throwsDecode } from './fuzz-helpers.js';

const b = (h: string): Buffer => Buffer.from(h.replace(/\s/g, ''), 'hex');

function demand(capture: string, layer: 'tcp' | 'tls' = 'tcp'): DemandActive {
  return (findStep(walkSession(capture, layer), 'PDUTYPE_DEMANDACTIVEPDU', 's2c').share![0] as { value: DemandActive }).value;
}
function confirm(capture: string, layer: 'tcp' | 'tls' = 'tcp'): ConfirmActive {
  return (findStep(walkSession(capture, layer), 'PDUTYPE_CONFIRMACTIVEPDU', 'c2s').share![0] as { value: ConfirmActive }).value;
}
const decodeOne = (x: Uint8Array): caps.CapabilitySet => {
  const r = new ReadCursor(x);
  const s = caps.decodeCapabilitySet(r);
  r.expectEnd('test');
  return s;
};

describe('capability sets servers send (real Demand Active)', () => {
  it('xrdp 0.9.21: 13 sets, among them a type 6 no spec names (kept raw) and Bitmap Codecs (raw)', () => {
    const d = demand('xrdp-rdp-none--xfreerdp-sec-rdp');
    assert.deepEqual(caps.capabilitySetNames(d.capabilitySets), [
      'CAPSTYPE_SHARE', 'CAPSTYPE_GENERAL', 'CAPSTYPE_BITMAP', 'CAPSTYPE_FONT', 'CAPSTYPE_ORDER', 'CAPSETTYPE_BITMAP_CODECS', 'CAPSTYPE_COLORCACHE',
      'CAPSTYPE_POINTER', 'CAPSTYPE_INPUT', 'unknown (6)', 'CAPSETTYPE_MULTIFRAGMENTUPDATE', 'CAPSSETTYPE_FRAME_ACKNOWLEDGE', 'CAPSETTYPE_SURFACE_COMMANDS',
    ]);
    const raw6 = d.capabilitySets.find((s) => s.kind === 'raw' && s.type === 6) as caps.RawCapabilitySet;
    assert.equal(hex(raw6.data), '00');
    const general = caps.findCapabilitySet(d.capabilitySets, 'general')!;
    assert.equal(general.osMajorType, caps.OSMAJORTYPE_WINDOWS);
    assert.equal(general.protocolVersion, caps.TS_CAPS_PROTOCOLVERSION);
    assert.equal(general.extraFlags, caps.FASTPATH_OUTPUT_SUPPORTED | caps.NO_BITMAP_COMPRESSION_HDR);
    const bitmap = caps.findCapabilitySet(d.capabilitySets, 'bitmap')!;
    assert.deepEqual([bitmap.desktopWidth, bitmap.desktopHeight, bitmap.preferredBitsPerPixel], [1024, 768, 32]);
    // xrdp leaves junk in padding and sends an empty Font set: both are kept as sent
    assert.deepEqual(caps.findCapabilitySet(d.capabilitySets, 'share'), { nodeId: 1008, pad2octets: 0xe2b5 });
    assert.deepEqual(caps.findCapabilitySet(d.capabilitySets, 'font'), {});
    assert.deepEqual(caps.findCapabilitySet(d.capabilitySets, 'pointer'), { colorPointerFlag: 1, colorPointerCacheSize: 25, pointerCacheSize: 25 });
    assert.equal(caps.findCapabilitySet(d.capabilitySets, 'multifragmentUpdate')!.maxRequestSize, 3162112);
    assert.equal(caps.findCapabilitySet(d.capabilitySets, 'virtualChannel'), undefined);
  });

  it('FreeRDP shadow 2.11.7: 14 sets with Virtual Channel, Large Pointer and Desktop Composition', () => {
    const d = demand('shadow-rdp--xfreerdp-sec-rdp');
    assert.deepEqual(caps.capabilitySetNames(d.capabilitySets), [
      'CAPSTYPE_GENERAL', 'CAPSTYPE_BITMAP', 'CAPSTYPE_ORDER', 'CAPSTYPE_POINTER', 'CAPSTYPE_INPUT', 'CAPSTYPE_VIRTUALCHANNEL', 'CAPSTYPE_SHARE',
      'CAPSTYPE_FONT', 'CAPSETTYPE_MULTIFRAGMENTUPDATE', 'CAPSETTYPE_LARGE_POINTER', 'CAPSETTYPE_COMPDESK', 'CAPSETTYPE_SURFACE_COMMANDS',
      'CAPSETTYPE_BITMAP_CODECS', 'CAPSSETTYPE_FRAME_ACKNOWLEDGE',
    ]);
    const general = caps.findCapabilitySet(d.capabilitySets, 'general')!;
    assert.equal(general.extraFlags, caps.FASTPATH_OUTPUT_SUPPORTED | caps.LONG_CREDENTIALS_SUPPORTED | caps.ENC_SALTED_CHECKSUM | caps.NO_BITMAP_COMPRESSION_HDR);
    assert.deepEqual(caps.findCapabilitySet(d.capabilitySets, 'virtualChannel'), { flags: caps.VCCAPS_NO_COMPR, VCChunkSize: 1600 });
    assert.deepEqual(caps.findCapabilitySet(d.capabilitySets, 'largePointer'), { largePointerSupportFlags: 3 });
    assert.equal(caps.findCapabilitySet(d.capabilitySets, 'input')!.inputFlags, 0x29);
    // the same server over TLS and NLA announces the same sets
    assert.deepEqual(caps.capabilitySetNames(demand('shadow-nla--xfreerdp-ok', 'tls').capabilitySets), caps.capabilitySetNames(d.capabilitySets));
    assert.deepEqual(caps.capabilitySetNames(demand('xrdp-tls--xfreerdp-default', 'tls').capabilitySets), caps.capabilitySetNames(demand('xrdp-rdp-none--xfreerdp-sec-rdp').capabilitySets));
  });
});

describe('capability sets xfreerdp confirms (real Confirm Active)', () => {
  it('19 sets to xrdp, 20 to the shadow server (Large Pointer added)', () => {
    const toXrdp = caps.capabilitySetNames(confirm('xrdp-rdp-none--xfreerdp-sec-rdp').capabilitySets);
    assert.deepEqual(toXrdp, [
      'CAPSTYPE_GENERAL', 'CAPSTYPE_BITMAP', 'CAPSTYPE_ORDER', 'CAPSTYPE_BITMAPCACHE_REV2', 'CAPSTYPE_POINTER', 'CAPSTYPE_INPUT', 'CAPSTYPE_BRUSH',
      'CAPSTYPE_GLYPHCACHE', 'CAPSTYPE_VIRTUALCHANNEL', 'CAPSTYPE_SOUND', 'CAPSTYPE_SHARE', 'CAPSTYPE_FONT', 'CAPSTYPE_CONTROL', 'CAPSTYPE_COLORCACHE',
      'CAPSTYPE_ACTIVATION', 'CAPSETTYPE_MULTIFRAGMENTUPDATE', 'CAPSETTYPE_SURFACE_COMMANDS', 'CAPSETTYPE_BITMAP_CODECS', 'CAPSSETTYPE_FRAME_ACKNOWLEDGE',
    ]);
    const toShadow = caps.capabilitySetNames(confirm('shadow-rdp--xfreerdp-sec-rdp').capabilitySets);
    assert.equal(toShadow.length, 20);
    assert.ok(toShadow.includes('CAPSETTYPE_LARGE_POINTER'));
  });

  it('decodes the sets a minimal client needs', () => {
    const sets = confirm('xrdp-rdp-none--xfreerdp-sec-rdp').capabilitySets;
    assert.equal(caps.findCapabilitySet(sets, 'general')!.osMajorType, caps.OSMAJORTYPE_UNIX);
    assert.equal(caps.findCapabilitySet(sets, 'bitmap')!.multipleRectangleSupport, 1);
    const glyph = caps.findCapabilitySet(sets, 'glyphCache')!;
    assert.deepEqual(glyph.glyphCache[9], { cacheEntries: 64, cacheMaximumCellSize: 256 });
    assert.equal(glyph.glyphCache.length, 10);
    const rev2 = caps.findCapabilitySet(sets, 'bitmapCacheRev2')!;
    assert.deepEqual([rev2.numCellCaches, rev2.bitmapCache0CellInfo, rev2.bitmapCache4CellInfo], [5, 600, 2048]);
    assert.deepEqual(caps.findCapabilitySet(sets, 'control'), { controlFlags: 0, remoteDetachFlag: 0, controlInterest: 2, detachInterest: 2 });
    assert.equal(caps.findCapabilitySet(sets, 'input')!.keyboardLayout, 0x0409);
    assert.equal(caps.findCapabilitySet(sets, 'order')!.textANSICodePage, 65001);
    assert.deepEqual(caps.findCapabilitySet(sets, 'brush'), { brushSupportLevel: 2 });
    assert.deepEqual(caps.findCapabilitySet(sets, 'sound'), { soundFlags: 1, pad2octetsA: 0 });
  });

  it('every real set re-encodes to bytes that decode to the same set (the whole PDUs: share.test.ts)', () => {
    for (const sets of [demand('xrdp-rdp-none--xfreerdp-sec-rdp'), demand('shadow-rdp--xfreerdp-sec-rdp'), confirm('xrdp-rdp-none--xfreerdp-sec-rdp'), confirm('shadow-rdp--xfreerdp-sec-rdp')].map((x) => x.capabilitySets)) {
      for (const s of sets) {
        const bytes = enc(s, caps.encodeCapabilitySet);
        assert.equal(hex(enc(decodeOne(bytes), caps.encodeCapabilitySet)), hex(bytes));
        assert.equal(bytes.readUInt16LE(2), bytes.length, 'lengthCapability counts the header');
      }
    }
  });
});

describe('capability sets: layouts and refusals', () => {
  it('every decoded kind round-trips from zeroed bytes of its size', () => {
    const sizes: Record<number, number> = { 1: 20, 2: 24, 3: 84, 4: 36, 5: 8, 7: 8, 8: 6, 9: 4, 10: 4, 12: 4, 13: 84, 14: 4, 15: 4, 16: 48, 17: 8, 18: 4, 19: 36, 20: 8, 21: 8, 23: 4, 24: 7, 25: 2, 26: 4, 27: 2, 28: 8, 30: 4 };
    for (const [type, size] of Object.entries(sizes)) {
      const bytes = new Uint8Array(4 + size);
      bytes[0] = Number(type);
      bytes[2] = 4 + size;
      const s = decodeOne(bytes);
      assert.notEqual(s.kind, 'raw', caps.capabilitySetName(Number(type)));
      assert.equal(hex(enc(s, caps.encodeCapabilitySet)), hex(bytes), caps.capabilitySetName(Number(type)));
    }
    assert.equal(caps.capabilitySetType('frameAcknowledge'), 30);
  });

  it('optional trailing fields: Pointer without pointerCacheSize, Virtual Channel without VCChunkSize', () => {
    assert.deepEqual(decodeOne(b('0800 0800 0100 1400')), { kind: 'pointer', value: { colorPointerFlag: 1, colorPointerCacheSize: 20 } });
    assert.deepEqual(decodeOne(b('1400 0800 01000000')), { kind: 'virtualChannel', value: { flags: 1 } });
    throwsDecode(() => decodeOne(b('0800 0900 0100 1400 00')), 'InvalidField', 'pointerCacheSize');
    throwsDecode(() => decodeOne(b('0800 0c00 0100 1400 1400 0000')), 'TrailingBytes');
    throwsDecode(() => decodeOne(b('0f00 0700 000000')), 'NotEnoughBytes', 'brushSupportLevel');
  });

  it('header lengths below 4 or past the end are refused; numberCapabilities is bounded', () => {
    throwsDecode(() => decodeOne(b('0100 0300')), 'InvalidField', 'lengthCapability');
    throwsDecode(() => decodeOne(b('0100 1800 00')), 'InvalidField', 'lengthCapability');
    throwsDecode(() => caps.decodeCapabilitySets(new ReadCursor(b('0e00 0400')), 2), 'InvalidField', 'numberCapabilities');
    assert.deepEqual(caps.decodeCapabilitySets(new ReadCursor(b('0e00 0400 6300 0500 ff')), 2), [
      { kind: 'font', value: {} },
      { kind: 'raw', type: 99, name: 'unknown (99)', data: b('ff') },
    ]);
  });

  it('refuses values that do not fit their fields', () => {
    assert.throws(() => enc({ kind: 'brush', value: { brushSupportLevel: -1 } }, caps.encodeCapabilitySet), EncodeError);
    assert.throws(() => enc({ kind: 'share', value: { nodeId: 0x10000, pad2octets: 0 } }, caps.encodeCapabilitySet), EncodeError);
    assert.throws(() => enc({ kind: 'font', value: { pad2octets: 0 } } as caps.CapabilitySet, caps.encodeCapabilitySet), EncodeError);
    const order = caps.findCapabilitySet(demand('shadow-rdp--xfreerdp-sec-rdp').capabilitySets, 'order')!;
    assert.throws(() => enc({ kind: 'order', value: { ...order, orderSupport: new Uint8Array(31) } }, caps.encodeCapabilitySet), EncodeError);
    const glyph = caps.findCapabilitySet(confirm('shadow-rdp--xfreerdp-sec-rdp').capabilitySets, 'glyphCache')!;
    assert.throws(() => enc({ kind: 'glyphCache', value: { ...glyph, glyphCache: glyph.glyphCache.slice(1) } }, caps.encodeCapabilitySet), EncodeError);
  });
});

describe('capability set fuzz', () => {
  it('random bodies of every type only raise DecodeError', () => {
    for (let type = 0; type <= 31; type++) {
      fuzzRandom((x) => decodeOne(Uint8Array.from([type, 0, (x.length + 4) & 0xff, (x.length + 4) >> 8, ...x])), new Uint8Array(0), 100);
    }
    fuzzRandom((x) => caps.decodeCapabilitySets(new ReadCursor(x), x[0] ?? 0));
  });
  it('mutations of the real Confirm Active sets only raise DecodeError', () => {
    const sets = confirm('xrdp-rdp-none--xfreerdp-sec-rdp').capabilitySets;
    const bytes = Buffer.concat(sets.map((s) => enc(s, caps.encodeCapabilitySet)));
    fuzzMutations(bytes, (x) => caps.decodeCapabilitySets(new ReadCursor(x), sets.length));
  });
});
