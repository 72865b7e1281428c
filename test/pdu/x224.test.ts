import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { DecodeError } from '../../src/pdu/errors.js';
import { PROTOCOL, protocolMaskNames, failureCodeName, NEG_REQ_FLAGS } from '../../src/pdu/nego.js';
import {
  decodeConnectionConfirm,
  decodeConnectionRequest,
  decodeServerConnectionAnswer,
  decodeX224Data,
  encodeConnectionConfirm,
  encodeConnectionRequest,
  encodeDisconnectRequest,
  encodeX224Data,
} from '../../src/pdu/x224.js';
import { TPKT_HINT, TPKT_OR_FASTPATH_HINT, decodeTpkt } from '../../src/pdu/tpkt.js';

const hex = (s: string) => Buffer.from(s.replace(/\s+/g, ''), 'hex');

// MS-RDPBCGR 4.1.1 Client X.224 Connection Request PDU (cookie "eltons", PROTOCOL_RDP)
const SPEC_CR = hex(
  '03 00 00 2c 27 e0 00 00 00 00 00 43 6f 6f 6b 69 65 3a 20 6d 73 74 73 68 61 73 68 3d 65 6c 74 6f 6e 73 0d 0a 01 00 08 00 00 00 00 00',
);
// MS-RDPBCGR 4.1.2 Server X.224 Connection Confirm PDU (RDP_NEG_RSP, PROTOCOL_RDP)
const SPEC_CC = hex('03 00 00 13 0e d0 00 00 12 34 00 02 00 08 00 00 00 00 00');

test('spec Connection Request decodes and re-encodes byte for byte', () => {
  const cr = decodeConnectionRequest(SPEC_CR);
  assert.equal(cr.cookie, 'eltons');
  assert.deepEqual(cr.negReq, { type: 'RDP_NEG_REQ', flags: 0, requestedProtocols: 0 });
  assert.equal(encodeConnectionRequest(cr).toString('hex'), SPEC_CR.toString('hex'));
});

test('spec Connection Confirm decodes and re-encodes byte for byte', () => {
  const cc = decodeConnectionConfirm(SPEC_CC);
  assert.equal(cc.srcRef, 0x1234);
  assert.deepEqual(cc.negotiation, { type: 'RDP_NEG_RSP', flags: 0, selectedProtocol: 0 });
  assert.equal(encodeConnectionConfirm(cc).toString('hex'), SPEC_CC.toString('hex'));
});

test('legacy request and confirm carry no negotiation data', () => {
  const cr = encodeConnectionRequest({ cookie: 'x' });
  const back = decodeConnectionRequest(cr);
  assert.equal(back.negReq, undefined);
  assert.equal(back.cookie, 'x');
  const cc = encodeConnectionConfirm({ dstRef: 0, srcRef: 0x1234 });
  assert.equal(cc.length, 11);
  assert.equal(decodeConnectionConfirm(cc).negotiation, undefined);
});

test('routing token, flags and correlation info round-trip', () => {
  const correlationId = Uint8Array.from({ length: 16 }, (_, i) => i + 1);
  const v = {
    routingToken: Buffer.from('Cookie: msts=3640205228.15629.0000', 'latin1'),
    negReq: { type: 'RDP_NEG_REQ' as const, flags: NEG_REQ_FLAGS.RESTRICTED_ADMIN_MODE_REQUIRED, requestedProtocols: 0x0b },
    correlationInfo: { type: 'RDP_NEG_CORRELATION_INFO' as const, flags: 0, correlationId },
  };
  const bytes = encodeConnectionRequest(v);
  const back = decodeConnectionRequest(bytes);
  assert.deepEqual(Buffer.from(back.routingToken!), v.routingToken);
  assert.equal(back.negReq!.flags, NEG_REQ_FLAGS.RESTRICTED_ADMIN_MODE_REQUIRED | NEG_REQ_FLAGS.CORRELATION_INFO_PRESENT);
  assert.deepEqual(back.correlationInfo!.correlationId, correlationId);
  assert.equal(encodeConnectionRequest(back).toString('hex'), bytes.toString('hex'));
});

test('RDP_NEG_FAILURE decodes with its code', () => {
  const cc = encodeConnectionConfirm({ dstRef: 0, srcRef: 0, negotiation: { type: 'RDP_NEG_FAILURE', flags: 0, failureCode: 5 } });
  const back = decodeConnectionConfirm(cc);
  assert.equal(back.negotiation?.type, 'RDP_NEG_FAILURE');
  assert.equal(failureCodeName(5), 'HYBRID_REQUIRED_BY_SERVER');
  assert.equal(failureCodeName(99), 'UNKNOWN_FAILURE_CODE_99');
});

