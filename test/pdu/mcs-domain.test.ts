import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { EncodeError } from '../../src/pdu/errors.js';
import * as md from '../../src/pdu/mcs-domain.js';
import { decodeX224Data } from '../../src/pdu/x224.js';
import { CLEAR_SESSIONS, sessionFrames, walkSession } from './fixtures-session.js';
import { enc, fuzzMutations, fuzzRandom, fuzzTruncations, hex, throwsDecode } from './fuzz-helpers.js';

const b = (h: string): Buffer => Buffer.from(h.replace(/\s/g, ''), 'hex');

/** The MCS payloads of every TPKT frame after the Connect-Initial / Connect-Response. */
function domainPayloads(capture: string, layer: 'tcp' | 'tls'): { dir: string; bytes: Uint8Array }[] {
  return sessionFrames(capture, layer)
    .filter((f) => f.bytes[0] === 0x03)
    .map((f) => ({ dir: f.dir, bytes: decodeX224Data(f.bytes) }))
    .filter((p) => p.bytes[0] !== 0x7f);
}

function joins(capture: string, layer: 'tcp' | 'tls'): number[] {
  return walkSession(capture, layer)
    .filter((s) => s.mcs?.kind === 'channelJoinRequest')
    .map((s) => (s.mcs!.value as md.ChannelJoinRequest).channelId);
}

describe('MCS domain PDUs of real connection sequences', () => {
  it('xrdp: Erect Domain, Attach User (user 1008), joins of 1008, 1003 and four virtual channels', () => {
    const steps = walkSession('xrdp-rdp-none--xfreerdp-sec-rdp');
    assert.deepEqual(steps[2]!.mcs, { kind: 'erectDomainRequest', value: { subHeight: 0, subInterval: 0 } });
    assert.equal(hex(steps[2]!.frame.subarray(7)), '0401000100');
    assert.deepEqual(steps[3]!.mcs, { kind: 'attachUserRequest', value: {} });
    assert.deepEqual(steps[4]!.mcs, { kind: 'attachUserConfirm', value: { result: 0, initiator: 1008 } });
    assert.equal(hex(steps[4]!.frame.subarray(7)), '2e000007');
    assert.deepEqual(joins('xrdp-rdp-none--xfreerdp-sec-rdp', 'tcp'), [1008, 1003, 1004, 1005, 1006, 1007]);
    const confirms = steps.filter((s) => s.mcs?.kind === 'channelJoinConfirm').map((s) => s.mcs!.value);
    assert.deepEqual(confirms[1], { result: 0, initiator: 1008, requested: 1003, channelId: 1003 });
  });

  it('FreeRDP shadow: user 1009, joins 1009, 1003, the message channel 1008, then 1004-1007', () => {
    assert.deepEqual(joins('shadow-rdp--xfreerdp-sec-rdp', 'tcp'), [1009, 1003, 1008, 1004, 1005, 1006, 1007]);
    assert.deepEqual(joins('shadow-nla--xfreerdp-ok', 'tls'), [1009, 1003, 1008, 1004, 1005, 1006, 1007]);
  });

  it('every domain PDU of every clear or TLS-decrypted session re-encodes byte for byte', () => {
    for (const { capture, layer } of CLEAR_SESSIONS) {
      for (const p of domainPayloads(capture, layer)) {
        const pdu = md.decodeDomainPdu(p.bytes);
        assert.equal(hex(enc(pdu, md.encodeDomainPdu)), hex(p.bytes), `${capture} ${p.dir} ${pdu.kind}`);
      }
    }
  });

  it('Send Data lengths: FreeRDP writes the long form (80 16), xrdp the short one (14); both round-trip', () => {
    const steps = walkSession('xrdp-rdp-none--xfreerdp-sec-rdp');
    const sync = steps.find((s) => s.dir === 'c2s' && s.label.endsWith('SYNCHRONIZE'))!;
    const c2s = sync.mcs!.value as md.SendData;
    assert.deepEqual({ ...c2s, userData: undefined }, { initiator: 1008, channelId: 1003, dataPriority: md.DATA_PRIORITY_HIGH, segmentation: 3, userData: undefined, longLength: true });
    assert.ok(hex(sync.frame).includes('70801616'));
    const alert = steps.find((s) => s.label === 'License ERROR_ALERT')!;
    const s2c = alert.mcs!.value as md.SendData;
    assert.equal(s2c.longLength, undefined);
    assert.equal(hex(alert.frame.subarray(7, 15)), '68000703eb701480');
    // without the flag the encoder writes the canonical form
    const canonical = enc({ kind: 'sendDataRequest', value: { ...c2s, longLength: false } } as md.DomainPdu, md.encodeDomainPdu);
    assert.equal(hex(canonical.subarray(0, 8)), '64000703eb701616');
    assert.deepEqual(md.decodeSendDataRequest(canonical).userData, c2s.userData);
  });

  it('rdesktop writes the Erect Domain values as plain 16-bit numbers: accepted, tagged, re-encoded', () => {
    const p = domainPayloads('xrdp-rdp-high--rdesktop', 'tcp')[0]!;
    assert.equal(hex(p.bytes), '0400010001');
    const edrq = md.decodeErectDomainRequest(p.bytes);
    assert.deepEqual(edrq, { subHeight: 1, subInterval: 1, form: 'u16' });
    assert.equal(hex(enc(edrq, md.encodeErectDomainRequest)), '0400010001');
    assert.equal(hex(enc({ subHeight: 1, subInterval: 1 }, md.encodeErectDomainRequest)), '0401010101');
    // the rest of rdesktop's domain PDUs are ordinary
    for (const q of domainPayloads('xrdp-rdp-high--rdesktop', 'tcp')) assert.equal(hex(enc(md.decodeDomainPdu(q.bytes), md.encodeDomainPdu)), hex(q.bytes));
  });
});

