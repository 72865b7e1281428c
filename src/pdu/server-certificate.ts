import { ReadCursor, WriteCursor } from './cursor.js';
import { DecodeError, EncodeError } from './errors.js';

/**
 * The server certificate of TS_UD_SC_SEC1 (MS-RDPBCGR 2.2.1.4.3.1 SERVER_CERTIFICATE):
 * dwVersion, whose low 31 bits are the certChainVersion (CERT_CHAIN_VERSION_1 = proprietary,
 * CERT_CHAIN_VERSION_2 = X.509 chain, MS-RDPBCGR 5.3.3.2) and whose high bit t says the
 * certificate is temporary; then certData.
 *
 * - CERT_CHAIN_VERSION_1: PROPRIETARYSERVERCERTIFICATE (2.2.1.4.3.1.1) holding an RSA_PUBLIC_KEY
 *   (2.2.1.4.3.1.1.1) and a signature made with the Terminal Services signing key, which is
 *   published in MS-RDPBCGR 5.3.3.1.1 and so proves nothing (FreeRDP does not verify it).
 * - CERT_CHAIN_VERSION_2: X509_CERTIFICATE_CHAIN (MS-RDPELE 2.2.1.4.2): NumCertBlobs (2..200),
 *   CertBlobArray of (cbCert u32le, abCert DER) in root-first order, then 8 + 4 * NumCertBlobs
 *   bytes of padding. The LAST certificate is the terminal server's own (the leaf whose RSA key
 *   encrypts the client random); the one before it is the license server's.
 *
 * DER is not parsed here: see crypto/certificate-summary.ts.
 */

const CERT = 'SERVER_CERTIFICATE';
const PROP = 'PROPRIETARYSERVERCERTIFICATE';
const RSA = 'RSA_PUBLIC_KEY';
const CHAIN = 'X509_CERTIFICATE_CHAIN';

export const CERT_CHAIN_VERSION_1 = 0x00000001;
export const CERT_CHAIN_VERSION_2 = 0x00000002;
export const CERT_CHAIN_VERSION_MASK = 0x7fffffff;
/** The t bit of dwVersion: the certificate is temporary. */
export const CERT_CHAIN_TEMPORARY = 0x80000000;
export const SIGNATURE_ALG_RSA = 0x00000001;
export const KEY_EXCHANGE_ALG_RSA = 0x00000001;
export const BB_RSA_KEY_BLOB = 0x0006;
export const BB_RSA_SIGNATURE_BLOB = 0x0008;
/** RSA_PUBLIC_KEY.magic: "RSA1" read as a little-endian u32. */
export const RSA1_MAGIC = 0x31415352;
/** wSignatureBlobLen: a 64-byte signature (512-bit signing key) and 8 zero bytes; FreeRDP requires 72. */
export const PROPRIETARY_SIGNATURE_BLOB_LENGTH = 72;
/** NumCertBlobs bounds (MS-RDPELE 2.2.1.4.2). */
export const X509_CHAIN_MIN_CERTS = 2;
export const X509_CHAIN_MAX_CERTS = 200;

/** MS-RDPBCGR 2.2.1.4.3.1.1.1 RSA_PUBLIC_KEY. `modulus` is little-endian, without its 8 zero bytes. */
export interface RsaPublicKeyBlob {
  /** modulus bytes + 8 */
  keylen: number;
  /** modulus bits = (keylen - 8) * 8 */
  bitlen: number;
  /** bitlen / 8 - 1 */
  datalen: number;
  /** public exponent */
  pubExp: number;
  /** little-endian modulus, keylen - 8 bytes */
  modulus: Uint8Array;
}

/** MS-RDPBCGR 2.2.1.4.3.1.1 PROPRIETARYSERVERCERTIFICATE, with the t bit of dwVersion. */
export interface ProprietaryServerCertificate {
  kind: 'proprietary';
  temporary: boolean;
  /** SIGNATURE_ALG_RSA */
  dwSigAlgId: number;
  /** KEY_EXCHANGE_ALG_RSA */
  dwKeyAlgId: number;
  publicKey: RsaPublicKeyBlob;
  /** the whole SignatureBlob (wSignatureBlobLen bytes: signature then 8 zero bytes) */
  signatureBlob: Uint8Array;
}

