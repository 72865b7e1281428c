/**
 * The sans-IO NTLM security contexts (MS-NLMP 3.1, 3.2): NtlmClient and NtlmServer in memory,
 * the client against the real xfreerdp 2.11.7 exchanges (it must reproduce xfreerdp's messages
 * byte for byte from the same randomness), failures, state rules, sealing in both directions,
 * and arbitrary bytes fed to both.
 */
import { describe, it, before } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { ntHash } from '../../src/crypto/md4.js';
import {
  NtlmClient,
  NtlmError,
  NtlmServer,
  SEC_E_UNSUPPORTED_FUNCTION,
  STATUS_BAD_BINDINGS,
  STATUS_LOGON_FAILURE,
  XFREERDP_NEGOTIATE_FLAGS,
  acceptAuthenticate,
  type NtlmClientOptions,
  type NtlmServerOptions,
} from '../../src/crypto/ntlm-context.js';
import { NtlmSealer, channelBindingsHash, checkNtlmV2Response, computeNtlmV2Response, decryptRandomSessionKey, ntowfv2 } from '../../src/crypto/ntlm.js';
import { DecodeError } from '../../src/pdu/errors.js';
import {
  AV_ID,
  NTLMSSP_NEGOTIATE_128,
  NTLMSSP_NEGOTIATE_EXTENDED_SESSIONSECURITY,
  NTLMSSP_NEGOTIATE_UNICODE,
  NTLMSSP_NEGOTIATE_VERSION,
  decodeAuthenticateMessage,
  decodeChallengeMessage,
  decodeNegotiateMessage,
  encodeAuthenticateMessage,
  encodeChallengeMessage,
  encodeNegotiateMessage,
  encodeTargetInfo,
  ntlmFlagNames,
  stringAvPair,
  timestampAvPair,
} from '../../src/pdu/ntlm.js';
import { ALICE, credSspExchange, h } from '../pdu/fixtures-ntlm.js';

const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');
const isNtlm = (kind: string) => (e: unknown): boolean => e instanceof NtlmError && e.kind === kind;

const SERVER: NtlmServerOptions = {
  targetInfo: { nbComputerName: 'RDS01', nbDomainName: 'CORP', dnsComputerName: 'rds01.corp.example', dnsDomainName: 'corp.example', dnsTreeName: 'corp.example' },
  version: { major: 10, minor: 0, build: 20348, ntlmRevision: 15 },
  now: () => 133_500_000_000_000_000n,
};

let aliceHash: Buffer;
let otherHash: Buffer;
before(async () => {
  aliceHash = await ntHash(ALICE.password);
  otherHash = await ntHash('not-the-password');
});

const lookup = (user: string, domain: string): Uint8Array | undefined => (user.toLowerCase() === 'alice' && (domain === '' || domain === 'CORP') ? aliceHash : undefined);

function pair(client: Partial<NtlmClientOptions> = {}, server: Partial<NtlmServerOptions> = {}) {
  const c = new NtlmClient({ credentials: { user: 'alice', domain: 'CORP', ntHash: aliceHash, workstation: 'LAPTOP' }, targetName: 'TERMSRV/rds01.corp.example', ...client });
  const s = new NtlmServer({ ...SERVER, ...server });
  const negotiate = c.negotiate();
  const challenge = s.challenge(negotiate);
  const authenticate = c.authenticate(challenge);
  return { c, s, negotiate, challenge, authenticate };
}

