import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { EncodeError } from '../../src/pdu/errors.js';
import * as fp from '../../src/pdu/fastpath.js';
import { TPKT_OR_FASTPATH_HINT } from '../../src/pdu/tpkt.js';
import { CLEAR_SESSIONS, sessionFrames, walkSession } from './fixtures-session.js';
import { enc, fuzzMutations, fuzzRandom, fuzzTruncations, hex, throwsDecode } from './fuzz-helpers.js';

const b = (h: string): Buffer => Buffer.from(h.replace(/\s/g, ''), 'hex');
const fastPathFrames = (capture: string, layer: 'tcp' | 'tls' = 'tcp'): Buffer[] =>
  sessionFrames(capture, layer).filter((f) => f.dir === 's2c' && f.bytes[0] !== 0x03).map((f) => f.bytes);

describe('fast-path output from real servers', () => {
  it('xrdp right after the Font Map: a Synchronize update, then compressed pointer updates', () => {
    const steps = walkSession('xrdp-rdp-none--xfreerdp-sec-rdp').filter((s) => s.fastPath);
    assert.deepEqual(steps.map((s) => s.label), ['fast-path FASTPATH_UPDATETYPE_SYNCHRONIZE', 'fast-path FASTPATH_UPDATETYPE_POINTER', 'fast-path FASTPATH_UPDATETYPE_POINTER']);
    const first = steps[0]!.fastPath!;
    // xrdp writes the length in two octets although 7 fits one
    assert.equal(hex(steps[0]!.frame), '00800783000000');
    assert.deepEqual({ ...first, data: hex(first.data) }, { flags: 0, longLength: true, data: '83000000' });
    const [u, ...more] = fp.decodeFastPathUpdates(first.data);
    assert.equal(more.length, 0);
    assert.deepEqual([u!.updateCode, u!.fragmentation, u!.compression, u!.compressionFlags, u!.updateData.length], [
      fp.FASTPATH_UPDATETYPE_SYNCHRONIZE, fp.FASTPATH_FRAGMENT_SINGLE, fp.FASTPATH_OUTPUT_COMPRESSION_USED, 0, 0,
    ]);
    const pointer = fp.decodeFastPathUpdates(steps[1]!.fastPath!.data)[0]!;
    assert.deepEqual([pointer.updateCode, pointer.compression, pointer.compressionFlags, pointer.updateData.length], [fp.FASTPATH_UPDATETYPE_POINTER, 2, 0x61, 0xb3]);
  });

  it('every fast-path PDU of the walkable sessions re-encodes byte for byte, updates included', () => {
    let n = 0;
    for (const { capture, layer } of CLEAR_SESSIONS) {
      for (const f of fastPathFrames(capture, layer)) {
        const pdu = fp.decodeFastPathOutput(f, 'none');
        assert.equal(hex(enc(pdu, fp.encodeFastPathOutput)), hex(f));
        assert.equal(hex(enc(fp.decodeFastPathUpdates(pdu.data), fp.encodeFastPathUpdates)), hex(pdu.data));
        n++;
      }
    }
    assert.equal(n, 6);
  });

  it('xrdp FIPS: encrypted fast-path with fipsInformation (length 16, version 1, padlen) and a signature', () => {
    const frames = fastPathFrames('xrdp-rdp-fips--xfreerdp-sec-rdp');
    assert.equal(frames.length, 3);
    const pdus = frames.map((f) => fp.decodeFastPathOutput(f, 'fips'));
    assert.deepEqual(pdus.map((p) => [p.flags, p.fipsInformation, p.data.length % 8]), [
      [fp.FASTPATH_OUTPUT_ENCRYPTED, { length: 16, version: 1, padlen: 4 }, 0],
      [fp.FASTPATH_OUTPUT_ENCRYPTED, { length: 16, version: 1, padlen: 1 }, 0],
      [fp.FASTPATH_OUTPUT_ENCRYPTED, { length: 16, version: 1, padlen: 3 }, 0],
    ]);
    assert.equal(hex(pdus[0]!.dataSignature!), 'd5051f92a119ea4b');
    pdus.forEach((p, i) => assert.equal(hex(enc(p, fp.encodeFastPathOutput)), hex(frames[i]!)));
    // read as RC4 the same bytes give an 8-byte signature at another place: the form matters
    assert.notEqual(hex(fp.decodeFastPathOutput(frames[0]!, 'rc4').dataSignature!), 'd5051f92a119ea4b');
    throwsDecode(() => fp.decodeFastPathOutput(frames[0]!, 'none'), 'InvalidField', 'flags');
  });

  it('the frame length agrees with TPKT_OR_FASTPATH_HINT', () => {
    for (const f of fastPathFrames('xrdp-tls--xfreerdp-default', 'tls')) assert.equal(TPKT_OR_FASTPATH_HINT.findSize(f), f.length);
  });
});

