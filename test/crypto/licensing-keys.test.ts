/**
 * MS-RDPELE 5.1.2-5.1.5 (src/crypto/licensing-keys.ts) against the vectors of IronRDP's
 * ironrdp-pdu server_license tests (taken from a Windows licensing exchange; each checked again
 * with an independent Python script while writing this file):
 * - client_new_license_request/tests.rs: ClientRandom, ServerRandom, the pre-master secret,
 *   SaltedHash('A'), MasterSecret, SessionKeyBlob, the licensing encryption key, and the
 *   EncryptedPreMasterSecret under the 512-bit key of the license server certificate in that
 *   test's SERVER_LICENSE_REQUEST (modulus read from its DER, exponent 65537);
 * - tests.rs mac_data_computes_correctly: MACData of the decrypted challenge "TEST\0" (UTF-16);
 * - client_platform_challenge_response/test.rs: a Windows platform challenge under known keys
 *   decrypts to "TEST\0" and carries the MACData of that plaintext.
 * Plus FreeRDP's construction (libfreerdp/core/security.c) written out again for random inputs.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import fc from 'fast-check';
import * as lk from '../../src/crypto/licensing-keys.js';
import { RdpCryptoError } from '../../src/crypto/errors.js';
import { Rc4 } from '../../src/crypto/rc4.js';
import { rsaEncryptLE } from '../../src/crypto/rsa.js';
import { saltedHash } from '../../src/crypto/session-keys.js';

const b = (h: string): Buffer => Buffer.from(h.replace(/\s/g, ''), 'hex');
const hex = (x: Uint8Array): string => Buffer.from(x).toString('hex');
const sha1 = (...p: Uint8Array[]): Buffer => p.reduce((h, x) => h.update(x), createHash('sha1')).digest();
const md5 = (...p: Uint8Array[]): Buffer => p.reduce((h, x) => h.update(x), createHash('md5')).digest();
const isKind = (kind: string) => (e: unknown): boolean => e instanceof RdpCryptoError && e.kind === kind;

/** IronRDP client_new_license_request/tests.rs */
const IRONRDP = {
  clientRandom: b('4b5b7b43638a08fed17abaf5918577fe3936f6d778ec6acc894a90412cac5a49'),
  serverRandom: b('5c81f011ebcfd10eb41fb3ba93a2d73909aa99e910d4d795ddad916905266b6a'),
  preMasterSecret: b('1428dafbb9ea38ab5ea2f904f7899c983d504577bf17811c3787c24813e8c9204ddff327bdb6987e64dafe1d312f62ca'),
  saltedHashA: b('fedc519adb3ac961040724945d0c43a7'),
  masterSecret: b('fedc519adb3ac961040724945d0c43a770e3f30050d7a8723eab7e1be464e5c574aeed1072962a4c65094f6012a912a1'),
  sessionKeyBlob: b('f70375b95fdad0beb42af5c13d98857ad6c5394ce3cb7661aa4ab6157e89213ddf5b2532ee05060d5baa6314afa5460f'),
  licenseKey: b('fa44e878d82b3f1d4d00a0a655ce8ab7'),
  /** the license server certificate's modulus, big-endian as in its DER */
  modulusBE: b(
    'abac871183bfe94825002c33315e3d78c85f82cb3641f5b46515ee0431aee248' + '58997f4f901df77cd7f84793a0ca9cdf91b041e8054bdc245b72f7689184fb19',
  ),
  encryptedPreMasterSecret: b(
    'b095f7cb813445856583b2cf5bdffe406fd81414180b2b6daad0380aaf74e951' + '552bdbfd3bd3fb2f3492ddc8af48f391618a5bbd8187ecb8cc0b0bc90d1ce717' + '0000000000000000',
  ),
};

/** FreeRDP security.c: security_salted_hash(salt, input, salt1, salt2) = MD5(salt + SHA1(input + salt + salt1 + salt2)). */
const freerdpSaltedHash = (salt: Uint8Array, input: string, s1: Uint8Array, s2: Uint8Array): Buffer =>
  md5(salt, sha1(Buffer.from(input, 'latin1'), salt, s1, s2));