/** MS-RDPELE 2.2.1.4.2 X509_CERTIFICATE_CHAIN, with the t bit of dwVersion. */
export interface X509ServerCertificateChain {
  kind: 'x509';
  temporary: boolean;
  /** DER of each certificate, root first; the last is the terminal server's (leaf) */
  certificates: Uint8Array[];
}

export type ServerCertificate = ProprietaryServerCertificate | X509ServerCertificateChain;

function decodeRsaPublicKey(r: ReadCursor, blobLength: number): RsaPublicKeyBlob {
  const start = r.at;
  const magic = r.u32le(RSA, 'magic');
  if (magic !== RSA1_MAGIC) throw new DecodeError('InvalidField', RSA, 'magic', start, 'magic is not "RSA1"');
  const keylen = r.u32le(RSA, 'keylen');
  const bitlen = r.u32le(RSA, 'bitlen');
  const datalen = r.u32le(RSA, 'datalen');
  const pubExp = r.u32le(RSA, 'pubExp');
  if (keylen <= 8 || 20 + keylen !== blobLength) {
    throw new DecodeError('InvalidField', RSA, 'keylen', start + 4, `keylen ${keylen} does not fit wPublicKeyBlobLen ${blobLength} (20 + keylen)`);
  }
  if (bitlen !== (keylen - 8) * 8) {
    throw new DecodeError('InvalidField', RSA, 'bitlen', start + 8, `bitlen ${bitlen} is not (keylen - 8) * 8 = ${(keylen - 8) * 8}`);
  }
  if (datalen !== bitlen / 8 - 1) {
    throw new DecodeError('InvalidField', RSA, 'datalen', start + 12, `datalen ${datalen} is not bitlen / 8 - 1 = ${bitlen / 8 - 1}`);
  }
  const modulus = r.bytes(keylen - 8, RSA, 'modulus');
  r.skip(8, RSA, 'padding');
  return { keylen, bitlen, datalen, pubExp, modulus };
}

function decodeProprietary(r: ReadCursor, temporary: boolean): ProprietaryServerCertificate {
  let at = r.at;
  const dwSigAlgId = r.u32le(PROP, 'dwSigAlgId');
  if (dwSigAlgId !== SIGNATURE_ALG_RSA) throw new DecodeError('UnsupportedValue', PROP, 'dwSigAlgId', at, `dwSigAlgId ${dwSigAlgId} is not SIGNATURE_ALG_RSA`);
  at = r.at;
  const dwKeyAlgId = r.u32le(PROP, 'dwKeyAlgId');
  if (dwKeyAlgId !== KEY_EXCHANGE_ALG_RSA) throw new DecodeError('UnsupportedValue', PROP, 'dwKeyAlgId', at, `dwKeyAlgId ${dwKeyAlgId} is not KEY_EXCHANGE_ALG_RSA`);
  at = r.at;
  const keyType = r.u16le(PROP, 'wPublicKeyBlobType');
  if (keyType !== BB_RSA_KEY_BLOB) throw new DecodeError('InvalidField', PROP, 'wPublicKeyBlobType', at, `blob type 0x${keyType.toString(16)} is not BB_RSA_KEY_BLOB`);
  const keyLen = r.u16le(PROP, 'wPublicKeyBlobLen');
  const publicKey = decodeRsaPublicKey(r.sub(keyLen, PROP, 'PublicKeyBlob'), keyLen);
  at = r.at;
  const sigType = r.u16le(PROP, 'wSignatureBlobType');
  if (sigType !== BB_RSA_SIGNATURE_BLOB) throw new DecodeError('InvalidField', PROP, 'wSignatureBlobType', at, `blob type 0x${sigType.toString(16)} is not BB_RSA_SIGNATURE_BLOB`);
  at = r.at;
  const sigLen = r.u16le(PROP, 'wSignatureBlobLen');
  if (sigLen !== PROPRIETARY_SIGNATURE_BLOB_LENGTH) {
    throw new DecodeError('InvalidField', PROP, 'wSignatureBlobLen', at, `wSignatureBlobLen ${sigLen} is not 72`);
  }
  const signatureBlob = r.bytes(sigLen, PROP, 'SignatureBlob');
  return { kind: 'proprietary', temporary, dwSigAlgId, dwKeyAlgId, publicKey, signatureBlob };
}

