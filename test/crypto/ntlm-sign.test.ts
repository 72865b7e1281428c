/**
 * NTLM signing without sealing (MS-NLMP 3.4.4.2 MAC with extended session security, what
 * SPNEGO's mechListMIC uses) and the RC4 reset of MS-SPNG 3.3.5.1:
 * - a MAC-only vector derived from MS-NLMP 4.2.4.4 (the spec gives the HMAC checksum of
 *   "Plaintext" at SeqNum 0 before RC4, and the sealed data, hence the first keystream bytes of
 *   the client-to-server handle; a MAC made on a fresh handle is that checksum XOR them);
 * - vectors of pyspnego 0.12.1 (`_ntlm_raw.security.sign`/`seal` and `RC4Handle.reset`, session
 *   key 10..1f, flags 0xe28a8235) as recorded in the tests of winrm-rs (third party, a Rust
 *   WinRM client): the mechListMIC over the MechTypeList { NTLM } in both directions, then a
 *   message sealed after the reset, at SeqNum 1 and keystream offset 0;
 * - failures (length, Version, SeqNum, checksum) that leave the state unchanged, and
 *   NtlmClient/NtlmServer signing both ways around a reset.
 */
import { describe, it, before } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { ntHash } from '../../src/crypto/md4.js';
import { NtlmClient, NtlmError, NtlmServer } from '../../src/crypto/ntlm-context.js';
import { NtlmSealer, NtlmSession, signKey } from '../../src/crypto/ntlm.js';
import { NTLMSSP_NEGOTIATE_KEY_EXCH } from '../../src/pdu/ntlm.js';
import { encodeMechTypeList, NTLMSSP_OID } from '../../src/pdu/spnego.js';
import { createHmac } from 'node:crypto';
import { ALICE, NLMP_V2 as V, h } from '../pdu/fixtures-ntlm.js';

const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');
const isNtlm = (kind: string) => (e: unknown): boolean => e instanceof NtlmError && e.kind === kind;
const xor = (a: Uint8Array, b: Uint8Array): Buffer => Buffer.from(a.map((x, i) => x ^ b[i]!));

/** MS-NLMP 4.2.4.4: HMAC_MD5(SigningKey, SeqNum || "Plaintext")[0..7], before RC4. */
const NLMP_CHECKSUM = '70352851f2564309';

/** pyspnego 0.12.1 vectors (via winrm-rs' tests): key 10..1f, flags 0xe28a8235. */
const PY = {
  key: h('101112131415161718191a1b1c1d1e1f'),
  flags: 0xe28a8235,
  mechTypeList: h('300c060a2b06010401823702020a'),
  clientMic: '0100000002f81117bb3953f700000000',
  serverMic: '01000000a7a9da7e0ff3680100000000',
  clientHash: h('f976d979417938eaa4cf8078ddda0e268deed123e5bf944763a0a2202dad3952'),
  clientSealedAfterReset: '010000000886090156bfb29c01000000e254cc4a746ca019864ec451e5c0c3509405197402b28218d0de6416555abb0c',
  serverSealedAfterReset: '01000000948f7ee5690a514c010000000ebbb2c034dbd4482fbfdaf5b510049cd5abff77739580bae87d74f82794ab93',
};

