import { createHash, X509Certificate } from 'node:crypto';
import { certificateParts } from './x509-der.js';
import { DecodeError } from '../pdu/errors.js';
import { proprietaryRsaKey, type ProprietaryServerCertificate } from '../pdu/server-certificate.js';

/**
 * Summaries of the certificates an RDP server presents: the X.509 certificates of a TLS
 * handshake or of a TS_UD_SC_SEC1 X.509 chain (MS-RDPBCGR 5.3.3.2; the server's own key is in
 * the LAST certificate of that chain), and the proprietary certificate of Standard RDP Security
 * (MS-RDPBCGR 2.2.1.4.3.1.1).
 *
 * node:crypto's X509Certificate gives names, dates, key and SANs; it does not expose the
 * signature algorithm, which we read from the DER (x509-der.ts). Malformed input is
 * a DecodeError, like the pdu/ decoders.
 */

const X509 = 'X.509 certificate';

export interface X509Summary {
  /** distinguished name as node prints it, RDNs joined by ", " (e.g. "CN=xrdp-peer") */
  subject: string;
  issuer: string;
  /** subject equals issuer and the signature verifies with the certificate's own key */
  selfSigned: boolean;
  /** ISO 8601 */
  notBefore: string;
  notAfter: string;
  /** 'rsa', 'ec', 'ed25519', 'dsa', ... (KeyObject.asymmetricKeyType) */
  keyType: string;
  /** RSA/DSA modulus bits, EC curve size; 0 when unknown */
  keyBits: number;
  /** OpenSSL-style name (sha256WithRSAEncryption, ecdsa-with-SHA256, ...) or the OID */
  signatureAlgorithm: string;
  /** "DNS:name", "IP Address:1.2.3.4", ... as node reports them */
  subjectAltNames: string[];
  /** SHA-256 of the DER, lowercase hex without colons */
  sha256: string;
  /** serial number, lowercase hex */
  serial: string;
}

const SIGNATURE_ALGORITHMS: Readonly<Record<string, string>> = Object.freeze({
  '1.2.840.113549.1.1.2': 'md2WithRSAEncryption',
  '1.2.840.113549.1.1.4': 'md5WithRSAEncryption',
  '1.2.840.113549.1.1.5': 'sha1WithRSAEncryption',
  '1.2.840.113549.1.1.10': 'rsassaPss',
  '1.2.840.113549.1.1.11': 'sha256WithRSAEncryption',
  '1.2.840.113549.1.1.12': 'sha384WithRSAEncryption',
  '1.2.840.113549.1.1.13': 'sha512WithRSAEncryption',
  '1.2.840.113549.1.1.14': 'sha224WithRSAEncryption',
  '1.2.840.10040.4.3': 'dsa-with-SHA1',
  '2.16.840.1.101.3.4.3.2': 'dsa_with_SHA256',
  '1.2.840.10045.4.1': 'ecdsa-with-SHA1',
  '1.2.840.10045.4.3.1': 'ecdsa-with-SHA224',
  '1.2.840.10045.4.3.2': 'ecdsa-with-SHA256',
  '1.2.840.10045.4.3.3': 'ecdsa-with-SHA384',
  '1.2.840.10045.4.3.4': 'ecdsa-with-SHA512',
  '1.3.101.112': 'ED25519',
  '1.3.101.113': 'ED448',
});

const CURVE_BITS: Readonly<Record<string, number>> = Object.freeze({
  prime256v1: 256,
  'P-256': 256,
  secp256k1: 256,
  secp384r1: 384,
  'P-384': 384,
  secp521r1: 521,
  'P-521': 521,
  secp224r1: 224,
  prime192v1: 192,
});

function parse(der: Uint8Array): X509Certificate {
  try {
    return new X509Certificate(der);
  } catch (e) {
    throw new DecodeError('InvalidField', X509, 'der', 0, `not a DER X.509 certificate (${(e as Error).message})`);
  }
}

/** The signatureAlgorithm OID of a certificate. */
export function signatureAlgorithmOid(der: Uint8Array): string {
  return certificateParts(der).signatureAlgorithm;
}

function dn(s: string): string {
  return s.split('\n').filter((p) => p.length > 0).join(', ');
}

