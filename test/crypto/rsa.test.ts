import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { constants, createPublicKey, publicEncrypt, randomBytes } from 'node:crypto';
import fc from 'fast-check';
import * as rsa from '../../src/crypto/rsa.js';
import { RdpCryptoError } from '../../src/crypto/errors.js';
import * as sc from '../../src/pdu/server-certificate.js';
import { FIXTURES } from '../pdu/fixtures-mcs.js';
import { handshake, LAB_CAPTURES, loadLabCapture, localXrdpKey, securityPacket, serverSecurity } from './captures.js';
import { loadCapture } from '../fixtures/pcaps.js';

const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');
const isKind = (kind: string) => (e: unknown): boolean => e instanceof RdpCryptoError && e.kind === kind;

/** A 512-bit and a 2048-bit key, made once (key generation is the slow part). */
const KEY512 = rsa.generateRsaKeyPairLE(512);
const KEY2048 = rsa.generateRsaKeyPairLE(2048);

/** The same raw RSA by OpenSSL (big-endian, RSA_NO_PADDING), to check ours independently. */
function opensslRawEncrypt(dataLE: Uint8Array, key: rsa.RsaPublicKeyLE): Buffer {
  const n = Buffer.from(key.modulusLE).reverse();
  const e = rsa.bigintToLE(key.exponent, 4).reverse();
  const pub = createPublicKey({ key: { kty: 'RSA', n: n.toString('base64url'), e: e.toString('base64url') }, format: 'jwk' });
  const be = Buffer.alloc(key.modulusLE.length);
  Buffer.from(dataLE).reverse().copy(be, be.length - dataLE.length);
  return publicEncrypt({ key: pub, padding: constants.RSA_NO_PADDING }, be).reverse();
}

describe('raw little-endian RSA (MS-RDPBCGR 5.3.4.1)', () => {
  it('modPow and the little-endian conversions', () => {
    assert.equal(rsa.modPow(4n, 13n, 497n), 445n);
    assert.equal(rsa.modPow(5n, 0n, 1n), 0n);
    assert.equal(hex(rsa.bigintToLE(0x0102n, 4)), '02010000');
    assert.throws(() => rsa.bigintToLE(0x10000n, 2), RangeError);
    assert.equal(sc.bigintFromLE(rsa.bigintToLE(123456789n, 8)), 123456789n);
  });

  it('matches OpenSSL raw RSA on random values (512 and 2048 bits)', () => {
    for (const key of [KEY512, KEY2048]) {
      for (let i = 0; i < 5; i++) {
        const r = randomBytes(32);
        assert.equal(hex(rsa.rsaEncryptLE(r, key.modulusLE, key.exponent)), hex(opensslRawEncrypt(r, key)));
      }
    }
  });

  it('decrypt(encrypt(m)) == m, outputs padded to the modulus length', () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 0, maxLength: 63 }), (m) => {
        const c = rsa.rsaEncryptLE(m, KEY512.modulusLE, KEY512.exponent);
        assert.equal(c.length, 64);
        const back = rsa.rsaDecryptLE(c, KEY512.modulusLE, KEY512.privateExponentLE);
        assert.equal(back.length, 64);
        assert.equal(hex(back), hex(Buffer.concat([m, Buffer.alloc(64 - m.length)])));
      }),
      { numRuns: 100 },
    );
  });

  it('refuses values not below the modulus', () => {
    const n = Buffer.from(KEY512.modulusLE);
    assert.throws(() => rsa.rsaEncryptLE(n, KEY512.modulusLE, 65537n), isKind('BadRsaValue'));
    assert.throws(() => rsa.rsaEncryptLE(Buffer.alloc(65, 0xff), KEY512.modulusLE, 65537n), isKind('BadRsaValue'));
  });
});