function decodeX509Chain(r: ReadCursor, temporary: boolean): X509ServerCertificateChain {
  const at = r.at;
  const count = r.u32le(CHAIN, 'NumCertBlobs');
  if (count < X509_CHAIN_MIN_CERTS || count > X509_CHAIN_MAX_CERTS) {
    throw new DecodeError('InvalidField', CHAIN, 'NumCertBlobs', at, `NumCertBlobs ${count} is not in 2..200`);
  }
  // each blob needs at least its 4-byte cbCert, and the padding follows: bound before looping
  if (count * 4 + 8 + 4 * count > r.remaining) {
    throw new DecodeError('InvalidField', CHAIN, 'NumCertBlobs', at, `${count} certificates cannot fit in ${r.remaining} bytes`);
  }
  const certificates: Uint8Array[] = [];
  for (let i = 0; i < count; i++) {
    const lenAt = r.at;
    const cbCert = r.u32le(CHAIN, `CertBlobArray[${i}].cbCert`);
    if (cbCert > r.remaining) {
      throw new DecodeError('InvalidField', CHAIN, `CertBlobArray[${i}].cbCert`, lenAt, `cbCert ${cbCert} runs past the end (${r.remaining} bytes left)`);
    }
    certificates.push(r.bytes(cbCert, CHAIN, `CertBlobArray[${i}].abCert`));
  }
  const padding = 8 + 4 * count;
  if (r.remaining !== padding) {
    throw new DecodeError('InvalidField', CHAIN, 'Padding', r.at, `${r.remaining} bytes follow the certificates, expected ${padding} of padding`);
  }
  r.skip(padding, CHAIN, 'Padding');
  return { kind: 'x509', temporary, certificates };
}

/**
 * Decode a SERVER_CERTIFICATE (the serverCertificate bytes of TS_UD_SC_SEC1). It extends to the
 * end of the input; trailing bytes are an error.
 */
export function decodeServerCertificate(input: ReadCursor | Uint8Array): ServerCertificate {
  const r = input instanceof ReadCursor ? input : new ReadCursor(input);
  const at = r.at;
  const dwVersion = r.u32le(CERT, 'dwVersion');
  const temporary = (dwVersion & CERT_CHAIN_TEMPORARY) !== 0;
  const version = dwVersion & CERT_CHAIN_VERSION_MASK;
  let cert: ServerCertificate;
  if (version === CERT_CHAIN_VERSION_1) cert = decodeProprietary(r, temporary);
  else if (version === CERT_CHAIN_VERSION_2) cert = decodeX509Chain(r, temporary);
  else throw new DecodeError('UnsupportedValue', CERT, 'dwVersion', at, `certChainVersion ${version} is neither 1 (proprietary) nor 2 (X.509)`);
  r.expectEnd(cert.kind === 'proprietary' ? PROP : CHAIN);
  return cert;
}

/** Encode a SERVER_CERTIFICATE; the signature blob of a proprietary one is written as given. */
export function encodeServerCertificate(v: ServerCertificate, w: WriteCursor): void {
  const version = v.kind === 'proprietary' ? CERT_CHAIN_VERSION_1 : CERT_CHAIN_VERSION_2;
  w.u32le((version | (v.temporary ? CERT_CHAIN_TEMPORARY : 0)) >>> 0);
  if (v.kind === 'x509') {
    if (v.certificates.length < X509_CHAIN_MIN_CERTS || v.certificates.length > X509_CHAIN_MAX_CERTS) {
      throw new EncodeError(CHAIN, 'NumCertBlobs', `${v.certificates.length} certificates is not in 2..200`);
    }
    w.u32le(v.certificates.length);
    for (const der of v.certificates) {
      w.u32le(der.length);
      w.bytes(der);
    }
    w.zeros(8 + 4 * v.certificates.length);
    return;
  }
  encodeProprietaryBody(v, w);
}

