import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { ReadCursor, WriteCursor } from '../../src/pdu/cursor.js';
import { EncodeError } from '../../src/pdu/errors.js';
import * as per from '../../src/pdu/per.js';
import { encodeWith } from '../../src/pdu/cursor.js';
import { fuzzRandom, hex, throwsDecode } from './fuzz-helpers.js';

const w = (f: (w: WriteCursor) => void): string => hex(encodeWith(null, (_v, c) => f(c)));
const rc = (h: string): ReadCursor => new ReadCursor(Buffer.from(h, 'hex'));

describe('PER length determinant', () => {
  it('uses one octet below 128 and two (10xxxxxx) up to 16383', () => {
    assert.equal(w((x) => per.writeLength(x, 0x2a)), '2a');
    assert.equal(w((x) => per.writeLength(x, 0x142)), '8142');
    assert.equal(w((x) => per.writeLength(x, 0x3fff)), 'bfff');
    assert.equal(w((x) => per.writeLongLength(x, 0x24)), '8024');
    assert.throws(() => w((x) => per.writeLength(x, 0x4000)), EncodeError);
    assert.equal(per.readLength(rc('2a'), 'T', 'l'), 0x2a);
    assert.equal(per.readLength(rc('8142'), 'T', 'l'), 0x142);
    assert.equal(per.readLength(rc('8024'), 'T', 'l'), 0x24);
  });
  it('rejects the fragmented form', () => {
    throwsDecode(() => per.readLength(rc('c001'), 'T', 'l'), 'UnsupportedValue');
  });
});

describe('PER OBJECT IDENTIFIER', () => {
  it('encodes T.124 0.0.20.124.0.1 as 05 00 14 7c 00 01', () => {
    assert.equal(w((x) => per.writeObjectIdentifier(x, [0, 0, 20, 124, 0, 1])), '0500147c0001');
    assert.deepEqual(per.readObjectIdentifier(rc('0500147c0001'), 'T', 'oid'), [0, 0, 20, 124, 0, 1]);
  });
  it('round-trips multi-octet arcs', () => {
    const arcs = [1, 2, 840, 113549, 1, 1, 11];
    assert.deepEqual(per.readObjectIdentifier(rc(w((x) => per.writeObjectIdentifier(x, arcs))), 'T', 'oid'), arcs);
  });
  it('rejects an empty or truncated identifier', () => {
    throwsDecode(() => per.readObjectIdentifier(rc('00'), 'T', 'oid'), 'InvalidField');
    throwsDecode(() => per.readObjectIdentifier(rc('0281'), 'T', 'oid'), 'NotEnoughBytes');
    throwsDecode(() => per.readObjectIdentifier(rc('0181'), 'T', 'oid'), 'NotEnoughBytes');
  });
});

describe('PER strings and integers', () => {
  it('packs a NumericString two digits per octet ("1" with min 1 is 00 10)', () => {
    assert.equal(w((x) => per.writeNumericString(x, '1', 1)), '0010');
    assert.equal(per.readNumericString(rc('0010'), 1, 'T', 'n'), '1');
    assert.equal(per.readNumericString(rc(w((x) => per.writeNumericString(x, '0123456789', 1))), 1, 'T', 'n'), '0123456789');
    throwsDecode(() => per.readNumericString(rc('00a0'), 1, 'T', 'n'), 'InvalidField');
    assert.throws(() => w((x) => per.writeNumericString(x, '', 1)), EncodeError);
  });
  it('writes an OCTET STRING length above its minimum ("Duca" with min 4 is 00 44 75 63 61)', () => {
    assert.equal(w((x) => per.writeOctetString(x, Buffer.from('Duca'), 4)), '0044756361');
    assert.equal(Buffer.from(per.readOctetString(rc('0044756361'), 4, 'T', 'o')).toString(), 'Duca');
    throwsDecode(() => per.readOctetString(rc('01447563'), 4, 'T', 'o'), 'NotEnoughBytes');
  });
  it('reads INTEGER (1001..65535) as two octets above the minimum (76 0a = 31219)', () => {
    assert.equal(per.readInteger16(rc('760a'), 1001, 'T', 'i'), 0x79f3);
    assert.equal(w((x) => per.writeInteger16(x, 0x79f3, 1001)), '760a');
    throwsDecode(() => per.readInteger16(rc('ffff'), 1001, 'T', 'i'), 'InvalidField');
    assert.throws(() => w((x) => per.writeInteger16(x, 1000, 1001)), EncodeError);
  });
  it('writes unconstrained integers in 1, 2 or 4 octets', () => {
    assert.equal(w((x) => per.writeInteger(x, 1)), '0101');
    assert.equal(w((x) => per.writeInteger(x, 0x1234)), '021234');
    assert.equal(w((x) => per.writeInteger(x, 0x123456)), '0400123456');
    assert.equal(per.readInteger(rc('0101'), 'T', 'i'), 1);
    assert.equal(per.readInteger(rc('00'), 'T', 'i'), 0);
    throwsDecode(() => per.readInteger(rc('050000000000'), 'T', 'i'), 'InvalidField');
  });
  it('checks ENUMERATED, fixed octets and padding', () => {
    assert.equal(per.readEnumerated(rc('0f'), 16, 'T', 'e'), 15);
    throwsDecode(() => per.readEnumerated(rc('10'), 16, 'T', 'e'), 'InvalidField');
    throwsDecode(() => per.expectOctet(rc('01'), 0xc0, 'T', 'c'), 'UnexpectedType');
    throwsDecode(() => per.readPadding(rc('01'), 1, 'T', 'p'), 'UnsupportedValue');
  });
});

describe('PER fuzz', () => {
  it('random bytes into every reader only raise DecodeError', () => {
    fuzzRandom((b) => per.readObjectIdentifier(new ReadCursor(b), 'F', 'oid'));
    fuzzRandom((b) => per.readNumericString(new ReadCursor(b), 1, 'F', 'n'));
    fuzzRandom((b) => per.readOctetString(new ReadCursor(b), 4, 'F', 'o'));
    fuzzRandom((b) => per.readInteger(new ReadCursor(b), 'F', 'i'));
    fuzzRandom((b) => per.readInteger16(new ReadCursor(b), 1001, 'F', 'i'));
  });
});