describe('MCS domain PDUs: forms and refusals', () => {
  it('Attach User Confirm without initiator (a refusal) and Channel Join Confirm without channelId', () => {
    const refused: md.AttachUserConfirm = { result: 13 };
    assert.equal(hex(enc(refused, md.encodeAttachUserConfirm)), '2c0d');
    assert.deepEqual(md.decodeAttachUserConfirm(b('2c0d')), refused);
    const cj: md.ChannelJoinConfirm = { result: 3, initiator: 1008, requested: 1010 };
    assert.equal(hex(enc(cj, md.encodeChannelJoinConfirm)), '3c03000703f2');
    assert.deepEqual(md.decodeDomainPdu(b('3c03000703f2')), { kind: 'channelJoinConfirm', value: cj });
  });

  it('builds a Send Data Request with the usual 0x70 priority octet', () => {
    const v = md.sendData(1008, md.MCS_GLOBAL_CHANNEL_ID, b('0102'));
    assert.equal(hex(enc(v, md.encodeSendDataRequest)), '64000703eb70020102');
    assert.equal(hex(enc(v, md.encodeSendDataIndication)), '68000703eb70020102');
    const big = md.sendData(1008, 1003, new Uint8Array(200));
    assert.equal(hex(enc(big, md.encodeSendDataRequest).subarray(0, 8)), '64000703eb7080c8');
  });

  it('dispatches the Disconnect Provider Ultimatum to mcs.ts', () => {
    assert.deepEqual(md.decodeDomainPdu(b('2180')), { kind: 'disconnectProviderUltimatum', value: { reason: 3 } });
    assert.equal(hex(enc({ kind: 'disconnectProviderUltimatum', value: { reason: 3 } } as md.DomainPdu, md.encodeDomainPdu)), '2180');
  });

  it('names an unsupported alternative, and rejects bad bits, lengths and trailing bytes', () => {
    const e = throwsDecode(() => md.decodeDomainPdu(b('30')), 'UnsupportedValue', 'choice');
    assert.match(e.message, /detachUserRequest \(12\)/);
    throwsDecode(() => md.decodeDomainPdu(new Uint8Array(0)), 'NotEnoughBytes');
    throwsDecode(() => md.decodeAttachUserRequest(b('29')), 'InvalidField', 'choice');
    throwsDecode(() => md.decodeAttachUserRequest(b('2800')), 'TrailingBytes');
    throwsDecode(() => md.decodeChannelJoinRequest(b('2800')), 'UnexpectedType', 'choice');
    throwsDecode(() => md.decodeAttachUserConfirm(b('2f000007')), 'InvalidField', 'choice');
    throwsDecode(() => md.decodeAttachUserConfirm(b('2e100007')), 'InvalidField', 'result');
    throwsDecode(() => md.decodeSendDataRequest(b('64000703eb71020102')), 'InvalidField', 'dataPriority');
    throwsDecode(() => md.decodeSendDataRequest(b('64000703eb7003010203ff')), 'InvalidField', 'userData');
    throwsDecode(() => md.decodeSendDataRequest(b('64000703eb70030102')), 'InvalidField', 'userData');
    throwsDecode(() => md.decodeSendDataIndication(b('64000703eb70020102')), 'UnexpectedType', 'choice');
    throwsDecode(() => md.decodeErectDomainRequest(b('040100010000')), 'TrailingBytes');
    throwsDecode(() => md.decodeSendDataRequest(b('64000703eb70c0')), 'UnsupportedValue', 'userData');
  });

  it('reads from a cursor without requiring the end', async () => {
    const { ReadCursor } = await import('../../src/pdu/cursor.js');
    const r = new ReadCursor(b('38000703eb 64000703eb7000'));
    assert.deepEqual(md.decodeChannelJoinRequest(r), { initiator: 1008, channelId: 1003 });
    assert.deepEqual(md.decodeSendDataRequest(r).userData.length, 0);
    assert.equal(r.remaining, 0);
  });

  it('refuses values that do not fit', () => {
    assert.throws(() => enc({ initiator: 1000, channelId: 1003 }, md.encodeChannelJoinRequest), EncodeError);
    assert.throws(() => enc({ ...md.sendData(1008, 1003, new Uint8Array(0)), dataPriority: 4 }, md.encodeSendDataRequest), EncodeError);
    assert.throws(() => enc({ ...md.sendData(1008, 1003, new Uint8Array(0)), segmentation: 4 }, md.encodeSendDataRequest), EncodeError);
    assert.throws(() => enc(md.sendData(1008, 1003, new Uint8Array(0x4000)), md.encodeSendDataRequest), EncodeError);
    assert.throws(() => enc({ result: 16, initiator: 1008 }, md.encodeAttachUserConfirm), EncodeError);
    assert.throws(() => enc({ subHeight: 0x10000, subInterval: 0, form: 'u16' as const }, md.encodeErectDomainRequest), EncodeError);
  });

  it('names the DomainMCSPDU alternatives by index', () => {
    assert.equal(md.DOMAIN_MCSPDU_NAMES.length, 43);
    assert.equal(md.domainMcsPduName(md.DOMAIN_MCSPDU_SEND_DATA_INDICATION), 'sendDataIndication');
    assert.equal(md.domainMcsPduName(8), 'disconnectProviderUltimatum');
    assert.equal(md.domainMcsPduName(63), 'unknown (63)');
  });
});

describe('MCS domain fuzz', () => {
  const real = domainPayloads('xrdp-rdp-none--xfreerdp-sec-rdp', 'tcp');
  it('random bytes only raise DecodeError', () => {
    fuzzRandom(md.decodeDomainPdu);
    for (const first of [0x04, 0x28, 0x2e, 0x38, 0x3e, 0x64, 0x68]) fuzzRandom(md.decodeDomainPdu, Uint8Array.of(first), 40);
  });
  it('every truncation of every real domain PDU fails with a DecodeError', () => {
    for (const p of real) fuzzTruncations(p.bytes, md.decodeDomainPdu, true);
    // rdesktop's 16-bit Erect Domain: some prefixes happen to be valid PER
    fuzzTruncations(b('0400010001'), md.decodeDomainPdu, false);
  });
  it('mutated real domain PDUs only raise DecodeError', () => {
    for (const p of real.slice(0, 8)) fuzzMutations(p.bytes, md.decodeDomainPdu);
    fuzzMutations(real.find((p) => p.bytes.length > 300)!.bytes, md.decodeDomainPdu);
  });
});