describe('fast-path: forms and refusals', () => {
  it('RC4 output, short and long lengths, reserved bits', () => {
    const v: fp.FastPathOutputPdu = { flags: fp.FASTPATH_OUTPUT_ENCRYPTED | fp.FASTPATH_OUTPUT_SECURE_CHECKSUM, dataSignature: new Uint8Array(b('0102030405060708')), data: new Uint8Array(b('aabb')) };
    const bytes = new Uint8Array(enc(v, fp.encodeFastPathOutput));
    assert.equal(hex(bytes), 'c00c0102030405060708aabb');
    assert.deepEqual(fp.decodeFastPathOutput(bytes, 'rc4'), v);
    const long: fp.FastPathOutputPdu = { flags: 0, data: new Uint8Array(200) };
    assert.equal(hex(enc(long, fp.encodeFastPathOutput).subarray(0, 3)), '0080cb');
    const reserved = new Uint8Array(b('3c0400ff'));
    assert.deepEqual(fp.decodeFastPathOutput(reserved, 'none'), { flags: 0, reserved: 0xf, data: new Uint8Array(b('00ff')) });
    assert.equal(hex(enc(fp.decodeFastPathOutput(reserved, 'none'), fp.encodeFastPathOutput)), '3c0400ff');
  });

  it('input PDUs: numEvents in the header, or in an extra octet (16 and more, or encrypted)', () => {
    const two: fp.FastPathInputPdu = { flags: 0, numEvents: 2, data: new Uint8Array(b('0001 0002')) };
    const bytes = new Uint8Array(enc(two, fp.encodeFastPathInput));
    assert.equal(hex(bytes), '080600010002');
    assert.deepEqual(fp.decodeFastPathInput(bytes, 'none'), two);
    const many: fp.FastPathInputPdu = { flags: 0, numEvents: 20, data: new Uint8Array(40) };
    const mb = new Uint8Array(enc(many, fp.encodeFastPathInput));
    assert.equal(hex(mb.subarray(0, 3)), '002b14');
    assert.deepEqual(fp.decodeFastPathInput(mb, 'none'), many);
    const sealed: fp.FastPathInputPdu = { flags: fp.FASTPATH_INPUT_ENCRYPTED, numEvents: 0, dataSignature: new Uint8Array(8), data: new Uint8Array(b('14ffff')) };
    assert.deepEqual(fp.decodeFastPathInput(new Uint8Array(enc(sealed, fp.encodeFastPathInput)), 'rc4'), sealed);
  });

  it('refuses a TPKT, a wrong length, a bad FIPS header, a short update', () => {
    throwsDecode(() => fp.decodeFastPathOutput(b('0300000c'), 'none'), 'UnexpectedType', 'action');
    throwsDecode(() => fp.decodeFastPathOutput(b('0005 00'), 'none'), 'NotEnoughBytes', 'length');
    throwsDecode(() => fp.decodeFastPathOutput(b('0003 0000'), 'none'), 'InvalidField', 'length');
    throwsDecode(() => fp.decodeFastPathOutput(b('800e 1100 0100 0000000000000000'), 'fips'), 'InvalidField', 'fipsInformation.length');
    throwsDecode(() => fp.decodeFastPathOutput(b('800e 1000 0108 0000000000000000'), 'fips'), 'InvalidField', 'fipsInformation.padlen');
    throwsDecode(() => fp.decodeFastPathUpdates(b('83 00 0500 0102')), 'NotEnoughBytes', 'updateData');
    throwsDecode(() => fp.decodeFastPathUpdates(b('01 0100')), 'NotEnoughBytes', 'updateData');
    throwsDecode(() => fp.decodeFastPathInput(b('0002'), 'none'), 'NotEnoughBytes', 'numEvents');
  });

  it('encoders refuse inconsistent flags and oversize values', () => {
    assert.throws(() => enc({ flags: fp.FASTPATH_OUTPUT_ENCRYPTED, data: new Uint8Array(0) }, fp.encodeFastPathOutput), EncodeError);
    assert.throws(() => enc({ flags: 0, dataSignature: new Uint8Array(8), data: new Uint8Array(0) }, fp.encodeFastPathOutput), EncodeError);
    assert.throws(() => enc({ flags: 0, data: new Uint8Array(0x8000) }, fp.encodeFastPathOutput), EncodeError);
    assert.throws(() => enc({ flags: 0, numEvents: 256, data: new Uint8Array(0) }, fp.encodeFastPathInput), EncodeError);
    assert.throws(() => enc([{ updateCode: 3, fragmentation: 0, compression: 2, updateData: new Uint8Array(0) }], fp.encodeFastPathUpdates), EncodeError);
    assert.throws(() => enc([{ updateCode: 16, fragmentation: 0, compression: 0, updateData: new Uint8Array(0) }], fp.encodeFastPathUpdates), EncodeError);
    assert.equal(fp.fastPathUpdateName(7), 'unknown (0x7)');
  });
});

describe('fast-path fuzz', () => {
  const real = [...fastPathFrames('xrdp-rdp-none--xfreerdp-sec-rdp'), ...fastPathFrames('xrdp-rdp-fips--xfreerdp-sec-rdp')];
  it('random bytes only raise DecodeError', () => {
    for (const form of ['none', 'rc4', 'fips'] as const) {
      fuzzRandom((x) => fp.decodeFastPathOutput(x, form));
      fuzzRandom((x) => fp.decodeFastPathInput(x, form));
      fuzzRandom((x) => fp.decodeFastPathOutput(Uint8Array.from([0x80, x.length + 2, ...x]), form), new Uint8Array(0), 120);
    }
    fuzzRandom(fp.decodeFastPathUpdates);
  });
  it('every truncation of every real fast-path PDU fails; mutations only raise DecodeError', () => {
    for (const f of real) {
      const form = f[0]! & 0x80 ? 'fips' : 'none';
      fuzzTruncations(f, (x) => fp.decodeFastPathOutput(x, form), true);
      fuzzMutations(f, (x) => fp.decodeFastPathUpdates(fp.decodeFastPathOutput(x, form).data));
    }
  });
});