function isoDate(s: string, field: string): string {
  const d = new Date(s);
  if (Number.isNaN(d.getTime())) throw new DecodeError('InvalidField', X509, field, 0, `unreadable date "${s}"`);
  return d.toISOString();
}

/** Split node's subjectAltName string ("DNS:a, IP Address:1.2.3.4"), honouring its quoting. */
function altNames(s: string | undefined): string[] {
  if (!s) return [];
  const out: string[] = [];
  let cur = '';
  let quoted = false;
  for (let i = 0; i < s.length; i++) {
    const ch = s[i]!;
    if (ch === '"') quoted = !quoted;
    if (!quoted && ch === ',' && s[i + 1] === ' ') {
      out.push(cur);
      cur = '';
      i++;
      continue;
    }
    cur += ch;
  }
  if (cur) out.push(cur);
  return out;
}

export function summarizeX509(der: Uint8Array): X509Summary {
  const x = parse(der);
  const key = x.publicKey;
  const details = key.asymmetricKeyDetails ?? {};
  const keyType = key.asymmetricKeyType ?? 'unknown';
  let keyBits = details.modulusLength ?? 0;
  if (keyType === 'ec') keyBits = CURVE_BITS[details.namedCurve ?? ''] ?? 0;
  else if (keyType === 'ed25519' || keyType === 'x25519') keyBits = 256;
  else if (keyType === 'ed448') keyBits = 456;
  else if (keyType === 'x448') keyBits = 448;
  let selfSigned = false;
  if (x.subject === x.issuer) {
    try {
      selfSigned = x.verify(key);
    } catch {
      selfSigned = false;
    }
  }
  const oid = signatureAlgorithmOid(der);
  return {
    subject: dn(x.subject),
    issuer: dn(x.issuer),
    selfSigned,
    notBefore: isoDate(x.validFrom, 'notBefore'),
    notAfter: isoDate(x.validTo, 'notAfter'),
    keyType,
    keyBits,
    signatureAlgorithm: SIGNATURE_ALGORITHMS[oid] ?? oid,
    subjectAltNames: altNames(x.subjectAltName),
    sha256: createHash('sha256').update(der).digest('hex'),
    serial: x.serialNumber.toLowerCase(),
  };
}

export interface RsaPublicKeyNumbers {
  modulus: bigint;
  exponent: bigint;
  /** bit length of the modulus */
  bits: number;
}

function bigintFromBase64url(s: string): bigint {
  const hex = Buffer.from(s, 'base64url').toString('hex');
  return hex ? BigInt(`0x${hex}`) : 0n;
}

/**
 * The RSA public key of an X.509 certificate (for a TS_UD_SC_SEC1 chain, pass the leaf: the
 * last certificate). A non-RSA key is UnsupportedValue.
 */
export function rsaPublicKeyFromX509(der: Uint8Array): RsaPublicKeyNumbers {
  const key = parse(der).publicKey;
  if (key.asymmetricKeyType !== 'rsa') {
    throw new DecodeError('UnsupportedValue', X509, 'subjectPublicKeyInfo', 0, `key type ${key.asymmetricKeyType ?? 'unknown'} is not rsa`);
  }
  const jwk = key.export({ format: 'jwk' });
  if (typeof jwk.n !== 'string' || typeof jwk.e !== 'string') {
    throw new DecodeError('InvalidField', X509, 'subjectPublicKeyInfo', 0, 'RSA key without modulus or exponent');
  }
  const modulus = bigintFromBase64url(jwk.n);
  return { modulus, exponent: bigintFromBase64url(jwk.e), bits: modulus.toString(2).length };
}

export interface ProprietarySummary {
  keyType: 'rsa';
  /** modulus bits (the blob's bitlen) */
  keyBits: number;
  exponent: number;
  /** signature bytes, without the blob's 8 zero bytes (64 for the TS signing key) */
  signatureLength: number;
  /** the t bit of dwVersion */
  temporary: boolean;
}

export function summarizeProprietary(cert: ProprietaryServerCertificate): ProprietarySummary {
  const key = proprietaryRsaKey(cert);
  return {
    keyType: 'rsa',
    keyBits: key.bits,
    exponent: cert.publicKey.pubExp,
    signatureLength: Math.max(0, cert.signatureBlob.length - 8),
    temporary: cert.temporary,
  };
}