describe('NtlmClient <-> NtlmServer', () => {
  it('the right password: both established, the messages as expected', () => {
    const { c, s, negotiate, challenge, authenticate } = pair();
    assert.equal(decodeNegotiateMessage(negotiate).flags >>> 0, XFREERDP_NEGOTIATE_FLAGS);
    const ch = decodeChallengeMessage(challenge);
    assert.equal(ch.targetName, 'CORP');
    // what the client asked for that we support, never OEM, LM_KEY or DATAGRAM
    assert.deepEqual(ntlmFlagNames(ch.flags), [
      'NTLMSSP_NEGOTIATE_UNICODE',
      'NTLMSSP_REQUEST_TARGET',
      'NTLMSSP_NEGOTIATE_SIGN',
      'NTLMSSP_NEGOTIATE_SEAL',
      'NTLMSSP_NEGOTIATE_NTLM',
      'NTLMSSP_NEGOTIATE_ALWAYS_SIGN',
      'NTLMSSP_TARGET_TYPE_DOMAIN',
      'NTLMSSP_NEGOTIATE_EXTENDED_SESSIONSECURITY',
      'NTLMSSP_NEGOTIATE_TARGET_INFO',
      'NTLMSSP_NEGOTIATE_VERSION',
      'NTLMSSP_NEGOTIATE_128',
      'NTLMSSP_NEGOTIATE_KEY_EXCH',
      'NTLMSSP_NEGOTIATE_56',
    ]);
    assert.equal(decodeAuthenticateMessage(authenticate).flags >>> 0, 0xe288a235, 'the AUTHENTICATE flags xfreerdp sends');
    assert.equal(ch.targetInfo!.dnsTreeName, 'corp.example');
    assert.equal(ch.targetInfo!.timestamp!.filetime, SERVER.now!());
    assert.deepEqual(ch.version, SERVER.version);
    assert.equal(c.challengeMessage!.targetName, 'CORP');
    const a = decodeAuthenticateMessage(authenticate);
    assert.equal(a.micOffset, 72);
    assert.equal(a.ntlmv2!.clientChallenge.avPairs.targetName, 'TERMSRV/rds01.corp.example');
    assert.equal(hex(a.ntlmv2!.clientChallenge.avPairs.channelBindings!), '00'.repeat(16), 'Z(16) without channel bindings');
    assert.equal(c.established, true);
    assert.equal(s.established, false);
    assert.deepEqual(s.authenticate(authenticate, lookup), { ok: true, user: 'alice', domain: 'CORP', workstation: 'LAPTOP' });
    assert.equal(s.established, true);
  });

  it('sealing both ways over several messages, with sequence numbers', () => {
    const { c, s, authenticate } = pair();
    s.authenticate(authenticate, lookup);
    for (let i = 0; i < 5; i++) {
      const up = c.seal(Buffer.from(`client ${i}`));
      assert.equal(up.readUInt32LE(12), i);
      assert.equal(s.unseal(up).toString(), `client ${i}`);
      const down = s.seal(Buffer.from(`server ${i}`.repeat(i)));
      assert.equal(down.readUInt32LE(12), i);
      assert.equal(c.unseal(down).toString(), `server ${i}`.repeat(i));
    }
    // the directions use different keys: a client message does not unseal as a server message
    const mine = c.seal(Buffer.from('x'));
    assert.throws(() => c.unseal(mine), (e: unknown) => e instanceof NtlmError && (e.kind === 'bad-signature' || e.kind === 'bad-sequence'));
  });

  it('a message unsealed out of order fails; the channel survives', () => {
    const { c, s, authenticate } = pair();
    s.authenticate(authenticate, lookup);
    const m0 = c.seal(Buffer.from('zero'));
    const m1 = c.seal(Buffer.from('one'));
    assert.throws(() => s.unseal(m1), isNtlm('bad-sequence'));
    const forged = Buffer.from(m0);
    forged.writeUInt32LE(1, 12); // claim the other sequence number
    assert.throws(() => s.unseal(forged), isNtlm('bad-sequence'));
    const tampered = Buffer.from(m0);
    tampered[17]! ^= 0xff;
    assert.throws(() => s.unseal(tampered), isNtlm('bad-signature'));
    assert.equal(s.unseal(m0).toString(), 'zero');
    assert.equal(s.unseal(m1).toString(), 'one');
    assert.throws(() => s.unseal(m1), isNtlm('bad-sequence'), 'a replay');
  });

  it('a wrong password and an unknown user both fail with STATUS_LOGON_FAILURE', () => {
    const wrong = pair({ credentials: { user: 'alice', domain: 'CORP', ntHash: otherHash } });
    assert.deepEqual(wrong.s.authenticate(wrong.authenticate, lookup), { ok: false, status: STATUS_LOGON_FAILURE, reason: 'wrong password', user: 'alice', domain: 'CORP', workstation: '' });
    assert.equal(wrong.s.established, false);
    assert.throws(() => wrong.s.seal(Buffer.from('x')), isNtlm('wrong-state'));
    const unknown = pair({ credentials: { user: 'mallory', domain: 'CORP', ntHash: aliceHash } });
    const r = unknown.s.authenticate(unknown.authenticate, lookup);
    assert.equal(r.ok, false);
    assert.equal(!r.ok && r.status, STATUS_LOGON_FAILURE);
    assert.equal(!r.ok && r.reason, 'unknown user');
  });

  it('a tampered MIC, NTProofStr or session key fails', () => {
    const { authenticate } = pair();
    const a = decodeAuthenticateMessage(authenticate);
    const ntAt = authenticate.readUInt32LE(12 + 8 + 4);
    const keyAt = authenticate.readUInt32LE(12 + 8 * 5 + 4);
    for (const [at, reason] of [[a.micOffset!, 'the MIC does not verify'], [ntAt, 'wrong password'], [ntAt + 40, 'wrong password'], [keyAt, 'the MIC does not verify']] as const) {
      const { s, authenticate: fresh } = pair({ random: fixedRandom() }, { random: fixedRandom() });
      const bad = Buffer.from(fresh);
      bad[at]! ^= 1;
      assert.deepEqual(s.authenticate(bad, lookup), { ok: false, status: STATUS_LOGON_FAILURE, reason, user: 'alice', domain: 'CORP', workstation: 'LAPTOP' });
    }
  });

  it('a replayed AUTHENTICATE is refused: by the same server (wrong-state) and by a new one (new challenge)', () => {
    const { s, authenticate } = pair();
    assert.equal(s.authenticate(authenticate, lookup).ok, true);
    assert.throws(() => s.authenticate(authenticate, lookup), isNtlm('wrong-state'));
    const other = new NtlmServer(SERVER);
    assert.throws(() => other.authenticate(authenticate, lookup), isNtlm('wrong-state'), 'before any CHALLENGE');
    other.challenge(new NtlmClient({ credentials: { user: 'alice', domain: 'CORP', ntHash: aliceHash } }).negotiate());
    const r = other.authenticate(authenticate, lookup);
    assert.equal(r.ok, false);
    assert.equal(!r.ok && r.status, STATUS_LOGON_FAILURE);
    // and a failed attempt cannot be retried either
    assert.throws(() => other.authenticate(authenticate, lookup), isNtlm('wrong-state'));
  });

  it('channel bindings: matching, mismatching (STATUS_BAD_BINDINGS), absent (accepted)', () => {
    const cbt = channelBindingsHash(Buffer.alloc(32, 7));
    const good = pair({ channelBindings: cbt });
    assert.equal(good.s.authenticate(good.authenticate, lookup, cbt).ok, true);
    const bad = pair({ channelBindings: channelBindingsHash(Buffer.alloc(32, 8)) });
    const r = bad.s.authenticate(bad.authenticate, lookup, cbt);
    assert.equal(!r.ok && r.status, STATUS_BAD_BINDINGS);
    const none = pair();
    assert.equal(none.s.authenticate(none.authenticate, lookup, cbt).ok, true);
  });

  it('NTLMv1 and anonymous responses, and AUTHENTICATE flags below the floor, fail', () => {
    const { s, authenticate } = pair();
    const a = decodeAuthenticateMessage(authenticate);
    const v1 = encodeAuthenticateMessage({ ...a, ntChallengeResponse: Buffer.alloc(24, 1), mic: Buffer.alloc(16) });
    assert.deepEqual(s.authenticate(v1, lookup), { ok: false, status: STATUS_LOGON_FAILURE, reason: 'NTLMv1 response refused: NTLMv2 only', user: 'alice', domain: 'CORP', workstation: 'LAPTOP' });
    const x = pair();
    const anon = encodeAuthenticateMessage({ ...a, userName: '', domainName: '', ntChallengeResponse: new Uint8Array(0), lmChallengeResponse: new Uint8Array(0) });
    assert.equal((x.s.authenticate(anon, lookup) as { reason: string }).reason, 'anonymous authentication is not accepted');
    const y = pair();
    const weak = encodeAuthenticateMessage({ ...decodeAuthenticateMessage(y.authenticate), flags: decodeAuthenticateMessage(y.authenticate).flags & ~NTLMSSP_NEGOTIATE_128 });
    const r = y.s.authenticate(weak, lookup);
    assert.equal(!r.ok && r.status, SEC_E_UNSUPPORTED_FUNCTION);
  });

  it('a client that computed NTOWFv2 with an empty domain is accepted (MS-NLMP 3.2.5.1.2)', () => {
    const s = new NtlmServer(SERVER);
    const challenge = decodeChallengeMessage(s.challenge(encodeNegotiateMessage({ flags: XFREERDP_NEGOTIATE_FLAGS, version: SERVER.version })));
    const r = computeNtlmV2Response({
      responseKeyNT: ntowfv2(aliceHash, 'alice', ''),
      serverChallenge: challenge.serverChallenge,
      clientChallenge: Buffer.alloc(8, 3),
      timestamp: 1n,
      targetInfo: encodeTargetInfo([stringAvPair(AV_ID.MsvAvNbComputerName, 'RDS01')]),
    });
    const auth = encodeAuthenticateMessage({
      flags: NTLMSSP_NEGOTIATE_UNICODE | NTLMSSP_NEGOTIATE_EXTENDED_SESSIONSECURITY | NTLMSSP_NEGOTIATE_128,
      lmChallengeResponse: r.lmChallengeResponse,
      ntChallengeResponse: r.ntChallengeResponse,
      domainName: 'CORP',
      userName: 'alice',
      workstation: '',
      encryptedRandomSessionKey: new Uint8Array(0),
    });
    assert.deepEqual(s.authenticate(auth, lookup), { ok: true, user: 'alice', domain: 'CORP', workstation: '' });
    // without KEY_EXCH the exported session key is the key exchange key, and sealing still works
    const clientSide = new NtlmSealer(r.sessionBaseKey, NTLMSSP_NEGOTIATE_EXTENDED_SESSIONSECURITY | NTLMSSP_NEGOTIATE_128, 'client-to-server');
    assert.equal(s.unseal(clientSide.seal(Buffer.from('hi'))).toString(), 'hi');
  });
});

