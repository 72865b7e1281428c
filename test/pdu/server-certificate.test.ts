import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { EncodeError } from '../../src/pdu/errors.js';
import * as gcc from '../../src/pdu/gcc.js';
import * as mcs from '../../src/pdu/mcs.js';
import * as sc from '../../src/pdu/server-certificate.js';
import * as sd from '../../src/pdu/server-data.js';
import { FIXTURES } from './fixtures-mcs.js';
import { EC_TEST_CERT_DER, XRDP_TLS_CERT_DER } from './fixtures-certs.js';
import { enc, fuzzMutations, fuzzRandom, fuzzTruncations, hex, throwsDecode } from './fuzz-helpers.js';

type CrName = 'xrdpHighConnectResponse' | 'xrdpLowConnectResponse' | 'xrdpFipsConnectResponse';
function certBytes(name: CrName): Uint8Array {
  const blocks = gcc.decodeConferenceCreateResponse(mcs.decodeMcsConnectResponse(FIXTURES[name]().bytes).userData).userData;
  return sd.collectServerData(sd.decodeServerDataBlocks(blocks)).security!.serverCertificate!;
}
function proprietary(name: CrName = 'xrdpHighConnectResponse'): sc.ProprietaryServerCertificate {
  const c = sc.decodeServerCertificate(certBytes(name));
  assert.equal(c.kind, 'proprietary');
  return c as sc.ProprietaryServerCertificate;
}

/** The Terminal Services signing key published in MS-RDPBCGR 5.3.3.1.1 (little-endian bytes). */
const TSSK_MODULUS_LE =
  '3d3a5ebd72433ec94dbbc11e4aba5fcb3e882087eff5c1e2d7b76b9af2524595ce63656b583afeef7ce7bffe3df65c7d6c5e06091af561bb2093095f056dea87';
const TSSK_EXPONENT = 0xc0887b5bn;

function modPow(base: bigint, exp: bigint, mod: bigint): bigint {
  let result = 1n;
  let b = base % mod;
  for (let e = exp; e > 0n; e >>= 1n) {
    if (e & 1n) result = (result * b) % mod;
    b = (b * b) % mod;
  }
  return result;
}

describe('proprietary certificate (xrdp, real)', () => {
  it('decodes a permanent RSA1 2048-bit key with exponent 65537 and a 72-byte signature blob', () => {
    const c = proprietary();
    assert.equal(c.temporary, false);
    assert.equal(c.dwSigAlgId, sc.SIGNATURE_ALG_RSA);
    assert.equal(c.dwKeyAlgId, sc.KEY_EXCHANGE_ALG_RSA);
    assert.deepEqual({ ...c.publicKey, modulus: undefined }, { keylen: 264, bitlen: 2048, datalen: 255, pubExp: 65537, modulus: undefined });
    assert.equal(hex(c.publicKey.modulus).slice(0, 16), '6bd6727c5f407cb5');
    assert.equal(c.signatureBlob.length, 72);
    assert.equal(hex(c.signatureBlob.subarray(64)), '0000000000000000');
    assert.equal(hex(enc(c, sc.encodeServerCertificate)), hex(certBytes('xrdpHighConnectResponse')));
  });

  it('exposes the key as little-endian bytes and bigints', () => {
    const key = sc.proprietaryRsaKey(proprietary());
    assert.equal(key.bits, 2048);
    assert.equal(key.exponent, 65537n);
    assert.equal(hex(key.exponentLE), '01000100');
    assert.equal(key.modulus.toString(2).length, 2048);
    assert.equal(key.modulus & 0xffn, 0x6bn); // the first wire byte is the least significant
    assert.equal(key.modulus, sc.bigintFromLE(key.modulusLE));
  });

  it('xrdp uses the same key at every level', () => {
    const keys = (['xrdpHighConnectResponse', 'xrdpLowConnectResponse', 'xrdpFipsConnectResponse'] as const).map((n) =>
      hex(proprietary(n).publicKey.modulus),
    );
    assert.equal(new Set(keys).size, 1);
  });

  it('its signature is the published TS signing key over dwVersion..PublicKeyBlob (MS-RDPBCGR 5.3.3.1.2)', () => {
    const c = proprietary();
    const s = sc.bigintFromLE(c.signatureBlob.subarray(0, 64));
    const m = modPow(s, TSSK_EXPONENT, sc.bigintFromLE(Buffer.from(TSSK_MODULUS_LE, 'hex')));
    const le = Buffer.from(m.toString(16).padStart(128, '0'), 'hex').reverse();
    assert.equal(hex(le.subarray(0, 16)), createHash('md5').update(sc.proprietarySignedBytes(c)).digest('hex'));
    assert.equal(le[16], 0x00);
    // FreeRDP certificate.c: byte 17 is 0x00, bytes 18..62 are 0xff, byte 63 is 0x01
    assert.ok(le.subarray(17, 62).every((b) => b === 0xff), hex(le));
    assert.equal(le[62], 0x01);
  });

  it('keeps the t bit', () => {
    const t = { ...proprietary(), temporary: true };
    const bytes = enc(t, sc.encodeServerCertificate);
    assert.equal(hex(bytes.subarray(0, 4)), '01000080');
    assert.equal(sc.decodeServerCertificate(bytes).temporary, true);
  });
});

