/**
 * NTLM messages (MS-NLMP 2.2.1): NEGOTIATE, CHALLENGE and AUTHENTICATE encoded and decoded,
 * AV_PAIR lists, NTLMv2_CLIENT_CHALLENGE and VERSION; against the MS-NLMP 4.2.4.3 example, the
 * real messages of every shadow-* capture (FreeRDP 2.11.7 shadow server with xfreerdp 2.11.7,
 * impacket 0.10.0 rdp_check and nmap 7.93), hostile offsets, and fuzzing.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { EncodeError } from '../../src/pdu/errors.js';
import {
  AUTHENTICATE_FIXED,
  AV_ID,
  MSV_AV_FLAGS,
  NTLMSSP_NEGOTIATE_KEY_EXCH,
  NTLMSSP_NEGOTIATE_UNICODE,
  NTLMSSP_NEGOTIATE_VERSION,
  NTLM_AUTHENTICATE,
  NTLM_CHALLENGE,
  NTLM_NEGOTIATE,
  authenticateMicOffset,
  dateToFiletime,
  decodeAuthenticateMessage,
  decodeChallengeMessage,
  decodeNegotiateMessage,
  decodeNtlmV2ClientChallenge,
  decodeTargetInfo,
  decodeVersion,
  encodeAuthenticateMessage,
  encodeChallengeMessage,
  encodeNegotiateMessage,
  encodeNtlmV2ClientChallenge,
  encodeTargetInfo,
  encodeVersion,
  filetimeToDate,
  flagsAvPair,
  ntlmMessageType,
  stringAvPair,
  timestampAvPair,
  withMicZeroed,
  type AuthenticateMessage,
} from '../../src/pdu/ntlm.js';
import { decodesOrDecodeError, fuzzMutations, fuzzRandom, fuzzTruncations, hex, throwsDecode } from './fuzz-helpers.js';
import { AUTH_CAPTURES, NLMP_V2, NLMP_V2_AUTHENTICATE, NLMP_V2_CHALLENGE, NTLM_CAPTURES, credSspExchange, h, u16 } from './fixtures-ntlm.js';

const decoders = { [NTLM_NEGOTIATE]: decodeNegotiateMessage, [NTLM_CHALLENGE]: decodeChallengeMessage, [NTLM_AUTHENTICATE]: decodeAuthenticateMessage };
const reencode = (tok: Uint8Array): Buffer => {
  const type = ntlmMessageType(tok);
  if (type === NTLM_NEGOTIATE) return encodeNegotiateMessage(decodeNegotiateMessage(tok));
  if (type === NTLM_CHALLENGE) return encodeChallengeMessage(decodeChallengeMessage(tok));
  return encodeAuthenticateMessage(decodeAuthenticateMessage(tok));
};

describe('NTLM: the real messages of the captures', () => {
  for (const name of NTLM_CAPTURES) {
    it(`${name}: every NTLM message decodes and re-encodes byte for byte`, () => {
      const x = credSspExchange(name);
      const toks = [x.negotiate, x.challenge, ...(x.authenticate ? [x.authenticate] : [])];
      assert.deepEqual(toks.map(ntlmMessageType), x.authenticate ? [1, 2, 3] : [1, 2]);
      for (const tok of toks) assert.equal(hex(reencode(tok)), hex(tok));
    });
  }

  for (const { name, client } of AUTH_CAPTURES) {
    it(`${name}: the AUTHENTICATE's fields, NTLMv2 response and MIC`, () => {
      const x = credSspExchange(name);
      const c = decodeChallengeMessage(x.challenge);
      const a = decodeAuthenticateMessage(x.authenticate!);
      assert.equal(a.userName, 'alice');
      assert.equal(a.domainName, '');
      assert.equal(a.encryptedRandomSessionKey.length, 16);
      assert.ok(a.flags & NTLMSSP_NEGOTIATE_KEY_EXCH);
      const cc = a.ntlmv2!.clientChallenge;
      assert.equal(a.ntlmv2!.ntProofStr.length, 16);
      assert.equal(cc.timestamp, c.targetInfo!.timestamp!.filetime, 'the client echoes the server time');
      const echoed = ['MsvAvNbDomainName', 'MsvAvNbComputerName', 'MsvAvDnsDomainName', 'MsvAvDnsComputerName', 'MsvAvTimestamp'];
      assert.deepEqual(c.targetInfo!.pairs.map((p) => p.name), echoed);
      if (client === 'xfreerdp') {
        // xfreerdp 2.11: MsvAvFlags = MIC present, zero channel bindings, the SPN, and 8 bytes of padding before Z(4)
        assert.equal(a.workstation, 'vm');
        assert.equal(a.flags >>> 0, 0xe288a235);
        assert.equal(a.micOffset, 72);
        assert.equal(hex(a.mic!), hex(x.authenticate!.subarray(72, 88)));
        assert.deepEqual(cc.avPairs.pairs.map((p) => p.name), [...echoed, 'MsvAvFlags', 'MsvAvChannelBindings', 'MsvAvTargetName']);
        assert.equal(cc.avPairs.flags, MSV_AV_FLAGS.MIC_PRESENT);
        assert.equal(hex(cc.avPairs.channelBindings!), '00'.repeat(16));
        assert.equal(cc.avPairs.targetName, 'TERMSRV/127.0.0.1');
        assert.equal(hex(cc.trailing), '00'.repeat(12));
        assert.equal(hex(a.lmChallengeResponse), '00'.repeat(24), 'Z(24) when the server sent a timestamp');
        const zeroed = withMicZeroed(x.authenticate!, a.micOffset!);
        assert.equal(hex(zeroed.subarray(72, 88)), '00'.repeat(16));
        assert.equal(hex(zeroed.subarray(88)), hex(x.authenticate!.subarray(88)));
      } else {
        // impacket 0.10: no Version, so no MIC; LMv2 whatever the timestamp; SPN cifs/VM
        assert.equal(a.workstation, '');
        assert.equal(a.version, undefined);
        assert.equal(a.mic, undefined);
        assert.equal(a.micOffset, undefined);
        assert.deepEqual(cc.avPairs.pairs.map((p) => p.name), [...echoed, 'MsvAvTargetName']);
        assert.equal(cc.avPairs.targetName, 'cifs/VM');
        assert.equal(hex(cc.trailing), '00000000');
        assert.equal(hex(a.lmChallengeResponse.subarray(16)), hex(cc.challengeFromClient), 'LMv2 ends with the client challenge');
      }
    });
  }
});

describe('NTLM: the MS-NLMP 4.2.4.3 example', () => {
  it('CHALLENGE_MESSAGE decodes and re-encodes byte for byte', () => {
    const c = decodeChallengeMessage(NLMP_V2_CHALLENGE);
    assert.equal(c.flags >>> 0, NLMP_V2.challengeFlags);
    assert.equal(c.targetName, 'Server');
    assert.equal(hex(c.serverChallenge), hex(NLMP_V2.serverChallenge));
    assert.deepEqual(c.version, { major: 6, minor: 0, build: 6000, ntlmRevision: 15 });
    assert.equal(c.targetInfo!.nbDomainName, 'Domain');
    assert.equal(c.targetInfo!.nbComputerName, 'Server');
    assert.equal(hex(encodeTargetInfo(c.targetInfo!.pairs)), hex(NLMP_V2.targetInfo));
    assert.equal(hex(encodeChallengeMessage(c)), hex(NLMP_V2_CHALLENGE));
  });

  it('AUTHENTICATE_MESSAGE decodes and re-encodes byte for byte', () => {
    const a = decodeAuthenticateMessage(NLMP_V2_AUTHENTICATE);
    assert.equal(a.flags >>> 0, 0xe2888235);
    assert.deepEqual([a.domainName, a.userName, a.workstation], ['Domain', 'User', 'COMPUTER']);
    assert.deepEqual(a.version, { major: 5, minor: 1, build: 2600, ntlmRevision: 15 });
    assert.equal(hex(a.lmChallengeResponse), NLMP_V2.lmv2Response);
    assert.equal(hex(a.ntlmv2!.ntProofStr), NLMP_V2.ntProofStr);
    assert.equal(hex(a.encryptedRandomSessionKey), NLMP_V2.encryptedSessionKey);
    assert.equal(a.mic, undefined, 'no MsvAvFlags, no MIC');
    const cc = a.ntlmv2!.clientChallenge;
    assert.equal(cc.timestamp, 0n);
    assert.equal(hex(cc.challengeFromClient), hex(NLMP_V2.clientChallenge));
    assert.equal(hex(encodeTargetInfo(cc.avPairs.pairs)), hex(NLMP_V2.targetInfo));
    assert.equal(hex(encodeAuthenticateMessage(a)), hex(NLMP_V2_AUTHENTICATE));
  });
});

describe('NTLM: synthetic round trips', () => {
  const version = { major: 10, minor: 0, build: 19041, ntlmRevision: 15 };

  it('VERSION encodes to 8 bytes and back', () => {
    assert.equal(hex(encodeVersion(version)), '0a0061' + '4a' + '0000000f');
    assert.deepEqual(decodeVersion(encodeVersion(version)), version);
    throwsDecode(() => decodeVersion(h('0a006149000000')), 'NotEnoughBytes');
    throwsDecode(() => decodeVersion(h('0a0061490000000f00')), 'TrailingBytes');
    assert.throws(() => encodeVersion({ ...version, minor: 256 }), EncodeError);
  });

  it('CHALLENGE_MESSAGE with and without a Version, Unicode and OEM names', () => {
    const info = { pairs: [stringAvPair(AV_ID.MsvAvNbComputerName, 'SRV'), timestampAvPair(dateToFiletime(0))] };
    for (const flags of [NTLMSSP_NEGOTIATE_UNICODE | 0x00800000, NTLMSSP_NEGOTIATE_UNICODE | NTLMSSP_NEGOTIATE_VERSION, 0x2]) {
      const v = { flags, targetName: 'CORP', serverChallenge: h('0102030405060708'), targetInfo: info, ...(flags & NTLMSSP_NEGOTIATE_VERSION ? { version } : {}) };
      const bytes = encodeChallengeMessage(v);
      const c = decodeChallengeMessage(bytes);
      assert.equal(c.targetName, 'CORP');
      assert.equal(c.targetInfo!.nbComputerName, 'SRV');
      assert.equal(c.targetInfo!.timestamp!.date.getTime(), 0);
      assert.equal(hex(encodeChallengeMessage(c)), hex(bytes));
    }
    const empty = decodeChallengeMessage(encodeChallengeMessage({ flags: 1, targetName: '', serverChallenge: Buffer.alloc(8) }));
    assert.deepEqual(empty, { flags: 1, targetName: '', serverChallenge: new Uint8Array(8) });
    assert.throws(() => encodeChallengeMessage({ flags: 1, targetName: '', serverChallenge: Buffer.alloc(7) }), EncodeError);
    assert.throws(() => encodeChallengeMessage({ flags: NTLMSSP_NEGOTIATE_VERSION, targetName: '', serverChallenge: Buffer.alloc(8) }), EncodeError);
    assert.throws(() => encodeChallengeMessage({ flags: 2, targetName: 'Ω', serverChallenge: Buffer.alloc(8) }), EncodeError);
  });

  const ntResponse = (avFlags?: number): Buffer =>
    Buffer.concat([
      Buffer.alloc(16, 0x11),
      encodeNtlmV2ClientChallenge({
        timestamp: 1n,
        challengeFromClient: Buffer.alloc(8, 0xcc),
        avPairs: encodeTargetInfo(avFlags === undefined ? [] : [flagsAvPair(avFlags)]),
      }),
    ]);

  it('AUTHENTICATE_MESSAGE: fields, MIC offset, OEM strings', () => {
    const base: AuthenticateMessage = {
      flags: NTLMSSP_NEGOTIATE_UNICODE | NTLMSSP_NEGOTIATE_VERSION | NTLMSSP_NEGOTIATE_KEY_EXCH,
      lmChallengeResponse: Buffer.alloc(24),
      ntChallengeResponse: ntResponse(MSV_AV_FLAGS.MIC_PRESENT),
      domainName: 'CORP',
      userName: 'Jürgen',
      workstation: 'WS1',
      encryptedRandomSessionKey: Buffer.alloc(16, 0xee),
      version,
      mic: Buffer.alloc(16, 0x4d),
    };
    const bytes = encodeAuthenticateMessage(base);
    const a = decodeAuthenticateMessage(bytes);
    assert.equal(a.micOffset, 72);
    assert.equal(authenticateMicOffset(base.flags), 72);
    assert.equal(bytes.readUInt32LE(AUTHENTICATE_FIXED - 4), base.flags);
    assert.equal(hex(a.mic!), '4d'.repeat(16));
    assert.equal(a.userName, 'Jürgen');
    assert.equal(a.ntlmv2!.clientChallenge.avPairs.flags, MSV_AV_FLAGS.MIC_PRESENT);
    assert.equal(hex(encodeAuthenticateMessage(a)), hex(bytes));
    // the payload starts right after the MIC
    assert.equal(bytes.readUInt32LE(12 + 8 * 2 + 4), 88);

    // OEM, no Version, no MIC: the payload starts at 64
    const oemMsg = { ...base, flags: 0x2, version: undefined, mic: undefined, ntChallengeResponse: ntResponse(), userName: 'bob', encryptedRandomSessionKey: new Uint8Array(0) };
    delete oemMsg.version;
    delete oemMsg.mic;
    const ob = encodeAuthenticateMessage(oemMsg);
    const o = decodeAuthenticateMessage(ob);
    assert.equal(o.userName, 'bob');
    assert.equal(o.micOffset, undefined);
    assert.equal(authenticateMicOffset(0x2), 64);
    assert.equal(ob.readUInt32LE(12 + 8 * 2 + 4), 64);
    assert.equal(hex(encodeAuthenticateMessage(o)), hex(ob));

    // NTLMv1 (24 bytes) and anonymous (empty) responses are not parsed as NTLMv2
    const v1 = decodeAuthenticateMessage(encodeAuthenticateMessage({ ...oemMsg, ntChallengeResponse: Buffer.alloc(24, 1) }));
    assert.equal(v1.ntlmv2, undefined);
    const anon = decodeAuthenticateMessage(encodeAuthenticateMessage({ ...oemMsg, userName: '', ntChallengeResponse: new Uint8Array(0), lmChallengeResponse: new Uint8Array(0) }));
    assert.equal(anon.ntlmv2, undefined);

    assert.throws(() => encodeAuthenticateMessage({ ...base, mic: Buffer.alloc(15) }), EncodeError);
    assert.throws(() => encodeAuthenticateMessage({ ...base, version: undefined as never }), EncodeError);
    assert.throws(() => encodeAuthenticateMessage({ ...base, encryptedRandomSessionKey: Buffer.alloc(0x10000) }), EncodeError);
    assert.throws(() => withMicZeroed(bytes, bytes.length - 8), RangeError);
  });

  it('AUTHENTICATE_MESSAGE: random messages round-trip', () => {
    const str = fc.string({ maxLength: 12 });
    fc.assert(
      fc.property(
        fc.record({
          unicode: fc.boolean(),
          withVersion: fc.boolean(),
          mic: fc.boolean(),
          lm: fc.uint8Array({ maxLength: 24 }),
          key: fc.uint8Array({ maxLength: 16 }),
          domainName: str,
          userName: str,
          workstation: str,
        }),
        (r) => {
          const latin1 = (s: string) => (r.unicode ? s : s.replace(/[^\x00-\xff]/g, '?'));
          const flags = (r.unicode ? NTLMSSP_NEGOTIATE_UNICODE : 0x2) | (r.withVersion ? NTLMSSP_NEGOTIATE_VERSION : 0);
          const m: AuthenticateMessage = {
            flags,
            lmChallengeResponse: r.lm,
            ntChallengeResponse: ntResponse(r.mic ? MSV_AV_FLAGS.MIC_PRESENT : 0),
            domainName: latin1(r.domainName),
            userName: latin1(r.userName),
            workstation: latin1(r.workstation),
            encryptedRandomSessionKey: r.key,
          };
          if (r.withVersion) m.version = version;
          if (r.mic) m.mic = Buffer.alloc(16, 7);
          const bytes = encodeAuthenticateMessage(m);
          const d = decodeAuthenticateMessage(bytes);
          assert.equal(d.userName, m.userName);
          assert.equal(d.domainName, m.domainName);
          assert.equal(d.workstation, m.workstation);
          assert.equal(hex(d.lmChallengeResponse), hex(m.lmChallengeResponse));
          assert.equal(d.micOffset, r.mic ? authenticateMicOffset(flags) : undefined);
          assert.equal(hex(encodeAuthenticateMessage(d)), hex(bytes));
        },
      ),
      { numRuns: 300 },
    );
  });

  it('AV_PAIR lists: encodeTargetInfo and its rules', () => {
    const pairs = [stringAvPair(AV_ID.MsvAvDnsTreeName, 'corp.example'), flagsAvPair(2), { id: 0x0b, value: h('beef') }];
    const bytes = encodeTargetInfo(pairs);
    const d = decodeTargetInfo(bytes);
    assert.equal(d.dnsTreeName, 'corp.example');
    assert.equal(d.flags, 2);
    assert.equal(hex(encodeTargetInfo(d.pairs)), hex(bytes));
    assert.equal(hex(encodeTargetInfo([])), '00000000');
    assert.throws(() => encodeTargetInfo([{ id: AV_ID.MsvAvEOL, value: new Uint8Array(0) }]), EncodeError);
    assert.throws(() => encodeTargetInfo([{ id: AV_ID.MsvAvTimestamp, value: h('00') }]), EncodeError);
    assert.throws(() => encodeTargetInfo([{ id: AV_ID.MsvAvChannelBindings, value: Buffer.alloc(15) }]), EncodeError);
    assert.throws(() => encodeTargetInfo([{ id: 1, value: Buffer.alloc(0x10000) }]), EncodeError);
    assert.equal(filetimeToDate(dateToFiletime(new Date('2024-05-01T12:00:00.123Z'))).toISOString(), '2024-05-01T12:00:00.123Z');
  });

  it('NTLMv2_CLIENT_CHALLENGE: encode, decode, and its errors', () => {
    const avPairs = encodeTargetInfo([stringAvPair(AV_ID.MsvAvNbComputerName, 'SRV')]);
    const bytes = encodeNtlmV2ClientChallenge({ timestamp: 0x01d0_0000_0000_0000n, challengeFromClient: h('0102030405060708'), avPairs, trailing: Buffer.alloc(12) });
    const c = decodeNtlmV2ClientChallenge(bytes);
    assert.equal(c.timestamp, 0x01d0_0000_0000_0000n);
    assert.equal(c.avPairs.nbComputerName, 'SRV');
    assert.equal(c.trailing.length, 12);
    assert.equal(hex(encodeNtlmV2ClientChallenge({ ...c, avPairs })), hex(bytes));
    throwsDecode(() => decodeNtlmV2ClientChallenge(Buffer.concat([h('02'), bytes.subarray(1)])), 'UnsupportedValue', 'RespType');
    throwsDecode(() => decodeNtlmV2ClientChallenge(bytes.subarray(0, 20)), 'NotEnoughBytes', 'ChallengeFromClient');
    throwsDecode(() => decodeNtlmV2ClientChallenge(bytes.subarray(0, 28)), 'InvalidField', 'AvId');
    assert.throws(() => encodeNtlmV2ClientChallenge({ timestamp: 0n, challengeFromClient: Buffer.alloc(7), avPairs }), EncodeError);
  });
});

describe('NTLM: offsets and lengths outside the message', () => {
  const auth = credSspExchange('shadow-nla--xfreerdp-ok').authenticate!;
  const mutate = (f: (b: Buffer) => void): Buffer => {
    const b = Buffer.from(auth);
    f(b);
    return b;
  };
  const fields = ['LmChallengeResponse', 'NtChallengeResponse', 'DomainName', 'UserName', 'Workstation', 'EncryptedRandomSessionKey'];

  it('every fields entry: an offset past the end, a length past the end, an offset into the header', () => {
    fields.forEach((field, i) => {
      const at = 12 + 8 * i;
      if (auth.readUInt16LE(at) === 0) return; // DomainName is empty: any offset goes
      throwsDecode(() => decodeAuthenticateMessage(mutate((b) => b.writeUInt32LE(0xffffffff, at + 4))), 'NotEnoughBytes', field);
      throwsDecode(() => decodeAuthenticateMessage(mutate((b) => b.writeUInt16LE(0xffff, at))), 'NotEnoughBytes', field);
      throwsDecode(() => decodeAuthenticateMessage(mutate((b) => b.writeUInt32LE(12, at + 4))), 'InvalidField', `${field}BufferOffset`);
      // inside the Version, or inside the MIC (checked once the NTLMv2 response says there is one)
      throwsDecode(() => decodeAuthenticateMessage(mutate((b) => b.writeUInt32LE(70, at + 4))), 'InvalidField', `${field}BufferOffset`);
      if (field !== 'NtChallengeResponse') {
        throwsDecode(() => decodeAuthenticateMessage(mutate((b) => b.writeUInt32LE(80, at + 4))), 'InvalidField', `${field}BufferOffset`);
      }
    });
    const e = throwsDecode(() => decodeAuthenticateMessage(mutate((b) => b.writeUInt32LE(0xfffffff0, 12 + 8 * 5 + 4))), 'NotEnoughBytes');
    assert.equal(e.root().offset, 12 + 8 * 5 + 4);
    // an empty field may point anywhere
    decodeAuthenticateMessage(mutate((b) => b.writeUInt32LE(0xffffffff, 12 + 8 * 2 + 4)));
  });

  it('a bad NTLMv2 response, odd UTF-16, a short or foreign message', () => {
    const ntAt = auth.readUInt32LE(12 + 8 + 4);
    throwsDecode(() => decodeAuthenticateMessage(mutate((b) => (b[ntAt + 16] = 2))), 'UnsupportedValue', 'RespType');
    const wrapped = throwsDecode(() => decodeAuthenticateMessage(mutate((b) => b.writeUInt16LE(30, 12 + 8))), 'NotEnoughBytes');
    assert.equal(wrapped.field, 'NtChallengeResponse');
    assert.equal(wrapped.root().pdu, 'NTLMv2_CLIENT_CHALLENGE');
    throwsDecode(() => decodeAuthenticateMessage(mutate((b) => b.writeUInt16LE(9, 12 + 8 * 3))), 'InvalidField', 'UserName');
    throwsDecode(() => decodeAuthenticateMessage(auth.subarray(0, 63)), 'NotEnoughBytes');
    throwsDecode(() => decodeAuthenticateMessage(mutate((b) => b.writeUInt32LE(2, 8))), 'UnexpectedType', 'MessageType');
    throwsDecode(() => decodeAuthenticateMessage(mutate((b) => (b[3] = 0))), 'InvalidField', 'Signature');
  });

  it('MsvAvFlags announce a MIC that the layout has no room for', () => {
    // impacket's message (no Version: the MIC would be at 64, where the payload starts) with MIC_PRESENT
    const imp = decodeAuthenticateMessage(credSspExchange('shadow-nla--impacket-rdp_check-ok').authenticate!);
    const cc = imp.ntlmv2!.clientChallenge;
    const nt = Buffer.concat([
      imp.ntlmv2!.ntProofStr,
      encodeNtlmV2ClientChallenge({ ...cc, avPairs: encodeTargetInfo([...cc.avPairs.pairs, flagsAvPair(MSV_AV_FLAGS.MIC_PRESENT)]) }),
    ]);
    const bytes = encodeAuthenticateMessage({ ...imp, ntChallengeResponse: nt });
    throwsDecode(() => decodeAuthenticateMessage(bytes), 'InvalidField', 'LmChallengeResponseBufferOffset');
  });
});

describe('NTLM: fuzzing', () => {
  const x = credSspExchange('shadow-nla--xfreerdp-ok');
  const imp = credSspExchange('shadow-nla--impacket-rdp_check-ok');

  it('decodeAuthenticateMessage: random, truncated and mutated (xfreerdp, impacket, MS-NLMP)', () => {
    fuzzRandom(decodeAuthenticateMessage, h('4e544c4d53535000 03000000'));
    fuzzRandom(decodeAuthenticateMessage, x.authenticate!.subarray(0, 88));
    for (const tok of [x.authenticate!, imp.authenticate!, NLMP_V2_AUTHENTICATE]) {
      fuzzTruncations(tok, decodeAuthenticateMessage, true);
      fuzzMutations(tok, decodeAuthenticateMessage);
    }
  });

  it('decodeNtlmV2ClientChallenge: random and mutated', () => {
    fuzzRandom(decodeNtlmV2ClientChallenge, h('0101'));
    const nt = decodeAuthenticateMessage(x.authenticate!).ntChallengeResponse.subarray(16);
    fuzzMutations(nt, decodeNtlmV2ClientChallenge);
    fuzzTruncations(nt, decodeNtlmV2ClientChallenge, false);
  });

  it('whatever decodes re-encodes to something that decodes the same (CHALLENGE, AUTHENTICATE)', () => {
    for (const tok of [x.challenge, x.authenticate!, imp.authenticate!, NLMP_V2_CHALLENGE]) {
      const decode = decoders[ntlmMessageType(tok) as 2 | 3];
      fc.assert(
        fc.property(fc.array(fc.tuple(fc.nat({ max: tok.length - 1 }), fc.integer({ min: 0, max: 255 })), { minLength: 1, maxLength: 3 }), (edits) => {
          const b = Uint8Array.from(tok);
          for (const [i, v] of edits) b[i] = v;
          let once: unknown;
          if (!decodesOrDecodeError(() => (once = decode(b)))) return;
          const again = reencode(b);
          assert.deepEqual(decode(again), once);
        }),
        { numRuns: 1000 },
      );
    }
  });
});