describe('NTLM MAC without sealing (MS-NLMP 3.4.4.2)', () => {
  it('MS-NLMP 4.2.4.4, derived: the MAC of "Plaintext" at SeqNum 0 on a fresh handle', () => {
    // the spec's own checksum, recomputed
    const seq0 = Buffer.alloc(4);
    assert.equal(hex(createHmac('md5', signKey(V.randomSessionKey, 'client-to-server')).update(seq0).update(V.plaintext).digest().subarray(0, 8)), NLMP_CHECKSUM);
    // keystream = plaintext XOR sealed data; the MAC's checksum takes its first 8 bytes
    const keystream = xor(V.plaintext, h(V.sealedData));
    const expected = `01000000${hex(xor(h(NLMP_CHECKSUM), keystream.subarray(0, 8)))}00000000`;
    assert.equal(expected, '0100000074d045342c4f1cd500000000');
    const tx = new NtlmSealer(V.randomSessionKey, V.challengeFlags, 'client-to-server');
    assert.equal(hex(tx.sign(V.plaintext)), expected);
    assert.equal(tx.sequenceNumber, 1);
    const rx = new NtlmSealer(V.randomSessionKey, V.challengeFlags, 'client-to-server');
    rx.verify(V.plaintext, h(expected));
    assert.equal(rx.sequenceNumber, 1);
  });

  it('without KEY_EXCH the checksum goes in clear (the spec checksum itself)', () => {
    const flags = V.challengeFlags & ~NTLMSSP_NEGOTIATE_KEY_EXCH;
    const tx = new NtlmSealer(V.randomSessionKey, flags, 'client-to-server');
    assert.equal(hex(tx.sign(V.plaintext)), `01000000${NLMP_CHECKSUM}00000000`);
    new NtlmSealer(V.randomSessionKey, flags, 'client-to-server').verify(V.plaintext, h(`01000000${NLMP_CHECKSUM}00000000`));
  });

  it('pyspnego: mechListMIC, RC4 reset, then the first sealed message at SeqNum 1 and keystream offset 0', () => {
    assert.equal(hex(encodeMechTypeList([NTLMSSP_OID])), hex(PY.mechTypeList));
    const client = new NtlmSealer(PY.key, PY.flags, 'client-to-server');
    assert.equal(hex(client.sign(PY.mechTypeList)), PY.clientMic);
    client.resetRc4();
    assert.equal(client.sequenceNumber, 1, 'the reset keeps the sequence number');
    assert.equal(hex(client.seal(PY.clientHash)), PY.clientSealedAfterReset);

    const server = new NtlmSealer(PY.key, PY.flags, 'server-to-client');
    assert.equal(hex(server.sign(PY.mechTypeList)), PY.serverMic);
    server.resetRc4();
    assert.equal(hex(server.seal(Buffer.from([...Array(32).keys()]))), PY.serverSealedAfterReset);

    // the receiving side: verify, reset, unseal
    const rx = new NtlmSealer(PY.key, PY.flags, 'server-to-client');
    rx.verify(PY.mechTypeList, h(PY.serverMic));
    rx.resetRc4();
    assert.deepEqual([...rx.unseal(h(PY.serverSealedAfterReset))], [...Array(32).keys()]);
  });

  it('a peer that does not reset its RC4 handle after the mechListMIC is refused', () => {
    const noReset = new NtlmSealer(PY.key, PY.flags, 'client-to-server');
    noReset.sign(PY.mechTypeList);
    const sealed = noReset.seal(PY.clientHash);
    const rx = new NtlmSealer(PY.key, PY.flags, 'client-to-server');
    rx.verify(PY.mechTypeList, h(PY.clientMic));
    rx.resetRc4();
    assert.throws(() => rx.unseal(sealed), isNtlm('bad-signature'));
    // nor does a receiver that forgot the reset read a conforming peer
    const lazy = new NtlmSealer(PY.key, PY.flags, 'client-to-server');
    lazy.verify(PY.mechTypeList, h(PY.clientMic));
    assert.throws(() => lazy.unseal(h(PY.clientSealedAfterReset)), isNtlm('bad-signature'));
  });

  it('verify: wrong length, Version, SeqNum, checksum or message fail typed, and leave the state as it was', () => {
    const rx = new NtlmSealer(PY.key, PY.flags, 'client-to-server');
    const good = h(PY.clientMic);
    const bad = (f: (b: Buffer) => void): Buffer => {
      const b = Buffer.from(good);
      f(b);
      return b;
    };
    assert.throws(() => rx.verify(PY.mechTypeList, good.subarray(0, 15)), isNtlm('bad-message'));
    assert.throws(() => rx.verify(PY.mechTypeList, Buffer.concat([good, Buffer.alloc(1)])), isNtlm('bad-message'));
    assert.throws(() => rx.verify(PY.mechTypeList, bad((b) => b.writeUInt32LE(2, 0))), isNtlm('bad-message'));
    assert.throws(() => rx.verify(PY.mechTypeList, bad((b) => b.writeUInt32LE(1, 12))), isNtlm('bad-sequence'));
    assert.throws(() => rx.verify(PY.mechTypeList, bad((b) => (b[5]! ^= 1))), isNtlm('bad-signature'));
    assert.throws(() => rx.verify(encodeMechTypeList([NTLMSSP_OID, '1.2.840.113554.1.2.2']), good), isNtlm('bad-signature'));
    assert.equal(rx.sequenceNumber, 0);
    rx.verify(PY.mechTypeList, good);
    assert.equal(rx.sequenceNumber, 1);
    assert.throws(() => rx.verify(PY.mechTypeList, good), isNtlm('bad-sequence'), 'a replay');
  });

  it('sign and seal share the sequence and the keystream; any mix round-trips', () => {
    fc.assert(
      fc.property(fc.array(fc.tuple(fc.constantFrom('sign', 'seal', 'reset'), fc.uint8Array({ maxLength: 40 })), { maxLength: 12 }), (ops) => {
        const tx = new NtlmSession(PY.key, PY.flags, 'client');
        const rx = new NtlmSession(PY.key, PY.flags, 'server');
        for (const [op, data] of ops) {
          if (op === 'sign') rx.verify(data, tx.sign(data));
          else if (op === 'seal') assert.deepEqual([...rx.unseal(tx.seal(data))], [...data]);
          else {
            tx.resetRc4('outgoing');
            rx.resetRc4('incoming');
          }
        }
      }),
      { numRuns: 200 },
    );
  });
});