describe('proprietary certificate length relations', () => {
  const h = (): string => hex(certBytes('xrdpHighConnectResponse'));
  const at = (s: string, offset: number, replacement: string): Buffer =>
    Buffer.from(s.slice(0, offset * 2) + replacement + s.slice(offset * 2 + replacement.length), 'hex');
  // offsets: dwVersion 0, dwSigAlgId 4, dwKeyAlgId 8, wPublicKeyBlobType 12, wPublicKeyBlobLen 14,
  // magic 16, keylen 20, bitlen 24, datalen 28, pubExp 32, modulus 36, padding 292, sig type 300, sig len 302
  it('checks every field FreeRDP and IronRDP check', () => {
    throwsDecode(() => sc.decodeServerCertificate(at(h(), 0, '03000000')), 'UnsupportedValue', 'dwVersion');
    throwsDecode(() => sc.decodeServerCertificate(at(h(), 4, '02000000')), 'UnsupportedValue', 'dwSigAlgId');
    throwsDecode(() => sc.decodeServerCertificate(at(h(), 12, '0700')), 'InvalidField', 'wPublicKeyBlobType');
    throwsDecode(() => sc.decodeServerCertificate(at(h(), 16, '52534132')), 'InvalidField', 'magic');
    throwsDecode(() => sc.decodeServerCertificate(at(h(), 20, '07010000')), 'InvalidField', 'keylen');
    throwsDecode(() => sc.decodeServerCertificate(at(h(), 24, '00040000')), 'InvalidField', 'bitlen');
    throwsDecode(() => sc.decodeServerCertificate(at(h(), 28, 'fe000000')), 'InvalidField', 'datalen');
    throwsDecode(() => sc.decodeServerCertificate(at(h(), 300, '0700')), 'InvalidField', 'wSignatureBlobType');
    throwsDecode(() => sc.decodeServerCertificate(at(h(), 302, '4000')), 'InvalidField', 'wSignatureBlobLen');
    throwsDecode(() => sc.decodeServerCertificate(at(h(), 14, 'ffff')), 'NotEnoughBytes', 'PublicKeyBlob');
    throwsDecode(() => sc.decodeServerCertificate(Buffer.from(h() + '00', 'hex')), 'TrailingBytes');
  });

  it('encodes from a modulus and refuses inconsistent lengths', () => {
    const c = proprietary();
    const again = { ...c, publicKey: sc.rsaPublicKeyBlob(c.publicKey.modulus, 65537) };
    assert.equal(hex(enc(again, sc.encodeServerCertificate)), h());
    assert.throws(() => enc({ ...c, publicKey: { ...c.publicKey, bitlen: 1024 } }, sc.encodeServerCertificate), EncodeError);
    assert.throws(() => enc({ ...c, signatureBlob: new Uint8Array(64) }, sc.encodeServerCertificate), EncodeError);
  });
});

