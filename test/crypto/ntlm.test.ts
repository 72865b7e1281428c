/**
 * NTLMv2 cryptography (MS-NLMP 3.3.2, 3.4): MD4/NT hash, NTOWFv2, the responses, key exchange,
 * the MIC, sign and seal keys, sealing, channel bindings. Checked against the MS-NLMP 4.2.4
 * example and against the real CredSSP exchanges of the FreeRDP 2.11.7 shadow-server captures
 * (xfreerdp 2.11.7 and impacket 0.10.0 as clients, user alice / S3cret!, empty domain).
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, generateKeyPairSync } from 'node:crypto';
import fc from 'fast-check';
import { initMd4, md4Sync, ntHash, ntHashSync } from '../../src/crypto/md4.js';
import {
  NtlmError,
  NtlmSealer,
  TLS_SERVER_END_POINT,
  channelBindingsHash,
  checkNtlmV2Response,
  computeMic,
  computeNtlmV2Response,
  decryptRandomSessionKey,
  encryptRandomSessionKey,
  gssChannelBindingsMd5,
  keyExchangeKey,
  lmv2Response,
  ntowfv2,
  sealKey,
  signKey,
  tlsServerEndPoint,
  tlsServerEndPointHashAlgorithm,
  upcaseUser,
} from '../../src/crypto/ntlm.js';
import { STATUS_LOGON_FAILURE, acceptAuthenticate } from '../../src/crypto/ntlm-server.js';
import {
  NTLMSSP_NEGOTIATE_128,
  NTLMSSP_NEGOTIATE_56,
  NTLMSSP_NEGOTIATE_EXTENDED_SESSIONSECURITY,
  NTLMSSP_NEGOTIATE_KEY_EXCH,
  decodeAuthenticateMessage,
  decodeChallengeMessage,
  withMicZeroed,
} from '../../src/pdu/ntlm.js';
import { EC_TEST_CERT_DER, XRDP_TLS_CERT_DER, XRDP_TLS_CERT_SHA256 } from '../pdu/fixtures-certs.js';
import { ALICE, AUTH_CAPTURES, NLMP_V2 as V, NLMP_V2_AUTHENTICATE, NLMP_V2_CHALLENGE, credSspExchange, h, u16 } from '../pdu/fixtures-ntlm.js';

const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');
const isNtlm = (kind: string) => (e: unknown): boolean => e instanceof NtlmError && e.kind === kind;
const sha256 = (...p: Uint8Array[]): Buffer => p.reduce((x, b) => x.update(b), createHash('sha256')).digest();
const md5 = (...p: Uint8Array[]): Buffer => p.reduce((x, b) => x.update(b), createHash('md5')).digest();
const ESS_128_KEYX = NTLMSSP_NEGOTIATE_EXTENDED_SESSIONSECURITY | NTLMSSP_NEGOTIATE_128 | NTLMSSP_NEGOTIATE_KEY_EXCH;

describe('MD4 and the NT hash (hash-wasm)', () => {
  it('is unavailable synchronously until initMd4 has resolved', async () => {
    // first test of this file, which runs in its own process: nothing has initialised MD4 yet
    assert.throws(() => ntHashSync('x'), isNtlm('not-initialised'));
    await initMd4();
    await initMd4(); // idempotent
    assert.equal(ntHashSync('x').length, 16);
  });

  it('RFC 1320 vectors, S3cret! and MS-NLMP 4.2.2.1.2 "Password"', async () => {
    await initMd4();
    assert.equal(hex(md4Sync(new Uint8Array(0))), '31d6cfe0d16ae931b73c59d7e0c089c0');
    assert.equal(hex(md4Sync(Buffer.from('abc'))), 'a448017aaf21d8525fc10ae87aa6729d');
    assert.equal(hex(md4Sync(Buffer.from('12345678901234567890123456789012345678901234567890123456789012345678901234567890'))), 'e33b4ddc9c38f2199c3e7b164fcc0536');
    assert.equal(hex(await ntHash(ALICE.password)), ALICE.ntHash);
    assert.equal(hex(await ntHash('Password')), 'a4f49c406510bdcab6824ee7c30fd852');
    assert.equal(hex(ntHashSync('')), '31d6cfe0d16ae931b73c59d7e0c089c0');
  });
});

describe('MS-NLMP 4.2.4: the NTLMv2 example', () => {
  it('NTOWFv2, LMv2, NTProofStr, SessionBaseKey, EncryptedRandomSessionKey', async () => {
    const responseKeyNT = ntowfv2(await ntHash(V.password), V.user, V.domain);
    assert.equal(hex(responseKeyNT), V.ntowfv2);
    assert.equal(hex(ntowfv2(await ntHash(V.password), 'user', V.domain)), V.ntowfv2, 'the user name is upper-cased');
    assert.notEqual(hex(ntowfv2(await ntHash(V.password), V.user, 'DOMAIN')), V.ntowfv2, 'the domain is not');
    const r = computeNtlmV2Response({ responseKeyNT, serverChallenge: V.serverChallenge, clientChallenge: V.clientChallenge, timestamp: V.timestamp, targetInfo: V.targetInfo });
    assert.equal(hex(r.ntProofStr), V.ntProofStr);
    assert.equal(hex(r.sessionBaseKey), V.sessionBaseKey);
    assert.equal(hex(r.lmChallengeResponse), V.lmv2Response, 'no MsvAvTimestamp: LMv2');
    assert.equal(hex(lmv2Response(responseKeyNT, V.serverChallenge, V.clientChallenge)), V.lmv2Response);
    // the example AUTHENTICATE carries exactly this response
    const a = decodeAuthenticateMessage(NLMP_V2_AUTHENTICATE);
    assert.equal(hex(r.ntChallengeResponse), hex(a.ntChallengeResponse));
    assert.equal(hex(checkNtlmV2Response(responseKeyNT, V.serverChallenge, a.ntChallengeResponse)!), V.sessionBaseKey);
    const kek = keyExchangeKey(r.sessionBaseKey);
    assert.equal(hex(kek), V.sessionBaseKey, 'KXKEY of NTLMv2 is the SessionBaseKey');
    assert.equal(hex(encryptRandomSessionKey(kek, V.randomSessionKey)), V.encryptedSessionKey);
    assert.equal(hex(decryptRandomSessionKey(kek, h(V.encryptedSessionKey))), hex(V.randomSessionKey));
  });

  it('acceptAuthenticate verifies the example AUTHENTICATE (no MIC) and recovers RandomSessionKey', async () => {
    const hash = await ntHash(V.password);
    const { result, session } = acceptAuthenticate({
      negotiate: new Uint8Array(0),
      challenge: NLMP_V2_CHALLENGE,
      authenticate: NLMP_V2_AUTHENTICATE,
      lookup: (user, domain) => (user === 'User' && domain === 'Domain' ? hash : undefined),
    });
    assert.deepEqual(result, { ok: true, user: 'User', domain: 'Domain', workstation: 'COMPUTER' });
    assert.equal(hex(session!.exportedSessionKey), hex(V.randomSessionKey));
  });

  it('4.2.4.4: SEALKEY, SIGNKEY and GSS_WrapEx of "Plaintext"', () => {
    assert.equal(hex(sealKey(V.randomSessionKey, V.challengeFlags, 'client-to-server')), V.sealKeyC2s);
    assert.equal(hex(signKey(V.randomSessionKey, 'client-to-server')), V.signKeyC2s);
    const sender = new NtlmSealer(V.randomSessionKey, V.challengeFlags, 'client-to-server');
    const sealed = sender.seal(V.plaintext);
    assert.equal(hex(sealed.subarray(0, 16)), V.signature);
    assert.equal(hex(sealed.subarray(16)), V.sealedData);
    assert.equal(sender.sequenceNumber, 1);
    const receiver = new NtlmSealer(V.randomSessionKey, V.challengeFlags, 'client-to-server');
    assert.equal(hex(receiver.unseal(sealed)), hex(V.plaintext));
  });
});

describe('keys and sealing', () => {
  const key = h('000102030405060708090a0b0c0d0e0f');
  const magic = (w: string, d: string) => Buffer.from(`session key to ${d} ${w} key magic constant\0`, 'latin1');

  it('SIGNKEY and SEALKEY for both directions and the three key strengths (MS-NLMP 3.4.5.2, 3.4.5.3)', () => {
    for (const d of ['client-to-server', 'server-to-client'] as const) {
      assert.equal(hex(signKey(key, d)), hex(md5(key, magic('signing', d))));
      assert.equal(hex(sealKey(key, ESS_128_KEYX, d)), hex(md5(key, magic('sealing', d))));
      assert.equal(hex(sealKey(key, NTLMSSP_NEGOTIATE_EXTENDED_SESSIONSECURITY | NTLMSSP_NEGOTIATE_56, d)), hex(md5(key.subarray(0, 7), magic('sealing', d))));
      assert.equal(hex(sealKey(key, NTLMSSP_NEGOTIATE_EXTENDED_SESSIONSECURITY, d)), hex(md5(key.subarray(0, 5), magic('sealing', d))));
    }
    assert.notEqual(hex(sealKey(key, ESS_128_KEYX, 'client-to-server')), hex(sealKey(key, ESS_128_KEYX, 'server-to-client')));
    assert.throws(() => sealKey(key, NTLMSSP_NEGOTIATE_128, 'client-to-server'), isNtlm('unsupported'));
    assert.throws(() => signKey(key.subarray(1), 'client-to-server'), isNtlm('bad-argument'));
  });

  it('seal/unseal: sequence numbers, tampering, reordering, and the form without KEY_EXCH', () => {
    for (const flags of [ESS_128_KEYX, NTLMSSP_NEGOTIATE_EXTENDED_SESSIONSECURITY | NTLMSSP_NEGOTIATE_128]) {
      const tx = new NtlmSealer(key, flags, 'server-to-client');
      const rx = new NtlmSealer(key, flags, 'server-to-client');
      const msgs = ['one', '', 'three', 'x'.repeat(1000)].map((s) => Buffer.from(s));
      const sealed = msgs.map((m) => tx.seal(m));
      sealed.forEach((s, i) => assert.equal(s.readUInt32LE(12), i, 'SeqNum in clear'));
      assert.throws(() => rx.unseal(sealed[1]!), isNtlm('bad-sequence'));
      const flipped = Buffer.from(sealed[0]!);
      flipped[flipped.length - 1]! ^= 1;
      assert.throws(() => rx.unseal(flipped), isNtlm('bad-signature'));
      const badChecksum = Buffer.from(sealed[0]!);
      badChecksum[5]! ^= 1;
      assert.throws(() => rx.unseal(badChecksum), isNtlm('bad-signature'));
      assert.throws(() => rx.unseal(sealed[0]!.subarray(0, 15)), isNtlm('bad-message'));
      const badVersion = Buffer.from(sealed[0]!);
      badVersion[0] = 2;
      assert.throws(() => rx.unseal(badVersion), isNtlm('bad-message'));
      // failures consumed nothing: the real messages still unseal, in order
      sealed.forEach((s, i) => assert.equal(rx.unseal(s).toString(), msgs[i]!.toString()));
      assert.equal(rx.sequenceNumber, 4);
      // a replay of an already-unsealed message is out of sequence
      assert.throws(() => rx.unseal(sealed[3]!), isNtlm('bad-sequence'));
    }
  });

  it('random messages round-trip in both directions, continuing the RC4 streams', () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 16, maxLength: 16 }), fc.array(fc.uint8Array({ maxLength: 300 }), { maxLength: 8 }), (k, msgs) => {
        const tx = new NtlmSealer(k, ESS_128_KEYX, 'client-to-server');
        const rx = new NtlmSealer(k, ESS_128_KEYX, 'client-to-server');
        for (const m of msgs) assert.equal(hex(rx.unseal(tx.seal(m))), hex(m));
      }),
      { numRuns: 200 },
    );
  });
});

describe('the real CredSSP exchanges (alice / S3cret!)', () => {
  for (const cap of AUTH_CAPTURES) {
    it(`${cap.name}: NTProofStr ${cap.ok ? 'verifies' : 'does not verify'}${cap.ok ? '; MIC, keys, pubKeyAuth and authInfo' : ''}`, async () => {
      const x = credSspExchange(cap.name);
      const c = decodeChallengeMessage(x.challenge);
      const a = decodeAuthenticateMessage(x.authenticate!);
      const hash = await ntHash(ALICE.password);
      assert.equal(hex(hash), ALICE.ntHash);
      const responseKeyNT = ntowfv2(hash, a.userName, a.domainName);
      const sessionBaseKey = checkNtlmV2Response(responseKeyNT, c.serverChallenge, a.ntChallengeResponse);
      const accepted = acceptAuthenticate({ negotiate: x.negotiate, challenge: x.challenge, authenticate: x.authenticate!, lookup: (u) => (u === 'alice' ? hash : undefined) });
      if (!cap.ok) {
        assert.equal(sessionBaseKey, undefined);
        assert.deepEqual(accepted.result, { ok: false, status: STATUS_LOGON_FAILURE, reason: 'wrong password', user: 'alice', domain: '', workstation: a.workstation });
        return;
      }
      assert.ok(sessionBaseKey);
      assert.deepEqual(accepted.result, { ok: true, user: 'alice', domain: '', workstation: a.workstation });
      // recompute the client's NTProofStr from its own blob
      const temp = a.ntChallengeResponse.subarray(16);
      const recomputed = computeNtlmV2Response({
        responseKeyNT,
        serverChallenge: c.serverChallenge,
        clientChallenge: a.ntlmv2!.clientChallenge.challengeFromClient,
        timestamp: a.ntlmv2!.clientChallenge.timestamp,
        targetInfo: temp.subarray(28, temp.length - 4),
      });
      assert.equal(hex(recomputed.ntChallengeResponse), hex(a.ntChallengeResponse));
      if (cap.client === 'xfreerdp') assert.equal(hex(recomputed.lmChallengeResponse), hex(a.lmChallengeResponse), 'Z(24)');
      else assert.equal(hex(recomputed.lmChallengeResponse), '00'.repeat(24), 'impacket sends LMv2 where we would send Z(24)');
      if (cap.client === 'impacket') {
        assert.equal(hex(lmv2Response(responseKeyNT, c.serverChallenge, a.ntlmv2!.clientChallenge.challengeFromClient)), hex(a.lmChallengeResponse));
      }

      const esk = decryptRandomSessionKey(keyExchangeKey(sessionBaseKey), a.encryptedRandomSessionKey);
      assert.equal(hex(accepted.session!.exportedSessionKey), hex(esk));
      if (cap.client === 'xfreerdp') {
        assert.equal(hex(computeMic(esk, x.negotiate, x.challenge, withMicZeroed(x.authenticate!, a.micOffset!))), hex(a.mic!));
      }

      // client-to-server: pubKeyAuth (SeqNum 0), then authInfo (SeqNum 1); server-to-client: pubKeyAuth (SeqNum 0)
      const c2s = new NtlmSealer(esk, a.flags, 'client-to-server');
      const s2c = new NtlmSealer(esk, a.flags, 'server-to-client');
      assert.equal(x.clientPubKeyAuth!.readUInt32LE(12), 0);
      assert.equal(x.authInfo!.readUInt32LE(12), 1);
      const pubKeyAuth = c2s.unseal(x.clientPubKeyAuth!);
      const authInfo = c2s.unseal(x.authInfo!);
      const serverPubKeyAuth = s2c.unseal(x.serverPubKeyAuth!);
      assert.ok(authInfo.includes(u16('alice')) && authInfo.includes(u16(ALICE.password)), 'TSPasswordCreds inside');
      // sealing is deterministic: a fresh sealer reproduces the client's bytes
      const again = new NtlmSealer(esk, a.flags, 'client-to-server');
      assert.equal(hex(again.seal(pubKeyAuth)), hex(x.clientPubKeyAuth!));
      assert.equal(hex(again.seal(authInfo)), hex(x.authInfo!));

      if (x.clientVersion < 5) {
        // CredSSP v2-4 (impacket): the raw RSAPublicKey; the server answers it with the first byte + 1
        assert.equal(pubKeyAuth.length, 270);
        assert.equal(hex(pubKeyAuth.subarray(0, 4)), '3082010a');
        assert.equal(hex(serverPubKeyAuth), hex(Buffer.concat([Buffer.of(pubKeyAuth[0]! + 1), pubKeyAuth.subarray(1)])));
      } else {
        // CredSSP v5/6 (xfreerdp): SHA-256 binding hashes with the clientNonce
        assert.equal(pubKeyAuth.length, 32);
        assert.equal(serverPubKeyAuth.length, 32);
        if (cap.name.startsWith('shadow-nla--')) {
          const key = c2sKeyOfImpacket(hash);
          // the shadow-nla captures share the server's certificate, whose key impacket revealed
          assert.equal(hex(pubKeyAuth), hex(sha256(Buffer.from('CredSSP Client-To-Server Binding Hash\0', 'latin1'), x.clientNonce!, key)));
          assert.equal(hex(serverPubKeyAuth), hex(sha256(Buffer.from('CredSSP Server-To-Client Binding Hash\0', 'latin1'), x.clientNonce!, key)));
        }
      }
    });
  }

  /** The shadow-nla server's RSAPublicKey, from impacket's sealed pubKeyAuth. */
  function c2sKeyOfImpacket(hash: Uint8Array): Buffer {
    const x = credSspExchange('shadow-nla--impacket-rdp_check-ok');
    const a = decodeAuthenticateMessage(x.authenticate!);
    const sbk = checkNtlmV2Response(ntowfv2(hash, 'alice', ''), decodeChallengeMessage(x.challenge).serverChallenge, a.ntChallengeResponse)!;
    return new NtlmSealer(decryptRandomSessionKey(sbk, a.encryptedRandomSessionKey), a.flags, 'client-to-server').unseal(x.clientPubKeyAuth!);
  }

  it('the MIC of a real AUTHENTICATE changes with any byte of the three messages', async () => {
    const x = credSspExchange('shadow-nla--xfreerdp-ok');
    const a = decodeAuthenticateMessage(x.authenticate!);
    const hash = await ntHash(ALICE.password);
    const ok = acceptAuthenticate({ negotiate: x.negotiate, challenge: x.challenge, authenticate: x.authenticate!, lookup: () => hash });
    assert.equal(ok.result.ok, true);
    const negotiate = Buffer.from(x.negotiate);
    negotiate[negotiate.length - 1]! ^= 1; // the Version's revision byte: covered by the MIC only
    const bad = acceptAuthenticate({ negotiate, challenge: x.challenge, authenticate: x.authenticate!, lookup: () => hash });
    assert.deepEqual(bad.result, { ok: false, status: STATUS_LOGON_FAILURE, reason: 'the MIC does not verify', user: 'alice', domain: '', workstation: 'vm' });
    const mic = Buffer.from(x.authenticate!);
    mic[a.micOffset!]! ^= 0x80;
    assert.equal(acceptAuthenticate({ negotiate: x.negotiate, challenge: x.challenge, authenticate: mic, lookup: () => hash }).result.ok, false);
  });
});