describe('NtlmClient and NtlmServer: the mechListMIC exchange around a reset', () => {
  let aliceHash: Buffer;
  before(async () => {
    aliceHash = await ntHash(ALICE.password);
  });

  it('client MIC, server MIC, resets, then sealing both ways from SeqNum 1', () => {
    const c = new NtlmClient({ credentials: { user: 'alice', domain: '', ntHash: aliceHash } });
    const s = new NtlmServer({ targetInfo: { nbComputerName: 'RDS01', nbDomainName: 'RDS01', dnsComputerName: 'rds01', dnsDomainName: 'rds01' }, version: { major: 10, minor: 0, build: 20348, ntlmRevision: 15 } });
    assert.throws(() => c.sign(PY.mechTypeList), isNtlm('wrong-state'));
    assert.throws(() => s.resetRc4('incoming'), isNtlm('wrong-state'));
    const auth = c.authenticate(s.challenge(c.negotiate()));
    assert.equal(s.micPresent, false);
    assert.equal(s.authenticate(auth, () => aliceHash).ok, true);
    assert.equal(s.micPresent, true, 'our client always sends the MIC');

    const cmic = c.sign(PY.mechTypeList);
    c.resetRc4('outgoing');
    const up = c.seal(Buffer.from('pubKeyAuth'));
    assert.equal(up.readUInt32LE(12), 1);
    s.verify(PY.mechTypeList, cmic);
    s.resetRc4('incoming');
    assert.equal(s.unseal(up).toString(), 'pubKeyAuth');

    const smic = s.sign(PY.mechTypeList);
    s.resetRc4('outgoing');
    const down = s.seal(Buffer.from('server pubKeyAuth'));
    assert.throws(() => c.verify(PY.mechTypeList, cmic), isNtlm('bad-signature'), 'the other direction\'s MIC');
    c.verify(PY.mechTypeList, smic);
    c.resetRc4('incoming');
    assert.equal(c.unseal(down).toString(), 'server pubKeyAuth');
    assert.equal(s.unseal(c.seal(Buffer.from('authInfo'))).toString(), 'authInfo');
  });
});