describe('client random (MS-RDPBCGR 2.2.1.10.1, 5.3.4.1)', () => {
  it('encryptedClientRandom is modulus length + 8 bytes ending in 8 zeros; the server recovers the random', () => {
    for (const key of [KEY512, KEY2048]) {
      const r = randomBytes(32);
      const enc = rsa.encryptClientRandom(r, key);
      assert.equal(enc.length, key.modulusLE.length + 8);
      assert.equal(hex(enc.subarray(-8)), '0000000000000000');
      assert.equal(hex(rsa.decryptClientRandom(enc, key)), hex(r));
      assert.equal(hex(rsa.decryptClientRandom(enc.subarray(0, -8), key)), hex(r));
    }
  });

  it('refuses a random that is not 32 bytes, odd lengths, non-zero padding and a wrong key', () => {
    assert.throws(() => rsa.encryptClientRandom(randomBytes(31), KEY512), isKind('BadLength'));
    const enc = rsa.encryptClientRandom(randomBytes(32), KEY512);
    assert.throws(() => rsa.decryptClientRandom(enc.subarray(1), KEY512), isKind('BadLength'));
    const bad = Buffer.from(enc);
    bad[bad.length - 1] = 1;
    assert.throws(() => rsa.decryptClientRandom(bad, KEY512), isKind('BadLength'));
    const other = rsa.generateRsaKeyPairLE(512);
    const forOther = rsa.encryptClientRandom(randomBytes(32), other);
    // under the wrong private key the value is (almost surely) a 512-bit number, not a 32-byte one
    assert.throws(() => rsa.decryptClientRandom(forOther, KEY512), (e: unknown) => e instanceof RdpCryptoError);
  });

  it('real xfreerdp and rdesktop Security Exchange PDUs: the recorded client random encrypts to the captured bytes', () => {
    for (const name of LAB_CAPTURES) {
      const cap = loadLabCapture(name);
      const { connectResponse, securityExchange } = handshake(cap.chunks);
      const { certificate } = serverSecurity(connectResponse);
      const key = sc.proprietaryRsaKey(certificate);
      const pkt = securityPacket(securityExchange);
      // length = keylen = modulus + 8 (2.2.1.10.1); xfreerdp also sets SEC_LICENSE_ENCRYPT_SC (0x0200)
      assert.equal(pkt.length, key.modulusLE.length + 8, name);
      assert.equal(pkt.flags & 0x0001, 0x0001);
      assert.equal(hex(rsa.encryptClientRandom(cap.clientRandom, key)), hex(pkt.encryptedClientRandom), name);
    }
  });

  it("with this machine's xrdp key (when readable and the same as the capture's): decryptClientRandom recovers it", (t) => {
    const local = localXrdpKey();
    if (!local) return t.skip('/etc/xrdp/rsakeys.ini not readable (needs root and xrdp)');
    let checked = 0;
    for (const name of LAB_CAPTURES) {
      const cap = loadLabCapture(name);
      const { connectResponse, securityExchange } = handshake(cap.chunks);
      if (!Buffer.from(serverSecurity(connectResponse).certificate.publicKey.modulus).equals(local.modulusLE)) continue;
      assert.equal(hex(rsa.decryptClientRandom(securityPacket(securityExchange).encryptedClientRandom, local)), hex(cap.clientRandom));
      checked++;
    }
    if (checked === 0) t.skip('the captures were made with another xrdp key');
  });

  it('the shared captures (test/fixtures/pcaps) were made with an xrdp key other than the lab one: only the public checks apply', () => {
    const shared = handshake(loadCapture('xrdp-rdp-high--rdesktop').connections[0]!.tcp);
    const lab = handshake(loadLabCapture('xrdp-rdp-high--rdesktop').chunks);
    const sharedKey = serverSecurity(shared.connectResponse).certificate.publicKey;
    assert.notEqual(hex(sharedKey.modulus), hex(serverSecurity(lab.connectResponse).certificate.publicKey.modulus));
    const pkt = securityPacket(shared.securityExchange);
    assert.equal(pkt.length, 264);
    assert.ok(sc.bigintFromLE(pkt.encryptedClientRandom.subarray(0, 256)) < sc.bigintFromLE(sharedKey.modulus));
    assert.equal(hex(pkt.encryptedClientRandom.subarray(256)), '0000000000000000');
  });
});

