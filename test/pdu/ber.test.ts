import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { ReadCursor, WriteCursor } from '../../src/pdu/cursor.js';
import { EncodeError } from '../../src/pdu/errors.js';
import * as ber from '../../src/pdu/ber.js';
import { fuzzRandom, hex, throwsDecode } from './fuzz-helpers.js';

const w = (f: (w: WriteCursor) => void): string => hex(ber.encodeContents(f));
const rc = (h: string): ReadCursor => new ReadCursor(Buffer.from(h, 'hex'));

describe('BER tags', () => {
  it('writes and reads [APPLICATION 101] as 7f 65 (high tag number form)', () => {
    assert.equal(w((x) => ber.writeTag(x, ber.BER_CLASS_APPLICATION, true, 101)), '7f65');
    assert.deepEqual(ber.readTag(rc('7f65'), 'T', 'tag'), { cls: ber.BER_CLASS_APPLICATION, constructed: true, number: 101 });
  });
  it('round-trips multi-octet tag numbers', () => {
    for (const n of [0, 30, 31, 127, 128, 16383, 16384, 0x0fffffff]) {
      const bytes = w((x) => ber.writeTag(x, ber.BER_CLASS_CONTEXT, false, n));
      assert.deepEqual(ber.readTag(rc(bytes), 'T', 'tag'), { cls: ber.BER_CLASS_CONTEXT, constructed: false, number: n });
    }
    assert.equal(w((x) => ber.writeTag(x, ber.BER_CLASS_CONTEXT, false, 128)), '9f8100');
  });
  it('rejects a leading zero continuation octet and oversized tag numbers', () => {
    throwsDecode(() => ber.readTag(rc('7f8065'), 'T', 'tag'), 'InvalidField');
    throwsDecode(() => ber.readTag(rc('7fffffffff7f'), 'T', 'tag'), 'UnsupportedValue');
    throwsDecode(() => ber.readTag(rc('7f'), 'T', 'tag'), 'NotEnoughBytes');
  });
});

describe('BER lengths', () => {
  it('writes the shortest form', () => {
    assert.equal(w((x) => ber.writeLength(x, 0x7f)), '7f');
    assert.equal(w((x) => ber.writeLength(x, 0x80)), '8180');
    assert.equal(w((x) => ber.writeLength(x, 0x1be)), '8201be');
    assert.equal(w((x) => ber.writeLength(x, 0x10000)), '83010000');
    assert.equal(ber.lengthSize(0x1be), 3);
  });
  it('reads short, long and non-minimal long forms', () => {
    assert.equal(ber.readLength(rc('48'), 'T', 'len'), 0x48);
    assert.equal(ber.readLength(rc('8201be'), 'T', 'len'), 0x1be);
    assert.equal(ber.readLength(rc('8148'), 'T', 'len'), 0x48); // BER allows it; we re-encode as 48
    assert.equal(ber.readLength(rc('84ffffffff'), 'T', 'len'), 0xffffffff);
  });
  it('rejects indefinite and over-long lengths', () => {
    throwsDecode(() => ber.readLength(rc('80'), 'T', 'len'), 'UnsupportedValue');
    throwsDecode(() => ber.readLength(rc('850000000001'), 'T', 'len'), 'UnsupportedValue');
  });
  it('bounds a TLV length by the input before slicing', () => {
    throwsDecode(() => ber.readOctetString(rc('0484ffffffff00'), 'T', 'os'), 'NotEnoughBytes');
    throwsDecode(() => ber.readSequence(rc('3005020101'), 'T', 'seq'), 'NotEnoughBytes');
  });
});