/**
 * The proprietary certificate from dwSigAlgId up to the end of the PublicKeyBlob. Together with
 * the 4-byte dwVersion before it, these are the bytes the Terminal Services signing key signs
 * (MS-RDPBCGR 5.3.3.1.2), so crypto code can compute signatureBlob from them.
 */
export function proprietarySignedBytes(v: ProprietaryServerCertificate): Buffer {
  const w = new WriteCursor();
  w.u32le((CERT_CHAIN_VERSION_1 | (v.temporary ? CERT_CHAIN_TEMPORARY : 0)) >>> 0);
  writeProprietaryKeyPart(v, w);
  return w.finish();
}

function writeProprietaryKeyPart(v: ProprietaryServerCertificate, w: WriteCursor): void {
  const k = v.publicKey;
  if (k.modulus.length === 0 || k.keylen !== k.modulus.length + 8 || k.bitlen !== k.modulus.length * 8 || k.datalen !== k.modulus.length - 1) {
    throw new EncodeError(RSA, 'keylen', 'keylen, bitlen and datalen must follow the modulus length');
  }
  if (20 + k.keylen > 0xffff) throw new EncodeError(PROP, 'wPublicKeyBlobLen', 'public key blob exceeds 65535 bytes');
  w.u32le(v.dwSigAlgId);
  w.u32le(v.dwKeyAlgId);
  w.u16le(BB_RSA_KEY_BLOB);
  w.u16le(20 + k.keylen);
  w.u32le(RSA1_MAGIC);
  w.u32le(k.keylen);
  w.u32le(k.bitlen);
  w.u32le(k.datalen);
  w.u32le(k.pubExp);
  w.bytes(k.modulus);
  w.zeros(8);
}

function encodeProprietaryBody(v: ProprietaryServerCertificate, w: WriteCursor): void {
  writeProprietaryKeyPart(v, w);
  if (v.signatureBlob.length !== PROPRIETARY_SIGNATURE_BLOB_LENGTH) {
    throw new EncodeError(PROP, 'wSignatureBlobLen', `signature blob of ${v.signatureBlob.length} bytes is not 72`);
  }
  w.u16le(BB_RSA_SIGNATURE_BLOB);
  w.u16le(v.signatureBlob.length);
  w.bytes(v.signatureBlob);
}

/** Build the RSA_PUBLIC_KEY fields for a little-endian modulus (keylen, bitlen, datalen follow). */
export function rsaPublicKeyBlob(modulusLE: Uint8Array, pubExp: number): RsaPublicKeyBlob {
  return { keylen: modulusLE.length + 8, bitlen: modulusLE.length * 8, datalen: modulusLE.length - 1, pubExp, modulus: modulusLE };
}

/** The RSA public key of a proprietary certificate, as little-endian bytes and as bigints. */
export interface ProprietaryRsaKey {
  /** little-endian modulus, as on the wire (without the 8 zero bytes) */
  modulusLE: Uint8Array;
  /** little-endian 4-byte public exponent, as on the wire */
  exponentLE: Uint8Array;
  modulus: bigint;
  exponent: bigint;
  /** bitlen from the blob (modulus bytes * 8) */
  bits: number;
}

/** Little-endian bytes to a bigint. */
export function bigintFromLE(bytes: Uint8Array): bigint {
  let v = 0n;
  for (let i = bytes.length - 1; i >= 0; i--) v = (v << 8n) | BigInt(bytes[i]!);
  return v;
}

export function proprietaryRsaKey(cert: ProprietaryServerCertificate): ProprietaryRsaKey {
  const k = cert.publicKey;
  const exponentLE = new Uint8Array(4);
  new DataView(exponentLE.buffer).setUint32(0, k.pubExp, true);
  return { modulusLE: k.modulus, exponentLE, modulus: bigintFromLE(k.modulus), exponent: BigInt(k.pubExp), bits: k.bitlen };
}

/** The terminal server's own certificate (leaf) of an X.509 chain: the last one (MS-RDPBCGR 5.3.3.2). */
export function x509LeafCertificate(chain: X509ServerCertificateChain): Uint8Array {
  const leaf = chain.certificates[chain.certificates.length - 1];
  if (!leaf) throw new DecodeError('InvalidField', CHAIN, 'NumCertBlobs', 0, 'empty certificate chain');
  return leaf;
}