/** Deterministic randomness: 0x01, 0x02, ... */
function fixedRandom(): (n: number) => Buffer {
  let k = 0;
  return (n) => Buffer.from(Array.from({ length: n }, () => ++k & 0xff));
}

describe('NtlmClient against the real xfreerdp 2.11.7 exchanges', () => {
  for (const name of ['shadow-nla--xfreerdp-ok', 'shadow-negotiate--xfreerdp-default', 'shadow-nla--xfreerdp-badpw']) {
    it(`${name}: same inputs, same NEGOTIATE and AUTHENTICATE, byte for byte`, async () => {
      const x = credSspExchange(name);
      const a = decodeAuthenticateMessage(x.authenticate!);
      const ok = !name.includes('badpw');
      // the randomness xfreerdp drew: its client challenge, and (recovered with the password) its session key
      let sessionKey: Buffer = Buffer.alloc(16);
      if (ok) {
        const sbk = checkNtlmV2Response(ntowfv2(aliceHash, 'alice', ''), decodeChallengeMessage(x.challenge).serverChallenge, a.ntChallengeResponse)!;
        sessionKey = decryptRandomSessionKey(sbk, a.encryptedRandomSessionKey);
      }
      const draws = [Buffer.from(a.ntlmv2!.clientChallenge.challengeFromClient), sessionKey];
      const client = new NtlmClient({
        credentials: { user: 'alice', domain: '', ntHash: aliceHash, workstation: 'vm' },
        targetName: 'TERMSRV/127.0.0.1',
        version: { major: 6, minor: 1, build: 7601, ntlmRevision: 15 },
        random: () => draws.shift()!,
        now: () => assert.fail('the CHALLENGE has a timestamp'),
      });
      assert.equal(hex(client.negotiate()), hex(x.negotiate));
      const mine = client.authenticate(x.challenge);
      if (!ok) {
        // a different password: same layout, different proof
        assert.equal(mine.length, x.authenticate!.length);
        assert.notEqual(hex(mine), hex(x.authenticate!));
        return;
      }
      assert.equal(hex(mine), hex(x.authenticate!));
      const pubKeyAuth = new NtlmSealer(sessionKey, a.flags, 'client-to-server').unseal(x.clientPubKeyAuth!);
      assert.equal(hex(client.seal(pubKeyAuth)), hex(x.clientPubKeyAuth!));
      assert.equal(client.unseal(x.serverPubKeyAuth!).length, 32);
      // and the recorded exchange passes the server-side verification
      assert.equal(acceptAuthenticate({ negotiate: x.negotiate, challenge: x.challenge, authenticate: mine, lookup }).result.ok, true);
    });
  }
});

