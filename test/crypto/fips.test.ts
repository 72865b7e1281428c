import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createDecipheriv, createHash, createHmac, randomBytes } from 'node:crypto';
import fc from 'fast-check';
import * as fips from '../../src/crypto/fips.js';
import { encryptClientRandom } from '../../src/crypto/rsa.js';
import { RdpCryptoError } from '../../src/crypto/errors.js';
import { ENCRYPTION_METHOD_FIPS } from '../../src/pdu/client-data.js';
import { ENCRYPTION_LEVEL_FIPS } from '../../src/pdu/server-data.js';
import { proprietaryRsaKey } from '../../src/pdu/server-certificate.js';
import { encryptedParts, handshake, loadLabCapture, securityPacket, serverSecurity, wirePdus, SEC_INFO_PKT } from './captures.js';

const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');
const sha1 = (...p: Uint8Array[]): Buffer => p.reduce((h, x) => h.update(x), createHash('sha1')).digest();
const isKind = (kind: string) => (e: unknown): boolean => e instanceof RdpCryptoError && e.kind === kind;

/** The three steps of 5.3.5.2 on an explicit bit string, as the specification words them. */
function specExpansion(key21: Uint8Array): Buffer {
  const bits: number[] = [];
  for (const b of key21) for (let k = 0; k < 8; k++) bits.push((b >> k) & 1); // "reverse every byte": LSB first
  const out: number[] = [];
  for (let i = 0; i < 24; i++) {
    const group = [...bits.slice(i * 7, i * 7 + 7), 0]; // "insert a zero-bit after every seventh bit"
    let v = 0;
    for (let k = 0; k < 8; k++) v |= group[k]! << k; // "reverse every byte" back
    const ones = [...Array(7).keys()].reduce((n, k) => n + ((v >> (k + 1)) & 1), 0);
    out.push((v & 0xfe) | (ones % 2 === 0 ? 1 : 0)); // odd parity in the least significant bit
  }
  return Buffer.from(out);
}

describe('FIPS key generation (MS-RDPBCGR 5.3.5.2)', () => {
  it("the specification's example: D1 5E C4 7E DA ... expands to 51 3D 11 76 27 ..., then odd parity 51 3D 10 76 26", () => {
    const key = Buffer.concat([Buffer.from('d15ec47eda', 'hex'), randomBytes(16)]);
    assert.equal(hex(fips.fipsKeyExpansion(key).subarray(0, 5)), '513d107626');
  });

  it('equals the bit-by-bit reading of the specification for any 21-byte key; every byte has odd parity', () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 21, maxLength: 21 }), (k) => {
        const out = fips.fipsKeyExpansion(k);
        assert.equal(hex(out), hex(specExpansion(k)));
        for (const b of out) assert.equal([...b.toString(2)].filter((c) => c === '1').length % 2, 1);
      }),
    );
    assert.throws(() => fips.fipsKeyExpansion(new Uint8Array(20)), isKind('BadLength'));
  });

  it('client keys from the halves of the randoms, HMAC key SHA(DecryptKeyT + EncryptKeyT); the server view is swapped', () => {
    const cr = randomBytes(32);
    const sr = randomBytes(32);
    const enc = sha1(cr.subarray(16), sr.subarray(16));
    const dec = sha1(cr.subarray(0, 16), sr.subarray(0, 16));
    const k = fips.deriveFipsKeys({ clientRandom: cr, serverRandom: sr });
    assert.equal(hex(k.encryptKey), hex(fips.fipsKeyExpansion(Buffer.concat([enc, enc.subarray(0, 1)]))));
    assert.equal(hex(k.decryptKey), hex(fips.fipsKeyExpansion(Buffer.concat([dec, dec.subarray(0, 1)]))));
    assert.equal(hex(k.hmacKey), hex(sha1(dec, enc)));
    const s = fips.deriveServerFipsKeys({ clientRandom: cr, serverRandom: sr });
    assert.deepEqual([hex(s.encryptKey), hex(s.decryptKey), hex(s.hmacKey)], [hex(k.decryptKey), hex(k.encryptKey), hex(k.hmacKey)]);
    assert.throws(() => fips.deriveFipsKeys({ clientRandom: cr.subarray(1), serverRandom: sr }), isKind('BadLength'));
  });

  it('MAC = First64Bits(HMAC-SHA1(HMACKey, Data + EncryptionCount as u32le)) (5.3.6.2)', () => {
    const key = randomBytes(20);
    const data = Buffer.from('data');
    const expected = createHmac('sha1', key).update(data).update(Buffer.from('07010000', 'hex')).digest().subarray(0, 8);
    assert.equal(hex(fips.fipsMacSignature(key, data, 263)), hex(expected));
  });
});

