import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import fc from 'fast-check';
import * as sk from '../../src/crypto/session-keys.js';
import { Rc4 } from '../../src/crypto/rc4.js';
import { encryptClientRandom } from '../../src/crypto/rsa.js';
import { RdpCryptoError } from '../../src/crypto/errors.js';
import { ENCRYPTION_METHOD_40BIT, ENCRYPTION_METHOD_56BIT, ENCRYPTION_METHOD_128BIT, ENCRYPTION_METHOD_FIPS } from '../../src/pdu/client-data.js';
import { ENCRYPTION_LEVEL_HIGH, ENCRYPTION_LEVEL_LOW } from '../../src/pdu/server-data.js';
import { proprietaryRsaKey } from '../../src/pdu/server-certificate.js';
import {
  encryptedParts,
  handshake,
  LAB_KEY_UPDATE_CAPTURES,
  loadKeyUpdateExcerpt,
  loadLabCapture,
  securityPacket,
  serverSecurity,
  wirePdus,
  SEC_INFO_PKT,
  SEC_SECURE_CHECKSUM,
} from './captures.js';

const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');
const sha1 = (...p: Uint8Array[]): Buffer => p.reduce((h, x) => h.update(x), createHash('sha1')).digest();
const md5 = (...p: Uint8Array[]): Buffer => p.reduce((h, x) => h.update(x), createHash('md5')).digest();
const METHODS = [ENCRYPTION_METHOD_40BIT, ENCRYPTION_METHOD_56BIT, ENCRYPTION_METHOD_128BIT] as const;
const isKind = (kind: string) => (e: unknown): boolean => e instanceof RdpCryptoError && e.kind === kind;

/**
 * xrdp's own structure (libxrdp/xrdp_sec.c xrdp_sec_hash_48 / xrdp_sec_hash_16 /
 * xrdp_sec_establish_keys), written out again here as an independent check of the
 * specification-shaped code: salt byte `c + i` repeated i + 1 times ('A', 'BB', 'CCC' from 65;
 * 'X', 'YY', 'ZZZ' from 88).
 */
function xrdpHash48(input: Uint8Array, r1: Uint8Array, r2: Uint8Array, c: number): Buffer {
  const out: Buffer[] = [];
  for (let i = 0; i < 3; i++) out.push(md5(input, sha1(Buffer.alloc(i + 1, c + i), input, r1, r2)));
  return Buffer.concat(out);
}
function xrdpServerKeys(cr: Uint8Array, sr: Uint8Array, fortyBit: boolean): { sign: Buffer; encrypt: Buffer; decrypt: Buffer } {
  const temp = xrdpHash48(Buffer.concat([cr.subarray(0, 24), sr.subarray(0, 24)]), cr, sr, 65);
  const session = xrdpHash48(temp, cr, sr, 88);
  const keys = { sign: session.subarray(0, 16), encrypt: md5(session.subarray(16, 32), cr, sr), decrypt: md5(session.subarray(32, 48), cr, sr) };
  if (!fortyBit) return keys;
  const make40 = (k: Buffer): Buffer => Buffer.concat([Buffer.from([0xd1, 0x26, 0x9e]), k.subarray(3, 8)]);
  return { sign: make40(keys.sign), encrypt: make40(keys.encrypt), decrypt: make40(keys.decrypt) };
}

