import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { ReadCursor } from '../../src/pdu/cursor.js';
import { EncodeError } from '../../src/pdu/errors.js';
import * as mcs from '../../src/pdu/mcs.js';
import { FIXTURES } from './fixtures-mcs.js';
import { enc, fuzzMutations, fuzzRandom, fuzzTruncations, hex, throwsDecode } from './fuzz-helpers.js';

describe('MCS Connect-Initial (real clients)', () => {
  it('decodes xfreerdp 2.11.7 and re-encodes it byte for byte', () => {
    const { bytes } = FIXTURES.xfreerdpConnectInitial();
    const ci = mcs.decodeMcsConnectInitial(bytes);
    assert.equal(hex(ci.callingDomainSelector), '01');
    assert.equal(hex(ci.calledDomainSelector), '01');
    assert.equal(ci.upwardFlag, true);
    assert.deepEqual(ci.targetParameters, mcs.DOMAIN_PARAMETERS_TARGET);
    assert.deepEqual(ci.minimumParameters, mcs.DOMAIN_PARAMETERS_MIN);
    assert.deepEqual(ci.maximumParameters, mcs.DOMAIN_PARAMETERS_MAX);
    assert.equal(ci.userData.length, 0x161);
    assert.equal(hex(enc(ci, mcs.encodeMcsConnectInitial)), hex(bytes));
    // the helper builds exactly what xfreerdp sends around the same GCC bytes
    assert.equal(hex(enc(mcs.mcsConnectInitial(ci.userData), mcs.encodeMcsConnectInitial)), hex(bytes));
  });

  it('decodes rdesktop 1.9.0, whose padded integers re-encode canonically', () => {
    const { bytes } = FIXTURES.rdesktopConnectInitial();
    const ci = mcs.decodeMcsConnectInitial(bytes);
    assert.deepEqual(ci.targetParameters, mcs.DOMAIN_PARAMETERS_TARGET);
    assert.deepEqual(ci.maximumParameters, mcs.DOMAIN_PARAMETERS_MAX); // 65535 sent as 02 02 ff ff
    assert.equal(ci.userData.length, 0x14b);
    const again = enc(ci, mcs.encodeMcsConnectInitial);
    // not canonical BER: rdesktop writes every INTEGER in 2 octets (02 02 00 22 for 34)
    assert.notEqual(hex(again), hex(bytes));
    assert.ok(hex(bytes).includes('30200202002202020002'));
    assert.ok(hex(again).includes('301a020122020102'));
    assert.deepEqual(mcs.decodeMcsConnectInitial(again), ci);
  });

  it('decodes nmap 7.93 rdp-enum-encryption (hand-written by rdp.lua)', () => {
    const ci = mcs.decodeMcsConnectInitial(FIXTURES.nmapConnectInitial().bytes);
    assert.deepEqual(ci.maximumParameters, mcs.DOMAIN_PARAMETERS_MAX);
    assert.deepEqual(ci.minimumParameters, mcs.DOMAIN_PARAMETERS_MIN);
    assert.equal(ci.userData.length, 0x133);
  });

  it('reads from a cursor and stops at its own end', () => {
    const { bytes } = FIXTURES.xfreerdpConnectInitial();
    const r = new ReadCursor(Buffer.concat([bytes, Buffer.from('2180', 'hex')]));
    mcs.decodeMcsConnectInitial(r);
    assert.equal(r.remaining, 2);
  });

  it('is strict about trailing bytes and the tag', () => {
    const { bytes } = FIXTURES.xfreerdpConnectInitial();
    throwsDecode(() => mcs.decodeMcsConnectInitial(Buffer.concat([bytes, Buffer.of(0)])), 'TrailingBytes');
    throwsDecode(() => mcs.decodeMcsConnectInitial(FIXTURES.shadowConnectResponse().bytes), 'UnexpectedType', 'tag');
  });
});

describe('MCS Connect-Response (real servers)', () => {
  const cases = [
    ['xrdpHighConnectResponse', 22, 0x1e3],
    ['xrdpLowConnectResponse', 22, 0x1db],
    ['xrdpFipsConnectResponse', 22, 0x1db],
    ['xrdpNoneConnectResponse', 22, 0x3b],
    ['nmapXrdpConnectResponse', 22, 0x1db],
    ['shadowConnectResponse', 34, 0x48],
    ['tlsXrdpConnectResponse', 22, 0x3f],
  ] as const;
  for (const [name, maxChannelIds, userDataLength] of cases) {
    it(`${name}: rt-successful, domain parameters, canonical re-encoding`, () => {
      const { bytes } = FIXTURES[name]();
      const cr = mcs.decodeMcsConnectResponse(bytes);
      assert.equal(cr.result, mcs.MCS_RESULT_RT_SUCCESSFUL);
      assert.equal(mcs.mcsResultName(cr.result), 'rt-successful');
      assert.equal(cr.calledConnectId, 0);
      assert.deepEqual(cr.domainParameters, {
        maxChannelIds,
        maxUserIds: 3,
        maxTokenIds: 0,
        numPriorities: 1,
        minThroughput: 0,
        maxHeight: 1,
        maxMCSPDUsize: 65528,
        protocolVersion: 2,
      });
      assert.equal(cr.userData.length, userDataLength);
      assert.equal(hex(enc(cr, mcs.encodeMcsConnectResponse)), hex(bytes));
    });
  }

  it('names every Result value', () => {
    assert.equal(mcs.MCS_RESULT_NAMES.length, 16);
    assert.equal(mcs.mcsResultName(14), 'rt-unspecified-failure');
    assert.equal(mcs.mcsResultName(1), 'rt-domain-merging');
    assert.equal(mcs.mcsResultName(99), 'unknown (99)');
  });

  it('round-trips a refusal with an empty user data', () => {
    const cr: mcs.McsConnectResponse = {
      result: 8,
      calledConnectId: 0,
      domainParameters: { ...mcs.DOMAIN_PARAMETERS_TARGET },
      userData: new Uint8Array(0),
    };
    const bytes = enc(cr, mcs.encodeMcsConnectResponse);
    assert.equal(hex(bytes).slice(0, 12), '7f66240a0108');
    assert.deepEqual(mcs.decodeMcsConnectResponse(bytes), { ...cr, userData: bytes.subarray(bytes.length) });
    throwsDecode(() => mcs.decodeMcsConnectResponse(Buffer.from(hex(bytes).replace('0a0108', '0a0110'), 'hex')), 'InvalidField', 'result');
  });
});