describe('channel bindings (MsvAvChannelBindings)', () => {
  it('the gss_channel_bindings_struct hash and its application data', () => {
    const appData = Buffer.from('tls-server-end-point:abc', 'latin1');
    const header = Buffer.alloc(20);
    header.writeUInt32LE(appData.length, 16);
    assert.equal(hex(gssChannelBindingsMd5(appData)), hex(md5(header, appData)));
    const endPoint = h(XRDP_TLS_CERT_SHA256);
    assert.equal(hex(channelBindingsHash(endPoint)), hex(gssChannelBindingsMd5(Buffer.concat([Buffer.from(TLS_SERVER_END_POINT), endPoint]))));
    assert.equal(channelBindingsHash(endPoint).length, 16);
  });

  it('tls-server-end-point: SHA-256 for SHA-256, SHA-1 and MD5 signatures, the signature hash when stronger', async () => {
    assert.equal(hex(tlsServerEndPoint(XRDP_TLS_CERT_DER)), XRDP_TLS_CERT_SHA256);
    assert.equal(hex(tlsServerEndPoint(EC_TEST_CERT_DER)), hex(sha256(EC_TEST_CERT_DER)));
    assert.equal(tlsServerEndPointHashAlgorithm('1.2.840.113549.1.1.5'), 'sha256'); // sha1WithRSAEncryption
    assert.equal(tlsServerEndPointHashAlgorithm('1.2.840.113549.1.1.4'), 'sha256'); // md5WithRSAEncryption
    assert.equal(tlsServerEndPointHashAlgorithm('1.2.840.10045.4.3.3'), 'sha384');
    assert.equal(tlsServerEndPointHashAlgorithm('1.3.101.112'), 'sha256'); // Ed25519
    const { default: forge } = await import('node-forge');
    const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 1024 });
    for (const [md, alg] of [[forge.md.sha384.create(), 'sha384'], [forge.md.sha512.create(), 'sha512'], [forge.md.sha1.create(), 'sha256']] as const) {
      const cert = forge.pki.createCertificate();
      cert.publicKey = forge.pki.publicKeyFromPem(publicKey.export({ type: 'spki', format: 'pem' }).toString());
      cert.serialNumber = '01';
      cert.setSubject([{ name: 'commonName', value: 'cbt' }]);
      cert.setIssuer([{ name: 'commonName', value: 'cbt' }]);
      cert.sign(forge.pki.privateKeyFromPem(privateKey.export({ type: 'pkcs8', format: 'pem' }).toString()), md);
      const der = Buffer.from(forge.asn1.toDer(forge.pki.certificateToAsn1(cert)).getBytes(), 'binary');
      assert.equal(hex(tlsServerEndPoint(der)), hex(createHash(alg).update(der).digest()), alg);
    }
  });
});