describe('session keys (MS-RDPBCGR 5.3.5.1)', () => {
  it("equal xrdp's construction for any randoms (server view), 40-bit and 128-bit", () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 32, maxLength: 32 }), fc.uint8Array({ minLength: 32, maxLength: 32 }), (cr, sr) => {
        for (const method of [ENCRYPTION_METHOD_40BIT, ENCRYPTION_METHOD_128BIT] as const) {
          const ours = sk.deriveServerSessionKeys({ clientRandom: cr, serverRandom: sr, method });
          const theirs = xrdpServerKeys(cr, sr, method === ENCRYPTION_METHOD_40BIT);
          assert.equal(hex(ours.macKey), hex(theirs.sign));
          assert.equal(hex(ours.encryptKey), hex(theirs.encrypt));
          assert.equal(hex(ours.decryptKey), hex(theirs.decrypt));
        }
      }),
      { numRuns: 50 },
    );
  });

  it('client and server views are swapped; the MAC key is shared', () => {
    const inputs = { clientRandom: randomBytes(32), serverRandom: randomBytes(32), method: ENCRYPTION_METHOD_128BIT } as const;
    const c = sk.deriveSessionKeys(inputs);
    const s = sk.deriveServerSessionKeys(inputs);
    assert.equal(hex(c.encryptKey), hex(s.decryptKey));
    assert.equal(hex(c.decryptKey), hex(s.encryptKey));
    assert.equal(hex(c.macKey), hex(s.macKey));
    assert.deepEqual(sk.swapDirections(s), c);
  });

  it('reduces keys: 40-bit D1 26 9E + bytes 3..7, 56-bit D1 + bytes 1..7, 128-bit whole', () => {
    const k = Buffer.from('00112233445566778899aabbccddeeff', 'hex');
    assert.equal(hex(sk.reduceKey(k, ENCRYPTION_METHOD_40BIT)), 'd1269e3344556677');
    assert.equal(hex(sk.reduceKey(k, ENCRYPTION_METHOD_56BIT)), 'd111223344556677');
    assert.equal(hex(sk.reduceKey(k, ENCRYPTION_METHOD_128BIT)), hex(k));
    const blob = sk.deriveSessionKeyBlob(Buffer.alloc(32, 1), Buffer.alloc(32, 2));
    assert.equal(blob.length, 48);
    assert.equal(hex(sk.deriveSessionKeys({ clientRandom: Buffer.alloc(32, 1), serverRandom: Buffer.alloc(32, 2), method: ENCRYPTION_METHOD_56BIT }).macKey), hex(sk.reduceKey(blob.subarray(0, 16), ENCRYPTION_METHOD_56BIT)));
  });

  it('refuses FIPS/NONE and randoms that are not 32 bytes', () => {
    assert.throws(() => sk.deriveSessionKeys({ clientRandom: randomBytes(32), serverRandom: randomBytes(32), method: ENCRYPTION_METHOD_FIPS as never }), isKind('UnsupportedMethod'));
    assert.throws(() => sk.deriveSessionKeys({ clientRandom: randomBytes(31), serverRandom: randomBytes(32), method: 2 }), isKind('BadLength'));
    assert.throws(() => sk.updateKey(Buffer.alloc(8), Buffer.alloc(16), ENCRYPTION_METHOD_128BIT), isKind('BadLength'));
  });
});

describe('MACs (MS-RDPBCGR 5.3.6.1, 5.3.6.1.1)', () => {
  const key = Buffer.from('0102030405060708090a0b0c0d0e0f10', 'hex');
  const data = Buffer.from('hello, standard rdp security');
  it('MACSignature = First64Bits(MD5(K + Pad2 + SHA(K + Pad1 + len32le + data)))', () => {
    const len = Buffer.from([data.length, 0, 0, 0]);
    const expected = md5(key, Buffer.alloc(48, 0x5c), sha1(key, Buffer.alloc(40, 0x36), len, data)).subarray(0, 8);
    assert.equal(hex(sk.macSignature(key, data)), hex(expected));
  });
  it('salted: the spec example of 42 packets already encrypted appends 2a 00 00 00 to the SHA input', () => {
    const len = Buffer.from([data.length, 0, 0, 0]);
    const expected = md5(key, Buffer.alloc(48, 0x5c), sha1(key, Buffer.alloc(40, 0x36), len, data, Buffer.from('2a000000', 'hex'))).subarray(0, 8);
    assert.equal(hex(sk.saltedMacSignature(key, data, 42)), hex(expected));
    assert.notEqual(hex(sk.saltedMacSignature(key, data, 0)), hex(sk.macSignature(key, data)));
  });
});