test('protocol mask names', () => {
  assert.deepEqual(protocolMaskNames(0), ['RDP']);
  assert.deepEqual(protocolMaskNames(0x0b), ['SSL', 'HYBRID', 'HYBRID_EX']);
  assert.deepEqual(protocolMaskNames(PROTOCOL.RDSAAD | 0x100), ['RDSAAD', '0x100']);
});

test('X.224 Data round-trip and a server Disconnect Request', () => {
  const payload = Buffer.from('7f6582', 'hex');
  const frame = encodeX224Data(payload);
  assert.equal(frame.toString('hex'), '0300000a02f0807f6582');
  assert.deepEqual(Buffer.from(decodeX224Data(frame)), payload);
  const dr = hex('03 00 00 0b 06 80 00 00 12 34 01');
  assert.deepEqual(decodeServerConnectionAnswer(dr), { tpdu: 'DR', dstRef: 0, srcRef: 0x1234, reason: 1 });
  assert.equal(encodeDisconnectRequest({ dstRef: 0, srcRef: 0x1234, reason: 1 }).toString('hex'), dr.toString('hex'));
});

test('malformed PDUs give DecodeError naming PDU and field', () => {
  // LI says 0x0e but only 13 bytes follow
  assert.throws(
    () => decodeConnectionConfirm(hex('03 00 00 12 0e d0 00 00 12 34 00 02 00 08 00 00 00 00')),
    (e: unknown) => e instanceof DecodeError && e.pdu === 'X.224 Connection Confirm' && e.field === 'LI',
  );
  // RDP_NEG_RSP with length 9
  assert.throws(
    () => decodeConnectionConfirm(hex('03 00 00 13 0e d0 00 00 12 34 00 02 00 09 00 00 00 00 00')),
    (e: unknown) => e instanceof DecodeError && e.pdu === 'RDP_NEG_RSP' && e.field === 'length',
  );
  // TPKT length larger than the frame
  assert.throws(() => decodeTpkt(hex('03 00 00 20 00')), DecodeError);
  // a cookie without CR LF
  assert.throws(
    () => decodeConnectionRequest(encodeConnectionRequest({ cookie: 'abc' }).subarray(0, 20).map((b, i) => (i === 3 ? 20 : b))),
    DecodeError,
  );
});

test('hints frame TPKT and fast-path', () => {
  assert.equal(TPKT_HINT.findSize(hex('03 00')), null);
  assert.equal(TPKT_HINT.findSize(hex('03 00 01 00')), 256);
  assert.throws(() => TPKT_HINT.findSize(hex('16 03 01 00')), DecodeError);
  assert.equal(TPKT_OR_FASTPATH_HINT.findSize(hex('00 81')), null);
  assert.equal(TPKT_OR_FASTPATH_HINT.findSize(hex('00 81 10')), 0x110);
  assert.equal(TPKT_OR_FASTPATH_HINT.findSize(hex('00 20')), 0x20);
});

const decoders: [string, (b: Uint8Array) => unknown][] = [
  ['decodeConnectionRequest', decodeConnectionRequest],
  ['decodeConnectionConfirm', decodeConnectionConfirm],
  ['decodeServerConnectionAnswer', decodeServerConnectionAnswer],
  ['decodeX224Data', decodeX224Data],
  ['TPKT_HINT', (b) => TPKT_HINT.findSize(b)],
  ['TPKT_OR_FASTPATH_HINT', (b) => TPKT_OR_FASTPATH_HINT.findSize(b)],
];

for (const [name, decode] of decoders) {
  test(`${name}: random bytes and truncations only ever throw DecodeError`, () => {
    const onlyDecodeError = (b: Uint8Array) => {
      try {
        decode(b);
      } catch (e) {
        if (!(e instanceof DecodeError)) throw e;
      }
    };
    for (const real of [SPEC_CR, SPEC_CC]) for (let i = 0; i <= real.length; i++) onlyDecodeError(real.subarray(0, i));
    fc.assert(fc.property(fc.uint8Array({ maxLength: 80 }), onlyDecodeError), { numRuns: 3000 });
    // plausible frames: a TPKT header whose length matches, then random bytes
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 1, maxLength: 60 }), (body) => {
        const f = Buffer.concat([Buffer.from([3, 0, 0, body.length + 4]), body]);
        onlyDecodeError(f);
      }),
      { numRuns: 3000 },
    );
  });
}