describe('X.509 certificate chain', () => {
  const chain: sc.X509ServerCertificateChain = { kind: 'x509', temporary: false, certificates: [EC_TEST_CERT_DER, XRDP_TLS_CERT_DER] };

  it('round-trips root-first DER blobs with 8 + 4n bytes of padding; the leaf is the last', () => {
    const bytes = enc(chain, sc.encodeServerCertificate);
    assert.equal(bytes.length, 4 + 4 + (4 + EC_TEST_CERT_DER.length) + (4 + XRDP_TLS_CERT_DER.length) + 16);
    assert.equal(hex(bytes.subarray(0, 8)), '0200000002000000');
    const c = sc.decodeServerCertificate(bytes);
    assert.equal(c.kind, 'x509');
    const x = c as sc.X509ServerCertificateChain;
    assert.deepEqual(x.certificates.map((d) => hex(d)), [hex(EC_TEST_CERT_DER), hex(XRDP_TLS_CERT_DER)]);
    assert.equal(hex(sc.x509LeafCertificate(x)), hex(XRDP_TLS_CERT_DER));
  });

  it('bounds NumCertBlobs and cbCert before reading, and checks the padding', () => {
    const bytes = enc(chain, sc.encodeServerCertificate);
    const h = hex(bytes);
    throwsDecode(() => sc.decodeServerCertificate(Buffer.from('0200000001000000', 'hex')), 'InvalidField', 'NumCertBlobs');
    throwsDecode(() => sc.decodeServerCertificate(Buffer.from('02000000c9000000', 'hex')), 'InvalidField', 'NumCertBlobs');
    throwsDecode(() => sc.decodeServerCertificate(Buffer.from('02000000c8000000' + '00'.repeat(100), 'hex')), 'InvalidField', 'NumCertBlobs');
    throwsDecode(() => sc.decodeServerCertificate(Buffer.from(h.slice(0, 16) + 'ffffff7f' + h.slice(24), 'hex')), 'InvalidField', 'CertBlobArray[0].cbCert');
    throwsDecode(() => sc.decodeServerCertificate(bytes.subarray(0, bytes.length - 1)), 'InvalidField', 'Padding');
    throwsDecode(() => sc.decodeServerCertificate(Buffer.concat([bytes, Buffer.alloc(4)])), 'InvalidField', 'Padding');
    assert.throws(() => enc({ ...chain, certificates: [XRDP_TLS_CERT_DER] }, sc.encodeServerCertificate), EncodeError);
  });
});

describe('server certificate fuzz', () => {
  it('random bytes only raise DecodeError', () => {
    fuzzRandom(sc.decodeServerCertificate);
    fuzzRandom(sc.decodeServerCertificate, Buffer.from('010000000100000001000000060000015253413108010000', 'hex'));
    fuzzRandom(sc.decodeServerCertificate, Buffer.from('0200000002000000', 'hex'));
  });
  it('every truncation fails and mutations only raise DecodeError', () => {
    const real = certBytes('xrdpHighConnectResponse');
    fuzzTruncations(real, sc.decodeServerCertificate, true);
    fuzzMutations(real, sc.decodeServerCertificate);
    const x = enc({ kind: 'x509', temporary: false, certificates: [EC_TEST_CERT_DER, EC_TEST_CERT_DER] }, sc.encodeServerCertificate);
    fuzzTruncations(x, sc.decodeServerCertificate, true);
    fuzzMutations(x, sc.decodeServerCertificate);
  });
});