describe('helpers and argument checks', () => {
  it('upper-casing user names as Windows does', () => {
    assert.equal(upcaseUser('alice'), 'ALICE');
    assert.equal(upcaseUser('Jürgen'), 'JÜRGEN');
    assert.equal(upcaseUser('straße'), 'STRAßE', 'ß has no one-character upper case');
  });

  it('wrong sizes are NtlmError bad-argument, and messages carry no key material', () => {
    const k = Buffer.alloc(16, 0xab);
    assert.throws(() => ntowfv2(k.subarray(1), 'u', 'd'), isNtlm('bad-argument'));
    assert.throws(() => lmv2Response(k, k.subarray(0, 7), k.subarray(0, 8)), isNtlm('bad-argument'));
    assert.throws(() => computeNtlmV2Response({ responseKeyNT: k, serverChallenge: k.subarray(0, 8), clientChallenge: k.subarray(0, 8), timestamp: 0n, targetInfo: h('0100') }), isNtlm('bad-argument'));
    assert.throws(() => encryptRandomSessionKey(k, k.subarray(2)), isNtlm('bad-argument'));
    assert.throws(() => decryptRandomSessionKey(k.subarray(2), k), isNtlm('bad-argument'));
    assert.throws(() => computeMic(k.subarray(1), k, k, k), isNtlm('bad-argument'));
    assert.throws(() => keyExchangeKey(k.subarray(1)), isNtlm('bad-argument'));
    assert.equal(checkNtlmV2Response(k, k.subarray(0, 8), k.subarray(0, 24)), undefined, 'NTLMv1-sized');
    const forged = Buffer.alloc(40);
    forged[0] = 1;
    assert.throws(
      () => new NtlmSealer(k, ESS_128_KEYX, 'client-to-server').unseal(forged),
      (e: unknown) => e instanceof NtlmError && e.kind === 'bad-signature' && !/abab|[0-9a-f]{16}/.test(e.message),
    );
  });
});