describe('MCS Disconnect Provider Ultimatum', () => {
  it('decodes the 21 80 xrdp sends to refuse a legacy client as rn-user-requested', () => {
    const { bytes } = FIXTURES.xrdpTlsRefusal();
    assert.equal(hex(bytes), '2180');
    const u = mcs.decodeMcsDisconnectProviderUltimatum(bytes);
    assert.equal(u.reason, mcs.RN_USER_REQUESTED);
    assert.equal(mcs.mcsReasonName(u.reason), 'rn-user-requested');
    assert.deepEqual(mcs.decodeMcsConnectReply(bytes), { kind: 'ultimatum', ultimatum: u });
    assert.equal(hex(enc(u, mcs.encodeMcsDisconnectProviderUltimatum)), '2180');
    assert.equal(hex(FIXTURES.xrdpLowUltimatum().bytes), '2180');
  });

  it('round-trips every reason', () => {
    const expected = ['2000', '2080', '2100', '2180', '2200'];
    mcs.MCS_REASON_NAMES.forEach((name, reason) => {
      const bytes = enc({ reason }, mcs.encodeMcsDisconnectProviderUltimatum);
      assert.equal(hex(bytes), expected[reason], name);
      assert.equal(mcs.decodeMcsDisconnectProviderUltimatum(bytes).reason, reason);
    });
    assert.deepEqual([...mcs.MCS_REASON_NAMES], [
      'rn-domain-disconnected',
      'rn-provider-initiated',
      'rn-token-purged',
      'rn-user-requested',
      'rn-channel-purged',
    ]);
    assert.throws(() => enc({ reason: 5 }, mcs.encodeMcsDisconnectProviderUltimatum), EncodeError);
  });

  it('rejects another DomainMCSPDU, an unknown reason, padding bits and trailing bytes', () => {
    throwsDecode(() => mcs.decodeMcsDisconnectProviderUltimatum(Buffer.from('0400', 'hex')), 'UnexpectedType', 'choice');
    throwsDecode(() => mcs.decodeMcsDisconnectProviderUltimatum(Buffer.from('2280', 'hex')), 'InvalidField', 'reason');
    throwsDecode(() => mcs.decodeMcsDisconnectProviderUltimatum(Buffer.from('2181', 'hex')), 'InvalidField', 'padding');
    throwsDecode(() => mcs.decodeMcsDisconnectProviderUltimatum(Buffer.from('218000', 'hex')), 'TrailingBytes');
  });

  it('tells a Connect-Response from an ultimatum', () => {
    const reply = mcs.decodeMcsConnectReply(FIXTURES.xrdpHighConnectResponse().bytes);
    assert.equal(reply.kind, 'response');
    throwsDecode(() => mcs.decodeMcsConnectReply(new Uint8Array(0)), 'NotEnoughBytes');
  });
});

describe('MCS fuzz', () => {
  it('random bytes only raise DecodeError', () => {
    fuzzRandom(mcs.decodeMcsConnectInitial, Uint8Array.of(0x7f, 0x65));
    fuzzRandom(mcs.decodeMcsConnectResponse, Uint8Array.of(0x7f, 0x66));
    fuzzRandom(mcs.decodeMcsConnectReply);
    fuzzRandom(mcs.decodeMcsDisconnectProviderUltimatum, new Uint8Array(0), 4);
  });
  it('every truncation of every real PDU fails with a DecodeError', () => {
    fuzzTruncations(FIXTURES.rdesktopConnectInitial().bytes, mcs.decodeMcsConnectInitial, true);
    fuzzTruncations(FIXTURES.xfreerdpConnectInitial().bytes, mcs.decodeMcsConnectInitial, true);
    fuzzTruncations(FIXTURES.nmapConnectInitial().bytes, mcs.decodeMcsConnectInitial, true);
    fuzzTruncations(FIXTURES.xrdpHighConnectResponse().bytes, mcs.decodeMcsConnectReply, true);
    fuzzTruncations(FIXTURES.shadowConnectResponse().bytes, mcs.decodeMcsConnectReply, true);
    fuzzTruncations(FIXTURES.xrdpTlsRefusal().bytes, mcs.decodeMcsConnectReply, true);
  });
  it('mutated real PDUs only raise DecodeError', () => {
    fuzzMutations(FIXTURES.rdesktopConnectInitial().bytes, mcs.decodeMcsConnectInitial);
    fuzzMutations(FIXTURES.xrdpHighConnectResponse().bytes, mcs.decodeMcsConnectReply);
  });
});