describe('real xrdp / xfreerdp / rdesktop traffic (test/crypto/captures)', () => {
  const cases = [
    { name: 'xrdp-rdp-low--xfreerdp-sec-rdp', method: ENCRYPTION_METHOD_40BIT, level: ENCRYPTION_LEVEL_LOW, macForm: 'salted' },
    { name: 'xrdp-rdp-high--xfreerdp-sec-rdp', method: ENCRYPTION_METHOD_128BIT, level: ENCRYPTION_LEVEL_HIGH, macForm: 'salted' },
    { name: 'xrdp-rdp-low--rdesktop', method: ENCRYPTION_METHOD_40BIT, level: ENCRYPTION_LEVEL_LOW, macForm: 'unsalted' },
    { name: 'xrdp-rdp-high--rdesktop', method: ENCRYPTION_METHOD_128BIT, level: ENCRYPTION_LEVEL_HIGH, macForm: 'unsalted' },
  ] as const;

  for (const c of cases) {
    it(`${c.name}: every encrypted PDU decrypts and its ${c.macForm} MAC verifies, both directions`, () => {
      const cap = loadLabCapture(c.name);
      const { connectResponse, securityExchange } = handshake(cap.chunks);
      const sec = serverSecurity(connectResponse);
      assert.equal(sec.method, c.method);
      assert.equal(sec.level, c.level);
      assert.equal(hex(encryptClientRandom(cap.clientRandom, proprietaryRsaKey(sec.certificate))), hex(securityPacket(securityExchange).encryptedClientRandom));
      const inputs = { clientRandom: cap.clientRandom, serverRandom: sec.serverRandom, method: c.method };
      const server = new sk.Rc4Session(sk.deriveServerSessionKeys(inputs));
      const client = new sk.Rc4Session(sk.deriveSessionKeys(inputs));

      const fromClient = encryptedParts(wirePdus(cap.chunks, 'c2s'), false);
      assert.ok(fromClient.length >= 1);
      const info = fromClient[0]!;
      assert.equal(info.flags & SEC_INFO_PKT, SEC_INFO_PKT);
      for (const p of fromClient) {
        assert.equal(p.salted, c.macForm === 'salted', 'the MAC form follows the client');
        server.decrypt(p.dataSignature, p.data, p.salted ? 'salted' : 'unsalted');
      }
      assert.equal(server.counts.decrypted, fromClient.length);

      // the Client Info PDU (TS_INFO_PACKET, 2.2.1.11.1.1): the user name "test" in UTF-16LE
      const infoPlain = new sk.Rc4Session(sk.deriveServerSessionKeys(inputs)).decrypt(info.dataSignature, info.data, c.macForm);
      assert.ok(infoPlain.includes(Buffer.from('test\0', 'utf16le')));
      if (c.macForm === 'salted') {
        // xrdp 0.9.21 (Debian, deb12u3) checks only the unsalted form: this is its "MAC checksum error"
        assert.equal(info.flags & SEC_SECURE_CHECKSUM, SEC_SECURE_CHECKSUM);
        assert.notEqual(hex(sk.macSignature(server.macKey, infoPlain)), hex(info.dataSignature));
        assert.equal(hex(sk.saltedMacSignature(server.macKey, infoPlain, 0)), hex(info.dataSignature));
      }

      // xrdp signs with the unsalted form; at LOW it encrypts nothing towards the client (5.3.1)
      const fromServer = encryptedParts(wirePdus(cap.chunks, 's2c'), false);
      if (c.level === ENCRYPTION_LEVEL_LOW) assert.equal(fromServer.length, 0);
      for (const p of fromServer) {
        assert.equal(p.salted, false);
        client.decrypt(p.dataSignature, p.data, 'unsalted');
      }
      if (c.name === 'xrdp-rdp-high--rdesktop') assert.ok(fromServer.length >= 8, `${fromServer.length} server PDUs`);
    });
  }

  it('a changed byte is a MAC mismatch', () => {
    const cap = loadLabCapture('xrdp-rdp-high--rdesktop');
    const sec = serverSecurity(handshake(cap.chunks).connectResponse);
    const server = new sk.Rc4Session(sk.deriveServerSessionKeys({ clientRandom: cap.clientRandom, serverRandom: sec.serverRandom, method: ENCRYPTION_METHOD_128BIT }));
    const p = encryptedParts(wirePdus(cap.chunks, 'c2s'), false)[0]!;
    const data = Buffer.from(p.data);
    data[20]! ^= 0x01;
    assert.throws(() => server.decrypt(p.dataSignature, data), isKind('MacMismatch'));
  });
});

describe('key update after 4096 packets (MS-RDPBCGR 5.3.7.1), on real rdesktop -> xrdp traffic', () => {
  for (const name of LAB_KEY_UPDATE_CAPTURES) {
    it(`${name}: packets ${4090}..${4101} decrypt, with the updated key from packet 4096 on`, () => {
      const x = loadKeyUpdateExcerpt(name);
      const sec = serverSecurity(x.connectResponse);
      assert.equal(hex(encryptClientRandom(x.clientRandom, proprietaryRsaKey(sec.certificate))), hex(securityPacket(x.securityExchange).encryptedClientRandom));
      assert.ok(x.encryptedClientToServer > 4102, `only ${x.encryptedClientToServer} packets`);
      const method = sec.method as sk.Rc4EncryptionMethod;
      const keys = sk.deriveServerSessionKeys({ clientRandom: x.clientRandom, serverRandom: sec.serverRandom, method });
      const old = new Rc4(keys.decryptKey);
      old.discard(x.keystreamOffset);
      const updated = sk.updateKey(keys.decryptKey, keys.decryptKey, method);
      const fresh = new Rc4(updated);
      const plain = (u: Buffer, r: Rc4): Buffer => r.update(u.subarray(12));
      x.userData.forEach((u, i) => {
        const index = x.first + i;
        const p = plain(u, index < 4096 ? old : fresh);
        assert.equal(hex(sk.macSignature(keys.macKey, p)), hex(u.subarray(4, 12)), `packet ${index}`);
        // a TS_INPUT_PDU (pduType2 0x1c) carrying the synthetic mouse moves
        assert.equal(p.readUInt16LE(2) & 0xf, 0x7);
        assert.equal(p[14], 0x1c);
      });
      assert.equal(updated.length, sk.rc4KeyLength(method));
      if (method === ENCRYPTION_METHOD_40BIT) assert.equal(hex(updated.subarray(0, 3)), 'd1269e');
    });

    it(`${name}: without the update, or without re-salting, packet 4096 fails its MAC`, () => {
      const x = loadKeyUpdateExcerpt(name);
      const sec = serverSecurity(x.connectResponse);
      const method = sec.method as sk.Rc4EncryptionMethod;
      const keys = sk.deriveServerSessionKeys({ clientRandom: x.clientRandom, serverRandom: sec.serverRandom, method });
      const u = x.userData[4096 - x.first]!;
      const stale = new Rc4(keys.decryptKey);
      stale.discard(x.keystreamOffset + x.userData.slice(0, 4096 - x.first).reduce((n, d) => n + d.length - 12, 0));
      assert.notEqual(hex(sk.macSignature(keys.macKey, stale.update(u.subarray(12)))), hex(u.subarray(4, 12)));
      if (method === ENCRYPTION_METHOD_40BIT) {
        const temp = md5(keys.decryptKey, sk.PAD2, sha1(keys.decryptKey, sk.PAD1, keys.decryptKey)).subarray(0, 8);
        const unsalted = new Rc4(temp).update(temp);
        assert.notEqual(hex(sk.macSignature(keys.macKey, new Rc4(unsalted).update(u.subarray(12)))), hex(u.subarray(4, 12)));
      }
    });
  }
});

