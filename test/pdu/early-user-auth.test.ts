/** Early User Authorization Result PDU (MS-RDPBCGR 2.2.10.2). */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { EncodeError } from '../../src/pdu/errors.js';
import {
  AUTHZ_ACCESS_DENIED,
  AUTHZ_SUCCESS,
  EARLY_USER_AUTH_RESULT_HINT,
  EARLY_USER_AUTH_RESULT_SIZE,
  decodeEarlyUserAuthResult,
  encodeEarlyUserAuthResult,
} from '../../src/pdu/early-user-auth.js';
import { frames } from '../fixtures/pcaps.js';
import { decodesOrDecodeError, fuzzRandom, fuzzTruncations, hex, RUNS, throwsDecode } from './fuzz-helpers.js';

const h = (s: string): Buffer => Buffer.from(s.replace(/\s+/g, ''), 'hex');

describe('Early User Authorization Result PDU', () => {
  it('is 4 little-endian bytes: 00000000 success, 05000000 access denied', () => {
    assert.equal(hex(encodeEarlyUserAuthResult({ authorizationResult: AUTHZ_SUCCESS })), '00000000');
    assert.equal(hex(encodeEarlyUserAuthResult({ authorizationResult: AUTHZ_ACCESS_DENIED })), '05000000');
    assert.deepEqual(decodeEarlyUserAuthResult(h('00000000')), { authorizationResult: AUTHZ_SUCCESS });
    assert.deepEqual(decodeEarlyUserAuthResult(h('05000000')), { authorizationResult: AUTHZ_ACCESS_DENIED });
    assert.equal(EARLY_USER_AUTH_RESULT_SIZE, 4);
  });

  it('rejects other values (a TPKT where the verdict should be), short and long buffers', () => {
    throwsDecode(() => decodeEarlyUserAuthResult(h('0300000b')), 'InvalidField', 'authorizationResult');
    throwsDecode(() => decodeEarlyUserAuthResult(h('00000005')), 'InvalidField', 'authorizationResult'); // big-endian 5
    throwsDecode(() => decodeEarlyUserAuthResult(h('000000')), 'NotEnoughBytes', 'authorizationResult');
    throwsDecode(() => decodeEarlyUserAuthResult(h('0000000000')), 'TrailingBytes');
    assert.throws(() => encodeEarlyUserAuthResult({ authorizationResult: 1 }), EncodeError);
  });

  it('the hint frames exactly 4 bytes, whatever follows them', () => {
    assert.equal(EARLY_USER_AUTH_RESULT_HINT.findSize(h('')), null);
    assert.equal(EARLY_USER_AUTH_RESULT_HINT.findSize(h('000000')), null);
    assert.equal(EARLY_USER_AUTH_RESULT_HINT.findSize(h('00000000')), 4);
    assert.equal(EARLY_USER_AUTH_RESULT_HINT.findSize(h('05000000 0300000b')), 4);
    const split = frames(h('05000000 00000000 000000'), EARLY_USER_AUTH_RESULT_HINT);
    assert.deepEqual(split.frames.map(hex), ['05000000', '00000000']);
    assert.equal(split.stop, 'truncated');
  });

  it('fuzz: only DecodeError; the hint never throws and answers null or 4', () => {
    fuzzRandom(decodeEarlyUserAuthResult, new Uint8Array(0), 8);
    fuzzTruncations(h('05000000'), decodeEarlyUserAuthResult, true);
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 12 }), (b) => {
        const size = EARLY_USER_AUTH_RESULT_HINT.findSize(b);
        assert.equal(size, b.length < 4 ? null : 4);
        if (decodesOrDecodeError(() => decodeEarlyUserAuthResult(b))) assert.ok(b.length === 4 && (b[0] === 0 || b[0] === 5));
      }),
      { numRuns: RUNS },
    );
  });
});
