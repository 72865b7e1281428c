import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { WriteCursor } from '../../src/pdu/cursor.js';
import { EncodeError } from '../../src/pdu/errors.js';
import * as gcc from '../../src/pdu/gcc.js';
import * as mcs from '../../src/pdu/mcs.js';
import { FIXTURES } from './fixtures-mcs.js';
import { enc, fuzzMutations, fuzzRandom, fuzzTruncations, hex, throwsDecode } from './fuzz-helpers.js';

const ciUserData = (name: 'xfreerdpConnectInitial' | 'rdesktopConnectInitial' | 'nmapConnectInitial'): Uint8Array =>
  mcs.decodeMcsConnectInitial(FIXTURES[name]().bytes).userData;
type ResponseName = 'xrdpHighConnectResponse' | 'shadowConnectResponse' | 'xrdpNoneConnectResponse' | 'tlsXrdpConnectResponse';
const crUserData = (name: ResponseName): Uint8Array => mcs.decodeMcsConnectResponse(FIXTURES[name]().bytes).userData;

describe('GCC Conference Create Request (real clients)', () => {
  const cases = [
    ['xfreerdpConnectInitial', '000500147c00018158000800100001c00044756361814a', 0x14a],
    ['rdesktopConnectInitial', '000500147c00018142000800100001c000447563618134', 0x134],
    ['nmapConnectInitial', '000500147c0001812a000800100001c00044756361811c', 0x11c],
  ] as const;
  for (const [name, header, length] of cases) {
    it(`${name}: "Duca" user data, conference name "1", exact re-encoding`, () => {
      const bytes = ciUserData(name);
      const req = gcc.decodeConferenceCreateRequest(bytes);
      assert.equal(req.conferenceName, '1');
      assert.equal(req.userData.length, length);
      assert.equal(hex(bytes).slice(0, header.length), header);
      assert.equal(hex(enc(req, gcc.encodeConferenceCreateRequest)), hex(bytes));
    });
  }

  it('checks the connectPDU length, the key, the selection, the sets and the H.221 key', () => {
    const h = hex(ciUserData('xfreerdpConnectInitial'));
    const mutate = (from: string, to: string): Buffer => Buffer.from(h.replace(from, to), 'hex');
    throwsDecode(() => gcc.decodeConferenceCreateRequest(mutate('0500147c0001', '0500147c0002')), 'UnexpectedType', 't124Identifier');
    throwsDecode(() => gcc.decodeConferenceCreateRequest(mutate('8158', '8159')), 'InvalidField', 'connectPDU');
    throwsDecode(() => gcc.decodeConferenceCreateRequest(mutate('81580008', '81580009')), 'UnsupportedValue', 'selection');
    throwsDecode(() => gcc.decodeConferenceCreateRequest(mutate('00100001c0', '00100002c0')), 'UnsupportedValue', 'userData');
    throwsDecode(() => gcc.decodeConferenceCreateRequest(mutate('44756361', '4d63446e')), 'InvalidField', 'userData.key');
    throwsDecode(() => gcc.decodeConferenceCreateRequest(mutate('814a01c0', '814901c0')), 'InvalidField', 'userData.value');
    throwsDecode(() => gcc.decodeConferenceCreateRequest(Buffer.from('01' + h.slice(2), 'hex')), 'UnexpectedType', 't124Identifier');
  });
});