/** FreeRDP license_generate_keys: security_master_secret, security_session_key_blob (ServerRandom first), mac salt key, licensing key. */
function freerdpLicenseKeys(pms: Uint8Array, cr: Uint8Array, sr: Uint8Array): { master: Buffer; blob: Buffer; macSalt: Buffer; key: Buffer } {
  const master = Buffer.concat(['A', 'BB', 'CCC'].map((i) => freerdpSaltedHash(pms, i, cr, sr)));
  const blob = Buffer.concat(['A', 'BB', 'CCC'].map((i) => freerdpSaltedHash(master, i, sr, cr)));
  return { master, blob, macSalt: blob.subarray(0, 16), key: md5(blob.subarray(16, 32), cr, sr) };
}
/** FreeRDP security_mac_data: MD5(key + pad2 + SHA1(key + pad1 + len32le + data)), 16 bytes. */
function freerdpMacData(key: Uint8Array, data: Uint8Array): Buffer {
  const len = Buffer.alloc(4);
  len.writeUInt32LE(data.length);
  return md5(key, Buffer.alloc(48, 0x5c), sha1(key, Buffer.alloc(40, 0x36), len, data));
}

const random32 = fc.uint8Array({ minLength: 32, maxLength: 32 });
const random48 = fc.uint8Array({ minLength: 48, maxLength: 48 });

describe('licensing keys (MS-RDPELE 5.1.2)', () => {
  it("IronRDP's Windows vector: SaltedHash('A'), MasterSecret, SessionKeyBlob, MAC salt key, licensing encryption key", () => {
    const { clientRandom, serverRandom, preMasterSecret } = IRONRDP;
    assert.equal(hex(saltedHash(preMasterSecret, Buffer.from('A'), clientRandom, serverRandom)), hex(IRONRDP.saltedHashA));
    assert.equal(hex(lk.licensingMasterSecret(preMasterSecret, clientRandom, serverRandom)), hex(IRONRDP.masterSecret));
    assert.equal(hex(lk.licensingSessionKeyBlob(IRONRDP.masterSecret, clientRandom, serverRandom)), hex(IRONRDP.sessionKeyBlob));
    const keys = lk.deriveLicensingKeys({ clientRandom, serverRandom, preMasterSecret });
    assert.equal(hex(keys.masterSecret), hex(IRONRDP.masterSecret));
    assert.equal(hex(keys.sessionKeyBlob), hex(IRONRDP.sessionKeyBlob));
    assert.equal(hex(keys.macSaltKey), hex(IRONRDP.sessionKeyBlob.subarray(0, 16)));
    assert.equal(hex(keys.encryptionKey), hex(IRONRDP.licenseKey));
  });

  it('the SessionKeyBlob really takes ServerRandom first (SaltedHash2): with the MS-RDPBCGR order it would differ', () => {
    const { clientRandom, serverRandom } = IRONRDP;
    const wrongOrder = Buffer.concat(['A', 'BB', 'CCC'].map((i) => saltedHash(IRONRDP.masterSecret, Buffer.from(i), clientRandom, serverRandom)));
    assert.notEqual(hex(wrongOrder), hex(IRONRDP.sessionKeyBlob));
  });

  it("IronRDP's EncryptedPreMasterSecret is the pre-master secret under the license server's 512-bit key, plus 8 zero bytes", () => {
    const modulusLE = Buffer.from(IRONRDP.modulusBE).reverse();
    const c = Buffer.concat([rsaEncryptLE(IRONRDP.preMasterSecret, modulusLE, 65537), Buffer.alloc(8)]);
    assert.equal(hex(c), hex(IRONRDP.encryptedPreMasterSecret));
  });

  it("equal FreeRDP's construction for any randoms and pre-master secret", () => {
    fc.assert(
      fc.property(random32, random32, random48, (cr, sr, pms) => {
        const ours = lk.deriveLicensingKeys({ clientRandom: cr, serverRandom: sr, preMasterSecret: pms });
        const theirs = freerdpLicenseKeys(pms, cr, sr);
        assert.equal(hex(ours.masterSecret), hex(theirs.master));
        assert.equal(hex(ours.sessionKeyBlob), hex(theirs.blob));
        assert.equal(hex(ours.macSaltKey), hex(theirs.macSalt));
        assert.equal(hex(ours.encryptionKey), hex(theirs.key));
      }),
      { numRuns: 200 },
    );
  });

  it('wrong sizes are BadLength errors naming the input', () => {
    const ok = { clientRandom: Buffer.alloc(32), serverRandom: Buffer.alloc(32), preMasterSecret: Buffer.alloc(48) };
    for (const [field, bad] of [['ClientRandom', { clientRandom: Buffer.alloc(31) }], ['ServerRandom', { serverRandom: Buffer.alloc(33) }], ['PreMasterSecret', { preMasterSecret: Buffer.alloc(32) }]] as const) {
      assert.throws(() => lk.deriveLicensingKeys({ ...ok, ...bad }), (e: unknown) => isKind('BadLength')(e) && (e as RdpCryptoError).what === field);
    }
    assert.throws(() => lk.licensingMac(Buffer.alloc(8), Buffer.alloc(1)), isKind('BadLength'));
    assert.throws(() => lk.licensingRc4(Buffer.alloc(8), Buffer.alloc(1)), isKind('BadLength'));
  });
});