describe('Rc4Session round trips across key updates (property)', () => {
  it('decrypt(encrypt(x)) == x for 4200+ PDUs each way, 40/56/128-bit, both MAC forms, interleaved', () => {
    fc.assert(
      fc.property(
        fc.constantFrom(...METHODS),
        fc.constantFrom<sk.MacForm>('unsalted', 'salted'),
        fc.uint8Array({ minLength: 32, maxLength: 32 }),
        fc.uint8Array({ minLength: 32, maxLength: 32 }),
        fc.integer({ min: 4097, max: 4300 }),
        fc.integer(),
        (method, form, cr, sr, n, seed) => {
          const inputs = { clientRandom: cr, serverRandom: sr, method };
          const client = new sk.Rc4Session(sk.deriveSessionKeys(inputs));
          const server = new sk.Rc4Session(sk.deriveServerSessionKeys(inputs));
          let s = seed >>> 0;
          const next = (): number => (s = (Math.imul(s, 1664525) + 1013904223) >>> 0);
          for (let i = 0; i < n; i++) {
            const data = Buffer.alloc(next() % 48);
            for (let j = 0; j < data.length; j++) data[j] = next() & 0xff;
            const up = client.encrypt(data, form);
            assert.equal(hex(server.decrypt(up.dataSignature, up.data, form)), hex(data));
            if (next() % 3 === 0) {
              const down = server.encrypt(data, form);
              assert.equal(hex(client.decrypt(down.dataSignature, down.data, form)), hex(data));
            }
          }
          assert.equal(client.counts.encrypted, n);
          assert.equal(client.counts.encryptUpdates, Math.floor((n - 1) / 4096));
          assert.equal(server.counts.decryptUpdates, client.counts.encryptUpdates);
          assert.equal(hex(client.currentKeys.encryptKey), hex(server.currentKeys.decryptKey));
          assert.notEqual(hex(client.currentKeys.encryptKey), hex(sk.deriveSessionKeys(inputs).encryptKey));
        },
      ),
      { numRuns: 4 },
    );
  });

  it('the stream after 4096 packets uses updateKey(initial, initial), the next one updateKey(initial, that)', () => {
    const inputs = { clientRandom: randomBytes(32), serverRandom: randomBytes(32), method: ENCRYPTION_METHOD_56BIT } as const;
    const keys = sk.deriveSessionKeys(inputs);
    const session = new sk.Rc4Session(keys);
    for (let i = 0; i < 4096; i++) session.encrypt(Buffer.alloc(1));
    assert.equal(hex(session.currentKeys.encryptKey), hex(keys.encryptKey));
    const k1 = sk.updateKey(keys.encryptKey, keys.encryptKey, ENCRYPTION_METHOD_56BIT);
    const out = session.encrypt(Buffer.from('abc'));
    assert.equal(hex(session.currentKeys.encryptKey), hex(k1));
    assert.equal(k1[0], 0xd1);
    assert.equal(hex(out.data), hex(new Rc4(k1).update(Buffer.from('abc'))));
    for (let i = 0; i < 4095; i++) session.encrypt(Buffer.alloc(1));
    session.encrypt(Buffer.alloc(1));
    assert.equal(hex(session.currentKeys.encryptKey), hex(sk.updateKey(keys.encryptKey, k1, ENCRYPTION_METHOD_56BIT)));
  });
});