describe('proprietary certificate signature (MS-RDPBCGR 5.3.3.1)', () => {
  it('the published Terminal Services signing key is a consistent 512-bit key pair', () => {
    const k = rsa.TERMINAL_SERVICES_SIGNING_KEY;
    assert.equal(k.modulusLE.length, 64);
    assert.equal(k.exponent, 0xc0887b5bn);
    for (let i = 0; i < 5; i++) {
      const m = randomBytes(63);
      const s = rsa.rsaDecryptLE(m, k.modulusLE, k.privateExponentLE);
      assert.equal(hex(rsa.rsaEncryptLE(s, k.modulusLE, k.exponent).subarray(0, 63)), hex(m));
    }
  });

  it('the signed value has the layout of the 5.3.3.1.3 example (hash, 0x00, 0xFF x 45, 0x01)', () => {
    const example =
      'f5cc18ee45e94da67902ca765133e17f' + '00' + 'ff'.repeat(45) + '01';
    assert.equal(hex(rsa.proprietarySignaturePlaintext(Buffer.from('f5cc18ee45e94da67902ca765133e17f', 'hex'))), example);
    assert.equal(example.length / 2, 63);
  });

  const realCerts = (['xrdpHighConnectResponse', 'xrdpLowConnectResponse', 'xrdpFipsConnectResponse'] as const).map((n) => serverSecurity(FIXTURES[n]().bytes).certificate);

  it("xrdp's real certificates verify, and our signature is byte for byte xrdp's", () => {
    for (const cert of [...realCerts, serverSecurity(handshake(loadLabCapture('xrdp-rdp-high--rdesktop').chunks).connectResponse).certificate]) {
      assert.equal(rsa.verifyProprietarySignature(cert), true);
      assert.equal(hex(rsa.signProprietaryCertificate(cert)), hex(cert.signatureBlob));
    }
  });

  it("this machine's rsakeys.ini pub_sig is our signature of its key (when readable)", (t) => {
    const local = localXrdpKey();
    if (!local) return t.skip('/etc/xrdp/rsakeys.ini not readable');
    const cert = { kind: 'proprietary' as const, temporary: false, dwSigAlgId: 1, dwKeyAlgId: 1, publicKey: sc.rsaPublicKeyBlob(local.modulusLE, Number(local.exponent)) };
    const sig = rsa.signProprietaryCertificate(cert);
    assert.equal(rsa.verifyProprietarySignature({ ...cert, signatureBlob: sig }), true);
    assert.equal(hex(sig.subarray(0, 64)), hex(local.signatureLE!.subarray(0, 64)));
  });

  it('any change to the certificate or the signature fails verification', () => {
    const cert = realCerts[0]!;
    const mod = Buffer.from(cert.publicKey.modulus);
    mod[10]! ^= 1;
    assert.equal(rsa.verifyProprietarySignature({ ...cert, publicKey: { ...cert.publicKey, modulus: mod } }), false);
    assert.equal(rsa.verifyProprietarySignature({ ...cert, temporary: !cert.temporary }), false);
    const sig = Buffer.from(cert.signatureBlob);
    sig[0]! ^= 1;
    assert.equal(rsa.verifyProprietarySignature({ ...cert, signatureBlob: sig }), false);
    const tail = Buffer.from(cert.signatureBlob);
    tail[70] = 1;
    assert.equal(rsa.verifyProprietarySignature({ ...cert, signatureBlob: tail }), false);
    assert.equal(rsa.verifyProprietarySignature({ ...cert, signatureBlob: Buffer.alloc(72, 0xff) }), false);
  });

  it('sign then verify, for any key blob (and with our own 512-bit signing key)', () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 1, maxLength: 300 }), fc.boolean(), fc.integer({ min: 3, max: 0xffffffff }), (m, temporary, e) => {
        const cert = { kind: 'proprietary' as const, temporary, dwSigAlgId: 1, dwKeyAlgId: 1, publicKey: sc.rsaPublicKeyBlob(m, e) };
        assert.equal(rsa.verifyProprietarySignature({ ...cert, signatureBlob: rsa.signProprietaryCertificate(cert) }), true);
        const own = rsa.signProprietaryCertificate(cert, KEY512);
        assert.equal(rsa.verifyProprietarySignature({ ...cert, signatureBlob: own }, KEY512), true);
        assert.equal(rsa.verifyProprietarySignature({ ...cert, signatureBlob: own }), false);
      }),
      { numRuns: 50 },
    );
  });
});