describe('GCC Conference Create Response (real servers)', () => {
  it('xrdp: nodeID 0x79f3, tag 1, success, the constant connectPDU length 0x2a', () => {
    const bytes = crUserData('xrdpHighConnectResponse');
    const rsp = gcc.decodeConferenceCreateResponse(bytes);
    assert.equal(rsp.nodeID, 0x79f3);
    assert.equal(rsp.tag, 1);
    assert.equal(rsp.result, 0);
    assert.equal(gcc.gccResultName(rsp.result), 'success');
    assert.equal(rsp.connectPduLength, gcc.CONFERENCE_CREATE_RESPONSE_CONNECT_PDU_LENGTH);
    assert.equal(rsp.userData.length, 0x1cc);
    assert.equal(rsp.userDataLongLength, undefined);
    assert.equal(hex(enc(rsp, gcc.encodeConferenceCreateResponse)), hex(bytes));
  });

  it('xrdp writes a short user data length in the two-octet form (80 24); we keep and replay it', () => {
    for (const name of ['xrdpNoneConnectResponse', 'tlsXrdpConnectResponse'] as const) {
      const bytes = crUserData(name);
      const rsp = gcc.decodeConferenceCreateResponse(bytes);
      assert.equal(rsp.userDataLongLength, true);
      assert.equal(hex(enc(rsp, gcc.encodeConferenceCreateResponse)), hex(bytes));
      const canonical = enc({ ...rsp, userDataLongLength: false }, gcc.encodeConferenceCreateResponse);
      assert.equal(canonical.length, bytes.length - 1);
    }
  });

  it('FreeRDP shadow: same fixed fields, short length 0x32', () => {
    const bytes = crUserData('shadowConnectResponse');
    const rsp = gcc.decodeConferenceCreateResponse(bytes);
    assert.deepEqual({ ...rsp, userData: undefined }, { nodeID: 0x79f3, tag: 1, result: 0, connectPduLength: 0x2a, userData: undefined });
    assert.equal(rsp.userData.length, 0x32);
    assert.equal(hex(enc(rsp, gcc.encodeConferenceCreateResponse)), hex(bytes));
  });

  it('writes the real connectPDU length when none is given', () => {
    const bytes = enc({ nodeID: 1002, tag: 1, result: 0, userData: Uint8Array.of(1, 2, 3, 4) }, gcc.encodeConferenceCreateResponse);
    assert.equal(hex(bytes), '000500147c00011214000101010001c0004d63446e0401020304');
    assert.equal(gcc.decodeConferenceCreateResponse(bytes).connectPduLength, 18);
    assert.throws(() => enc({ nodeID: 1000, tag: 1, result: 0, userData: new Uint8Array(0) }, gcc.encodeConferenceCreateResponse), EncodeError);
  });

  it('rejects the client key in a response, a wrong choice, and extra bytes', () => {
    const h = hex(crUserData('shadowConnectResponse'));
    throwsDecode(() => gcc.decodeConferenceCreateResponse(Buffer.from(h.replace('4d63446e', '44756361'), 'hex')), 'InvalidField', 'userData.key');
    throwsDecode(() => gcc.decodeConferenceCreateResponse(Buffer.from(h.replace('2a14', '2a00'), 'hex')), 'UnexpectedType', 'connectPDU.choice');
    throwsDecode(() => gcc.decodeConferenceCreateResponse(Buffer.from(h + '00', 'hex')), 'InvalidField', 'userData.value');
    // a response's connectPDU length (0x2a) never fits a request
    throwsDecode(() => gcc.decodeConferenceCreateRequest(Buffer.from(h, 'hex')), 'InvalidField', 'connectPDU');
  });
});

describe('TS_UD_HEADER block framing', () => {
  it('splits real blocks and keeps absolute offsets', () => {
    const req = gcc.decodeConferenceCreateRequest(ciUserData('xfreerdpConnectInitial'));
    const blocks = gcc.readUserDataBlocks(req.userData);
    assert.deepEqual(
      blocks.map((b) => [b.type, b.data.length, b.offset]),
      [
        [0xc001, 230, 4],
        [0xc004, 8, 238],
        [0xc002, 8, 250],
        [0xc003, 52, 262],
        [0xc006, 4, 318],
        [0xc00a, 4, 326],
      ],
    );
  });

  it('rejects a zero length (nmap loops forever on it), a length below 4 and one past the end', () => {
    throwsDecode(() => gcc.readUserDataBlocks(Buffer.from('01c00000', 'hex')), 'InvalidField', 'length');
    throwsDecode(() => gcc.readUserDataBlocks(Buffer.from('01c0030000', 'hex')), 'InvalidField', 'length');
    throwsDecode(() => gcc.readUserDataBlocks(Buffer.from('01c00900000000', 'hex')), 'InvalidField', 'length');
    throwsDecode(() => gcc.readUserDataBlocks(Buffer.from('01c004000c', 'hex')), 'NotEnoughBytes', 'type');
    assert.deepEqual(gcc.readUserDataBlocks(Buffer.from('01c00400', 'hex')).map((b) => b.data.length), [0]);
  });

  it('writes blocks and refuses one over 65535 bytes', () => {
    const w = new WriteCursor();
    gcc.writeUserDataBlock(w, 0xc006, Uint8Array.of(0, 0, 0, 0));
    assert.equal(hex(w.finish()), '06c0080000000000');
    assert.throws(() => gcc.writeUserDataBlock(new WriteCursor(), 0xc001, new Uint8Array(0xfffc)), EncodeError);
  });
});

describe('GCC fuzz', () => {
  it('random bytes only raise DecodeError', () => {
    const key = Buffer.from('000500147c0001', 'hex');
    fuzzRandom(gcc.decodeConferenceCreateRequest, key);
    fuzzRandom(gcc.decodeConferenceCreateResponse, key);
    fuzzRandom(gcc.readUserDataBlocks);
  });
  it('every truncation of the real PDUs fails with a DecodeError', () => {
    fuzzTruncations(ciUserData('rdesktopConnectInitial'), gcc.decodeConferenceCreateRequest, true);
    fuzzTruncations(crUserData('xrdpHighConnectResponse'), gcc.decodeConferenceCreateResponse, true);
    fuzzTruncations(crUserData('xrdpNoneConnectResponse'), gcc.decodeConferenceCreateResponse, true);
    const blocks = gcc.decodeConferenceCreateRequest(ciUserData('xfreerdpConnectInitial')).userData;
    fuzzTruncations(blocks, gcc.readUserDataBlocks, false);
  });
  it('mutated real PDUs only raise DecodeError', () => {
    fuzzMutations(ciUserData('xfreerdpConnectInitial'), gcc.decodeConferenceCreateRequest);
    fuzzMutations(crUserData('shadowConnectResponse'), gcc.decodeConferenceCreateResponse);
  });
});
