import { createHash, generateKeyPairSync } from 'node:crypto';
import {
  bigintFromLE,
  proprietarySignedBytes,
  PROPRIETARY_SIGNATURE_BLOB_LENGTH,
  type ProprietaryServerCertificate,
} from '../pdu/server-certificate.js';
import { RdpCryptoError } from './errors.js';

/**
 * Raw ("textbook", unpadded) RSA on little-endian byte strings, as Standard RDP Security uses
 * it: the client random (MS-RDPBCGR 5.3.4.1) and the proprietary certificate signature
 * (5.3.3.1.2, 5.3.3.1.3). Every value on the wire is an unsigned little-endian integer; the
 * outputs are padded with zero bytes to the modulus length.
 *
 * Raw RSA has no padding and so no protection against anything; it is here because the protocol
 * is defined that way, not as general-purpose cryptography.
 */

/** An RSA public key in wire form: little-endian modulus (no trailing zero bytes) and exponent. */
export interface RsaPublicKeyLE {
  modulusLE: Uint8Array;
  exponent: bigint;
}

/** An RSA key pair in wire form (the private exponent little-endian, modulus length). */
export interface RsaKeyPairLE extends RsaPublicKeyLE {
  privateExponentLE: Uint8Array;
}

/** Client random length (MS-RDPBCGR 5.3.4): 32 bytes. */
export const CLIENT_RANDOM_LENGTH = 32;

/** base^exp mod mod, square and multiply. */
export function modPow(base: bigint, exp: bigint, mod: bigint): bigint {
  if (mod <= 0n) throw new RangeError('modulus must be positive');
  let result = 1n % mod;
  let b = base % mod;
  for (let e = exp; e > 0n; e >>= 1n) {
    if (e & 1n) result = (result * b) % mod;
    b = (b * b) % mod;
  }
  return result;
}

/** A non-negative bigint as `length` little-endian bytes; throws when it does not fit. */
export function bigintToLE(value: bigint, length: number): Buffer {
  if (value < 0n) throw new RangeError('negative value');
  const out = Buffer.alloc(length);
  let v = value;
  for (let i = 0; i < length && v > 0n; i++) {
    out[i] = Number(v & 0xffn);
    v >>= 8n;
  }
  if (v > 0n) throw new RangeError(`value does not fit in ${length} bytes`);
  return out;
}

function rawRsa(what: string, dataLE: Uint8Array, modulusLE: Uint8Array, exponent: bigint): Buffer {
  const n = bigintFromLE(modulusLE);
  if (n < 2n) throw new RdpCryptoError('BadRsaValue', what, 'modulus is zero or one');
  const m = bigintFromLE(dataLE);
  if (m >= n) throw new RdpCryptoError('BadRsaValue', what, 'value is not below the modulus');
  return bigintToLE(modPow(m, exponent, n), modulusLE.length);
}

/**
 * c = m^e mod n with m, n little-endian (MS-RDPBCGR 5.3.4.1); the result is little-endian and as
 * long as the modulus.
 */
export function rsaEncryptLE(dataLE: Uint8Array, modulusLE: Uint8Array, exponent: bigint | number): Buffer {
  return rawRsa('RSA encrypt', dataLE, modulusLE, BigInt(exponent));
}

/** m = c^d mod n with c, n, d little-endian (the server side of 5.3.4.1); modulus-length result. */
export function rsaDecryptLE(dataLE: Uint8Array, modulusLE: Uint8Array, privateExponentLE: Uint8Array | bigint): Buffer {
  const d = typeof privateExponentLE === 'bigint' ? privateExponentLE : bigintFromLE(privateExponentLE);
  return rawRsa('RSA decrypt', dataLE, modulusLE, d);
}

/**
 * The encryptedClientRandom of the Security Exchange PDU (MS-RDPBCGR 2.2.1.10.1, 5.3.4.1): the
 * 32-byte client random, read as a little-endian integer, raised to the server's public
 * exponent, written little-endian into a zeroed buffer of modulus length + 8 bytes (keylen),
 * which is also what the TS_SECURITY_PACKET length field carries.
 */
export function encryptClientRandom(clientRandom: Uint8Array, key: RsaPublicKeyLE): Buffer {
  if (clientRandom.length !== CLIENT_RANDOM_LENGTH) {
    throw new RdpCryptoError('BadLength', 'ClientRandom', `client random of ${clientRandom.length} bytes is not 32`);
  }
  return Buffer.concat([rsaEncryptLE(clientRandom, key.modulusLE, key.exponent), Buffer.alloc(8)]);
}

/**
 * Server side of 5.3.4.1: recover the 32-byte client random from encryptedClientRandom
 * (modulus length bytes, optionally followed by the 8 zero bytes). A decrypted value that does
 * not fit in 32 bytes means a wrong key or a tampered PDU and is an error.
 */
export function decryptClientRandom(encrypted: Uint8Array, key: RsaKeyPairLE): Buffer {
  const k = key.modulusLE.length;
  if (encrypted.length !== k && encrypted.length !== k + 8) {
    throw new RdpCryptoError('BadLength', 'encryptedClientRandom', `${encrypted.length} bytes is neither ${k} nor ${k + 8}`);
  }
  if (encrypted.length === k + 8 && encrypted.subarray(k).some((b) => b !== 0)) {
    throw new RdpCryptoError('BadLength', 'encryptedClientRandom', 'the 8 bytes after the ciphertext are not zero');
  }
  const m = rsaDecryptLE(encrypted.subarray(0, k), key.modulusLE, key.privateExponentLE);
  if (m.subarray(CLIENT_RANDOM_LENGTH).some((b) => b !== 0)) {
    throw new RdpCryptoError('BadRsaValue', 'encryptedClientRandom', 'decrypted value does not fit in 32 bytes (wrong key?)');
  }
  return Buffer.from(m.subarray(0, CLIENT_RANDOM_LENGTH));
}

