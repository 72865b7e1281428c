import { createHash, timingSafeEqual } from 'node:crypto';

/**
 * What CredSSP's pubKeyAuth proves (MS-CSSP 3.1.5, 3.1.5.1): that the peer who completed the
 * NTLM/Kerberos exchange also sees the same TLS server key, so a man in the middle that
 * terminated TLS with its own certificate is caught. The bytes are then sealed with the
 * security context (NTLM sealing here); this module computes and checks the plaintext only.
 *
 * `publicKey` is the contents of the server certificate's subjectPublicKey BIT STRING, without
 * tag, length or unused-bits octet (for RSA the DER RSAPublicKey), as transport/tls-info.ts
 * extracts it for both roles.
 *
 * - Versions 2-4: the client sends the key itself; the server answers with the key whose first
 *   byte is incremented by one (FreeRDP increments the buffer as a little-endian integer, the
 *   same thing as long as the first byte is not 0xFF, and for a DER SEQUENCE it is 0x30).
 * - Versions 5-6 (the CVE-2018-0886 fix): each side sends SHA-256 over a magic string (with its
 *   terminating NUL, 38 bytes each), the client's 32-byte nonce and the key.
 */

export const CREDSSP_CLIENT_SERVER_HASH_MAGIC = Buffer.from('CredSSP Client-To-Server Binding Hash\0', 'latin1');
export const CREDSSP_SERVER_CLIENT_HASH_MAGIC = Buffer.from('CredSSP Server-To-Client Binding Hash\0', 'latin1');

/** The first TSRequest version with the nonce-and-hash binding (MS-CSSP 2.2.1, 3.1.5). */
export const CREDSSP_FIRST_HASHED_VERSION = 5;
/** MS-CSSP 2.2.1: clientNonce is "a 32-byte array of cryptographically random bytes". */
export const CREDSSP_NONCE_SIZE = 32;

export type BindingDirection = 'client-to-server' | 'server-to-client';

/**
 * The pubKeyAuth plaintext for `version` (the version both sides settled on: the lower of the
 * two). `clientNonce` is required from version 5.
 */
export function pubKeyAuthPlaintext(
  direction: BindingDirection,
  version: number,
  publicKey: Uint8Array,
  clientNonce?: Uint8Array,
): Buffer {
  if (version >= CREDSSP_FIRST_HASHED_VERSION) {
    if (!clientNonce || clientNonce.length !== CREDSSP_NONCE_SIZE) {
      throw new RangeError(`CredSSP version ${version} binding needs a ${CREDSSP_NONCE_SIZE}-byte client nonce`);
    }
    const magic = direction === 'client-to-server' ? CREDSSP_CLIENT_SERVER_HASH_MAGIC : CREDSSP_SERVER_CLIENT_HASH_MAGIC;
    return createHash('sha256').update(magic).update(clientNonce).update(publicKey).digest();
  }
  const out = Buffer.from(publicKey);
  if (direction === 'server-to-client') incrementLittleEndian(out);
  return out;
}

/** Constant-time comparison of a received (unsealed) pubKeyAuth with the expected plaintext. */
export function pubKeyAuthMatches(
  received: Uint8Array,
  direction: BindingDirection,
  version: number,
  publicKey: Uint8Array,
  clientNonce?: Uint8Array,
): boolean {
  const expected = pubKeyAuthPlaintext(direction, version, publicKey, clientNonce);
  return received.length === expected.length && timingSafeEqual(received, expected);
}

/** Add one to a little-endian integer in place (MS-CSSP 3.1.5: "incremented by one"). */
function incrementLittleEndian(b: Buffer): void {
  for (let i = 0; i < b.length; i++) {
    b[i] = (b[i]! + 1) & 0xff;
    if (b[i] !== 0) return;
  }
}
