/**
 * Typed errors of Standard RDP Security (MS-RDPBCGR 5.3): what a receiver finds wrong in a
 * protected PDU or in the key material. Messages are lowercase without final punctuation, like
 * DecodeError's, so they compose into "while decrypting X: ..." chains.
 */
export type RdpCryptoErrorKind =
  /** the dataSignature does not match the one computed over the decrypted data (5.3.6.1, 5.3.6.2) */
  | 'MacMismatch'
  /** FIPS ciphertext that is not a whole number of 3DES blocks, or a padlen that cannot be (5.3.6.2) */
  | 'BadPadding'
  /** an input of the wrong size: a 32-byte random, an RSA block, a key (5.3.4, 5.3.5) */
  | 'BadLength'
  /** an RSA value that is not below the modulus, a signature that does not verify (5.3.3.1.3, 5.3.4.1) */
  | 'BadRsaValue'
  /** an encryptionMethod the operation does not apply to (an RC4 function given FIPS or NONE) */
  | 'UnsupportedMethod';

export class RdpCryptoError extends Error {
  override readonly name = 'RdpCryptoError';
  constructor(
    readonly kind: RdpCryptoErrorKind,
    /** what was being processed, spec name where there is one (TS_SECURITY_HEADER1, ClientRandom) */
    readonly what: string,
    readonly detail: string,
  ) {
    super(`${what}: ${detail}`);
  }
}