describe('FIPS on real xrdp <-> xfreerdp traffic (crypt_level=fips)', () => {
  const cap = loadLabCapture('xrdp-rdp-fips--xfreerdp-sec-rdp');
  const { connectResponse, securityExchange } = handshake(cap.chunks);
  const sec = serverSecurity(connectResponse);
  const inputs = { clientRandom: cap.clientRandom, serverRandom: sec.serverRandom };

  it('the handshake: FIPS method and level, the recorded client random is the one sent', () => {
    assert.equal(sec.method, ENCRYPTION_METHOD_FIPS);
    assert.equal(sec.level, ENCRYPTION_LEVEL_FIPS);
    assert.equal(hex(encryptClientRandom(cap.clientRandom, proprietaryRsaKey(sec.certificate))), hex(securityPacket(securityExchange).encryptedClientRandom));
  });

  it('every PDU of both directions (slow and fast path) decrypts with its HMAC, the CBC chain running across PDUs', () => {
    const server = new fips.FipsSession(fips.deriveServerFipsKeys(inputs));
    const client = new fips.FipsSession(fips.deriveFipsKeys(inputs));
    const up = encryptedParts(wirePdus(cap.chunks, 'c2s'), true);
    const down = encryptedParts(wirePdus(cap.chunks, 's2c'), true);
    assert.ok(up.length >= 5 && down.length >= 8, `${up.length} / ${down.length}`);
    assert.ok(down.some((p) => p.fastPath));
    const info = server.decrypt(up[0]!.dataSignature, up[0]!.data, up[0]!.padlen);
    assert.equal(up[0]!.flags & SEC_INFO_PKT, SEC_INFO_PKT);
    assert.ok(info.includes(Buffer.from('test\0', 'utf16le')));
    for (const p of up.slice(1)) server.decrypt(p.dataSignature, p.data, p.padlen);
    for (const p of down) client.decrypt(p.dataSignature, p.data, p.padlen);
    assert.equal(server.counts.decrypted, up.length);
    assert.equal(client.counts.decrypted, down.length);
    for (const p of [...up, ...down]) {
      assert.equal(p.data.length % 8, 0);
      assert.ok(p.padlen < 8);
    }
  });

  it('restarting CBC from the fixed IV for the second PDU gives garbage: the chain is per connection, not per PDU', () => {
    const keys = fips.deriveServerFipsKeys(inputs);
    const up = encryptedParts(wirePdus(cap.chunks, 'c2s'), true);
    const second = up[1]!;
    const restarted = createDecipheriv('des-ede3-cbc', keys.decryptKey, fips.FIPS_IV).setAutoPadding(false).update(second.data);
    const plain = restarted.subarray(0, restarted.length - second.padlen);
    assert.notEqual(hex(fips.fipsMacSignature(keys.hmacKey, plain, 1)), hex(second.dataSignature));
    // only the first block differs: CBC decryption of block i needs ciphertext block i - 1
    const session = new fips.FipsSession(keys);
    session.decrypt(up[0]!.dataSignature, up[0]!.data, up[0]!.padlen);
    const chained = session.decrypt(second.dataSignature, second.data, second.padlen);
    assert.notEqual(hex(plain.subarray(0, 8)), hex(chained.subarray(0, 8)));
    assert.equal(hex(plain.subarray(8)), hex(chained.subarray(8)));
  });
});

describe('FipsSession round trips (property)', () => {
  it('decrypt(encrypt(x)) == x over 4100+ PDUs each way (no key update for FIPS), any length, interleaved', () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 32, maxLength: 32 }), fc.uint8Array({ minLength: 32, maxLength: 32 }), fc.integer({ min: 4097, max: 4200 }), fc.integer(), (cr, sr, n, seed) => {
        const client = new fips.FipsSession(fips.deriveFipsKeys({ clientRandom: cr, serverRandom: sr }));
        const server = new fips.FipsSession(fips.deriveServerFipsKeys({ clientRandom: cr, serverRandom: sr }));
        let s = seed >>> 0;
        const next = (): number => (s = (Math.imul(s, 1664525) + 1013904223) >>> 0);
        for (let i = 0; i < n; i++) {
          const data = Buffer.alloc(next() % 40);
          for (let j = 0; j < data.length; j++) data[j] = next() & 0xff;
          const up = client.encrypt(data);
          assert.equal(up.padlen, (8 - (data.length % 8)) % 8);
          assert.equal(up.data.length, data.length + up.padlen);
          assert.equal(hex(server.decrypt(up.dataSignature, up.data, up.padlen)), hex(data));
          if (next() % 4 === 0) {
            const down = server.encrypt(data);
            assert.equal(hex(client.decrypt(down.dataSignature, down.data, down.padlen)), hex(data));
          }
        }
        assert.equal(client.counts.encrypted, n);
        assert.equal(server.counts.decrypted, n);
      }),
      { numRuns: 3 },
    );
  });

  it('refuses partial blocks, impossible padlen values, and a changed byte', () => {
    const keys = { clientRandom: randomBytes(32), serverRandom: randomBytes(32) };
    const client = new fips.FipsSession(fips.deriveFipsKeys(keys));
    const server = new fips.FipsSession(fips.deriveServerFipsKeys(keys));
    const p = client.encrypt(Buffer.from('0123456789'));
    assert.throws(() => server.decrypt(p.dataSignature, p.data.subarray(1), p.padlen), isKind('BadPadding'));
    assert.throws(() => server.decrypt(p.dataSignature, p.data, 8), isKind('BadPadding'));
    assert.throws(() => server.decrypt(p.dataSignature, Buffer.alloc(0), 1), isKind('BadPadding'));
    const fresh = new fips.FipsSession(fips.deriveServerFipsKeys(keys));
    const bad = Buffer.from(p.data);
    bad[3]! ^= 0x80;
    assert.throws(() => fresh.decrypt(p.dataSignature, bad, p.padlen), isKind('MacMismatch'));
    assert.throws(() => new fips.FipsSession({ encryptKey: Buffer.alloc(16), decryptKey: Buffer.alloc(24), hmacKey: Buffer.alloc(20) }), isKind('BadLength'));
  });
});