describe('BER INTEGER / ENUMERATED / BOOLEAN / OCTET STRING', () => {
  it('writes minimal two\'s complement for non-negative values', () => {
    assert.equal(w((x) => ber.writeInteger(x, 0)), '020100');
    assert.equal(w((x) => ber.writeInteger(x, 0x22)), '020122');
    assert.equal(w((x) => ber.writeInteger(x, 0x80)), '02020080');
    assert.equal(w((x) => ber.writeInteger(x, 1056)), '02020420');
    assert.equal(w((x) => ber.writeInteger(x, 65535)), '020300ffff');
    assert.equal(w((x) => ber.writeInteger(x, 0xffffffff)), '020500ffffffff');
    assert.throws(() => w((x) => ber.writeInteger(x, -1)), EncodeError);
  });
  it('reads integers unsigned like FreeRDP (rdesktop writes 65535 as 02 02 ff ff)', () => {
    assert.equal(ber.readInteger(rc('0202ffff'), 'T', 'i'), 65535);
    assert.equal(ber.readInteger(rc('020300ffff'), 'T', 'i'), 65535);
    assert.equal(ber.readInteger(rc('020500ffffffff'), 'T', 'i'), 0xffffffff);
    throwsDecode(() => ber.readInteger(rc('0200'), 'T', 'i'), 'InvalidField');
    throwsDecode(() => ber.readInteger(rc('020501ffffffff'), 'T', 'i'), 'InvalidField');
    throwsDecode(() => ber.readInteger(rc('0a0100'), 'T', 'i'), 'UnexpectedType');
  });
  it('checks ENUMERATED against its value count', () => {
    assert.equal(w((x) => ber.writeEnumerated(x, 14)), '0a010e');
    assert.equal(ber.readEnumerated(rc('0a010e'), 16, 'T', 'e'), 14);
    throwsDecode(() => ber.readEnumerated(rc('0a0110'), 16, 'T', 'e'), 'InvalidField');
  });
  it('reads any non-zero BOOLEAN as TRUE, writes ff', () => {
    assert.equal(ber.readBoolean(rc('0101ff'), 'T', 'b'), true);
    assert.equal(ber.readBoolean(rc('010101'), 'T', 'b'), true);
    assert.equal(ber.readBoolean(rc('010100'), 'T', 'b'), false);
    assert.equal(w((x) => ber.writeBoolean(x, true)), '0101ff');
    throwsDecode(() => ber.readBoolean(rc('01020000'), 'T', 'b'), 'InvalidField');
  });
  it('round-trips OCTET STRING and SEQUENCE', () => {
    const body = Buffer.alloc(300, 7);
    const bytes = w((x) => ber.writeOctetString(x, body));
    assert.equal(bytes.slice(0, 8), '0482012c');
    assert.deepEqual(Buffer.from(ber.readOctetString(rc(bytes), 'T', 'os')), body);
    const seq = w((x) => ber.writeSequence(x, Buffer.from('020101', 'hex')));
    assert.equal(seq, '3003020101');
    const c = ber.readSequence(rc(seq), 'T', 'seq');
    assert.equal(ber.readInteger(c, 'T', 'i'), 1);
  });
  it('reports the expected and actual tag on a mismatch', () => {
    const e = throwsDecode(() => ber.readApplicationTag(rc('7f6600'), 101, 'MCS', 'tag'), 'UnexpectedType');
    assert.match(e.message, /APPLICATION 101.*APPLICATION 102/);
  });
});

describe('BER fuzz', () => {
  it('random bytes into every reader only raise DecodeError', () => {
    fuzzRandom((b) => {
      const r = new ReadCursor(b);
      ber.readTag(r, 'F', 'tag');
      ber.readLength(r, 'F', 'len');
    });
    fuzzRandom((b) => ber.readApplicationTag(new ReadCursor(b), 101, 'F', 'app'), Uint8Array.of(0x7f));
    fuzzRandom((b) => ber.readInteger(new ReadCursor(b), 'F', 'i'), Uint8Array.of(0x02));
    fuzzRandom((b) => ber.readBoolean(new ReadCursor(b), 'F', 'b'), Uint8Array.of(0x01));
    fuzzRandom((b) => ber.readOctetString(new ReadCursor(b), 'F', 'os'), Uint8Array.of(0x04));
    fuzzRandom((b) => ber.readEnumerated(new ReadCursor(b), 16, 'F', 'e'), Uint8Array.of(0x0a));
  });
});