/**
 * The Terminal Services signing key (MS-RDPBCGR 5.3.3.1.1): a 512-bit RSA key pair published
 * in the specification, so a proprietary certificate signature proves nothing about the server.
 * Little-endian, as the specification lists it (also FreeRDP's certificate.c / privatekey.c).
 */
export const TERMINAL_SERVICES_SIGNING_KEY: Readonly<RsaKeyPairLE> = Object.freeze({
  modulusLE: Buffer.from(
    '3d3a5ebd72433ec94dbbc11e4aba5fcb3e882087eff5c1e2d7b76b9af2524595ce63656b583afeef7ce7bffe3df65c7d6c5e06091af561bb2093095f056dea87',
    'hex',
  ),
  exponent: 0xc0887b5bn,
  privateExponentLE: Buffer.from(
    '87a71932da11875558001616256568f8243ee6fae9674994cf92cc3399e80860179a129f24ddb12499c73ab80a7b0ddd350779170b519bb3c7100113e73ff35f',
    'hex',
  ),
});

/** MD5 over dwVersion, dwSigAlgId, dwKeyAlgId, wPublicKeyBlobType, wPublicKeyBlobLen, PublicKeyBlob (5.3.3.1.2). */
export function proprietaryCertificateHash(cert: Omit<ProprietaryServerCertificate, 'signatureBlob'>): Buffer {
  return createHash('md5')
    .update(proprietarySignedBytes({ ...cert, signatureBlob: new Uint8Array(PROPRIETARY_SIGNATURE_BLOB_LENGTH) }))
    .digest();
}

/**
 * The 63-byte little-endian value that is signed (5.3.3.1.2) and that a verified signature
 * decrypts to (5.3.3.1.3): the 16-byte hash, then 0x00, then 0xFF up to byte 61, then 0x01 at
 * byte 62 (the "17th", "18th to 62nd" and "63rd" bytes of the specification, counted from 1).
 */
export function proprietarySignaturePlaintext(hash: Uint8Array): Buffer {
  if (hash.length !== 16) throw new RdpCryptoError('BadLength', 'proprietary certificate hash', `${hash.length} bytes is not 16`);
  const m = Buffer.alloc(63, 0xff);
  Buffer.from(hash).copy(m, 0);
  m[16] = 0x00;
  m[62] = 0x01;
  return m;
}

/**
 * SignatureBlob for a proprietary certificate (MS-RDPBCGR 5.3.3.1.2): s = m^d mod n with the
 * Terminal Services signing key (or another 512-bit key pair, for tests), 64 bytes little-endian,
 * followed by 8 zero bytes (wSignatureBlobLen 72).
 */
export function signProprietaryCertificate(
  cert: Omit<ProprietaryServerCertificate, 'signatureBlob'>,
  key: RsaKeyPairLE = TERMINAL_SERVICES_SIGNING_KEY,
): Buffer {
  const m = proprietarySignaturePlaintext(proprietaryCertificateHash(cert));
  const s = rsaDecryptLE(m, key.modulusLE, key.privateExponentLE);
  const blob = Buffer.alloc(PROPRIETARY_SIGNATURE_BLOB_LENGTH);
  s.copy(blob, 0);
  return blob;
}

/**
 * Check a proprietary certificate's signature (MS-RDPBCGR 5.3.3.1.3): the signature, read as a
 * little-endian integer, raised to the signing key's public exponent, must give exactly
 * proprietarySignaturePlaintext(hash) (with a zero 64th byte). The 8 bytes after the signature
 * must be zero. With the published key this shows only that the certificate was not damaged.
 */
export function verifyProprietarySignature(cert: ProprietaryServerCertificate, key: RsaPublicKeyLE = TERMINAL_SERVICES_SIGNING_KEY): boolean {
  const k = key.modulusLE.length;
  const blob = cert.signatureBlob;
  if (blob.length !== k + 8 || blob.subarray(k).some((b) => b !== 0)) return false;
  const s = blob.subarray(0, k);
  if (bigintFromLE(s) >= bigintFromLE(key.modulusLE)) return false;
  const m = rsaEncryptLE(s, key.modulusLE, key.exponent);
  const expected = Buffer.concat([proprietarySignaturePlaintext(proprietaryCertificateHash(cert)), Buffer.alloc(k - 63)]);
  return m.equals(expected);
}

function leFromBase64url(b64: string, length: number): Buffer {
  const be = Buffer.from(b64, 'base64url');
  return bigintToLE(BigInt('0x' + (be.toString('hex') || '0')), length);
}

/**
 * A fresh RSA key pair in wire form for a server's proprietary certificate (xrdp uses 2048 bits,
 * Windows 512 or 2048), exponent 65537, from node:crypto.
 */
export function generateRsaKeyPairLE(bits = 2048): RsaKeyPairLE {
  if (bits % 8 !== 0 || bits < 512) throw new RangeError(`modulus of ${bits} bits is not a multiple of 8 >= 512`);
  const { privateKey } = generateKeyPairSync('rsa', { modulusLength: bits, publicExponent: 65537 });
  const jwk = privateKey.export({ format: 'jwk' });
  if (!jwk.n || !jwk.d) throw new Error('node:crypto gave an RSA JWK without n or d');
  return { modulusLE: leFromBase64url(jwk.n, bits / 8), exponent: 65537n, privateExponentLE: leFromBase64url(jwk.d, bits / 8) };
}