describe('state rules and hostile input', () => {
  it('client: calls out of order, weak or garbage CHALLENGEs', () => {
    const mk = () => new NtlmClient({ credentials: { user: 'alice', domain: '', ntHash: aliceHash } });
    const c = mk();
    assert.throws(() => c.authenticate(Buffer.alloc(0)), isNtlm('wrong-state'));
    assert.throws(() => c.seal(Buffer.alloc(1)), isNtlm('wrong-state'));
    assert.throws(() => c.unseal(Buffer.alloc(16)), isNtlm('wrong-state'));
    c.negotiate();
    assert.throws(() => c.negotiate(), isNtlm('wrong-state'));
    assert.throws(() => c.authenticate(h('4e544c4d5353500002000000')), isNtlm('bad-message'));
    assert.throws(() => c.authenticate(Buffer.alloc(0)), isNtlm('wrong-state'), 'failed for good');
    const weak = (flags: number) => encodeChallengeMessage({ flags, targetName: 'X', serverChallenge: Buffer.alloc(8), targetInfo: { pairs: [timestampAvPair(1n)] } });
    for (const flags of [NTLMSSP_NEGOTIATE_UNICODE | NTLMSSP_NEGOTIATE_128, NTLMSSP_NEGOTIATE_UNICODE | NTLMSSP_NEGOTIATE_EXTENDED_SESSIONSECURITY, 0x2 | NTLMSSP_NEGOTIATE_EXTENDED_SESSIONSECURITY | NTLMSSP_NEGOTIATE_128]) {
      const d = mk();
      d.negotiate();
      assert.throws(() => d.authenticate(weak(flags)), isNtlm('unsupported'));
    }
    // a TargetInfo that fits a CHALLENGE but not, with our pairs added, an AUTHENTICATE
    const huge = encodeChallengeMessage({
      flags: NTLMSSP_NEGOTIATE_UNICODE | NTLMSSP_NEGOTIATE_EXTENDED_SESSIONSECURITY | NTLMSSP_NEGOTIATE_128,
      targetName: '',
      serverChallenge: Buffer.alloc(8),
      targetInfo: { pairs: [{ id: 0x0b, value: Buffer.alloc(0xffff - 8) }] },
    });
    const e = mk();
    e.negotiate();
    assert.throws(() => e.authenticate(huge), isNtlm('bad-message'));
    assert.throws(() => new NtlmClient({ credentials: { user: 'a', domain: '', ntHash: Buffer.alloc(15) } }), isNtlm('bad-argument'));
    assert.throws(() => new NtlmClient({ credentials: { user: 'a', domain: '', ntHash: aliceHash }, channelBindings: Buffer.alloc(8) }), isNtlm('bad-argument'));
  });

  it('server: a NEGOTIATE without Unicode, garbage, a second CHALLENGE', () => {
    assert.throws(() => new NtlmServer(SERVER).challenge(encodeNegotiateMessage({ flags: 0x2 })), isNtlm('unsupported'));
    assert.throws(() => new NtlmServer(SERVER).challenge(h('00')), isNtlm('bad-message'));
    const s = new NtlmServer(SERVER);
    s.challenge(encodeNegotiateMessage({ flags: NTLMSSP_NEGOTIATE_UNICODE | NTLMSSP_NEGOTIATE_VERSION, version: SERVER.version }));
    assert.throws(() => s.challenge(encodeNegotiateMessage({ flags: 1 })), isNtlm('wrong-state'));
    assert.throws(() => s.authenticate(h('4e544c4d5353500003000000'), lookup), (err: unknown) => isNtlm('bad-message')(err) && (err as Error).cause instanceof DecodeError);
    assert.throws(() => s.authenticate(h('4e544c4d5353500003000000'), lookup), isNtlm('wrong-state'), 'failed for good');
  });

  const onlyTyped = (fn: () => unknown): void => {
    try {
      fn();
    } catch (e) {
      if (e instanceof NtlmError || e instanceof DecodeError) return;
      throw e;
    }
  };

  it('random bytes and mutated messages to both contexts raise only NtlmError or DecodeError', () => {
    const { challenge, authenticate } = pair({ random: fixedRandom() }, { random: fixedRandom() });
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 400 }), fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { minLength: 1, maxLength: 4 }), (junk, edits) => {
        const mutate = (b: Uint8Array) => {
          const m = Uint8Array.from(b);
          for (const [i, v] of edits) m[i % m.length] = v;
          return m;
        };
        for (const input of [junk, mutate(challenge)]) {
          const c = new NtlmClient({ credentials: { user: 'alice', domain: 'CORP', ntHash: aliceHash }, random: fixedRandom() });
          onlyTyped(() => c.negotiate());
          onlyTyped(() => c.authenticate(input));
          onlyTyped(() => c.unseal(junk));
        }
        for (const input of [junk, mutate(authenticate)]) {
          const fresh = pair({ random: fixedRandom() }, { random: fixedRandom() });
          onlyTyped(() => fresh.s.authenticate(input, lookup));
          onlyTyped(() => fresh.s.unseal(junk));
          onlyTyped(() => new NtlmServer(SERVER).challenge(input));
        }
      }),
      { numRuns: 400 },
    );
  });
});