describe('licensing MAC and encryption (MS-RDPELE 5.1.3-5.1.5)', () => {
  const TEST = b('54004500530054000000'); // "TEST\0" in UTF-16LE, the platform challenge Windows sends

  it("IronRDP's MACData vector (16 bytes, the whole MD5)", () => {
    const mac = lk.licensingMac(b('681f7b267e760a242d9807d66b56c501'), TEST);
    assert.equal(hex(mac), '58af1f30d64ee806fcf9e6682164253d');
  });

  it("IronRDP's Windows platform challenge decrypts to \"TEST\\0\" and its MACData verifies; one flipped bit fails", () => {
    const keys = { encryptionKey: b('e178e4a02ac5cab8a2d153b80723f3d2'), macSaltKey: b('015b9e5f06977158c3b88b8c6e772137') };
    const encrypted = b('26388877cbe8bfce2c51');
    const mac = b('514a272c7418ec8895ddac103e3f0a72');
    assert.equal(hex(lk.licensingDecrypt(keys, encrypted, mac, 'challenge')), hex(TEST));
    assert.equal(hex(lk.licensingEncrypt(keys, TEST).data), hex(encrypted));
    assert.equal(hex(lk.licensingEncrypt(keys, TEST).mac), hex(mac));
    const badMac = Buffer.from(mac);
    badMac[15]! ^= 1;
    assert.throws(() => lk.licensingDecrypt(keys, encrypted, badMac, 'SERVER_PLATFORM_CHALLENGE'), (e: unknown) => isKind('MacMismatch')(e) && (e as RdpCryptoError).what === 'SERVER_PLATFORM_CHALLENGE');
    const badData = Buffer.from(encrypted);
    badData[0]! ^= 0x80;
    assert.throws(() => lk.licensingDecrypt(keys, badData, mac, 'x'), isKind('MacMismatch'));
    assert.throws(() => lk.licensingDecrypt(keys, encrypted, mac.subarray(0, 8), 'x'), isKind('MacMismatch'));
  });

  it("the MAC equals FreeRDP's security_mac_data for any key and data", () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 16, maxLength: 16 }), fc.uint8Array({ maxLength: 300 }), (key, data) => {
        assert.equal(hex(lk.licensingMac(key, data)), hex(freerdpMacData(key, data)));
      }),
      { numRuns: 300 },
    );
  });

  it('each field gets a fresh RC4 key schedule: the second field is not a continuation of the first stream', () => {
    const key = IRONRDP.licenseKey;
    const a = Buffer.from('first field');
    const second = Buffer.from('second field');
    const stream = new Rc4(key);
    stream.update(a);
    const continued = stream.update(second);
    assert.equal(hex(lk.licensingRc4(key, second)), hex(new Rc4(key).update(second)));
    assert.notEqual(hex(lk.licensingRc4(key, second)), hex(continued));
  });

  it('decrypt inverts encrypt for any keys and data, and any change of data or MAC is caught', () => {
    fc.assert(
      fc.property(random32, random32, random48, fc.uint8Array({ minLength: 1, maxLength: 200 }), fc.nat(), (cr, sr, pms, data, where) => {
        const keys = lk.deriveLicensingKeys({ clientRandom: cr, serverRandom: sr, preMasterSecret: pms });
        const p = lk.licensingEncrypt(keys, data);
        assert.equal(hex(lk.licensingDecrypt(keys, p.data, p.mac, 'x')), hex(data));
        const tampered = Buffer.from(p.data);
        tampered[where % tampered.length]! ^= 1;
        assert.throws(() => lk.licensingDecrypt(keys, tampered, p.mac, 'x'), isKind('MacMismatch'));
        const badMac = Buffer.from(p.mac);
        badMac[where % 16]! ^= 1;
        assert.throws(() => lk.licensingDecrypt(keys, p.data, badMac, 'x'), isKind('MacMismatch'));
      }),
      { numRuns: 100 },
    );
  });
});
