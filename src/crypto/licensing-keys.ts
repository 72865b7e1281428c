import { createHash, timingSafeEqual } from 'node:crypto';
import { RdpCryptoError } from './errors.js';
import { rc4 } from './rc4.js';
import { PAD1, PAD2, saltedHash } from './session-keys.js';

/**
 * The licensing keys and the protection of the licensing messages' encrypted fields
 * (MS-RDPELE 5.1.2 to 5.1.5). Function names follow the specification's pseudo-code. Checked
 * against FreeRDP (libfreerdp/core/security.c security_master_secret, security_session_key_blob,
 * security_mac_salt_key, security_licensing_encryption_key, security_mac_data; license.c
 * license_encrypt_and_MAC, license_decrypt_and_check_MAC) and IronRDP's test vectors
 * (ironrdp-pdu server_license tests), see test/crypto/licensing-keys.test.ts.
 *
 * Two things differ from the Standard RDP Security keys of MS-RDPBCGR 5.3.5.1 (session-keys.ts):
 * - the SessionKeyBlob salts are 'A', 'BB', 'CCC' again, and its SaltedHash2 puts ServerRandom
 *   BEFORE ClientRandom;
 * - every encrypted field is RC4 with a FRESH key schedule of the licensing encryption key (one
 *   stream per field, not one per direction), and its MAC (MACData) is the whole 16-byte MD5,
 *   taken over the plaintext.
 */

/** PreMasterSecret length (MS-RDPELE 2.2.2.2): 48 random bytes chosen by the client. */
export const PREMASTER_SECRET_LENGTH = 48;
/** ClientRandom and ServerRandom (MS-RDPELE 2.2.2.1, 2.2.2.2). */
export const LICENSING_RANDOM_LENGTH = 32;
/** MACData (MS-RDPELE 2.2.2.3 to 2.2.2.7). */
export const LICENSING_MAC_LENGTH = 16;

const sha1 = (...parts: Uint8Array[]): Buffer => parts.reduce((h, p) => h.update(p), createHash('sha1')).digest();
const md5 = (...parts: Uint8Array[]): Buffer => parts.reduce((h, p) => h.update(p), createHash('md5')).digest();
const SALTS = ['A', 'BB', 'CCC'].map((s) => Buffer.from(s, 'latin1'));

function check(name: string, b: Uint8Array, n: number): void {
  if (b.length !== n) throw new RdpCryptoError('BadLength', name, `${b.length} bytes is not ${n}`);
}

/**
 * MasterSecret = PreMasterHash('A') + PreMasterHash('BB') + PreMasterHash('CCC'), with
 * PreMasterHash(I) = SaltedHash(PreMasterSecret, I) = MD5(S + SHA-1(I + S + ClientRandom + ServerRandom))
 * (MS-RDPELE 5.1.2 step 1).
 */
export function licensingMasterSecret(preMasterSecret: Uint8Array, clientRandom: Uint8Array, serverRandom: Uint8Array): Buffer {
  return Buffer.concat(SALTS.map((i) => saltedHash(preMasterSecret, i, clientRandom, serverRandom)));
}

/**
 * SessionKeyBlob = MasterHash('A') + MasterHash('BB') + MasterHash('CCC'), with
 * MasterHash(I) = SaltedHash2(MasterSecret, I) = MD5(S + SHA-1(I + S + ServerRandom + ClientRandom))
 * (MS-RDPELE 5.1.2 step 2: the randoms in the other order).
 */
export function licensingSessionKeyBlob(masterSecret: Uint8Array, clientRandom: Uint8Array, serverRandom: Uint8Array): Buffer {
  return Buffer.concat(SALTS.map((i) => saltedHash(masterSecret, i, serverRandom, clientRandom)));
}

/** The keys of one licensing exchange, the same for both sides. */
export interface LicensingKeys {
  /** 48 bytes (5.1.2 step 1) */
  masterSecret: Buffer;
  /** 48 bytes (5.1.2 step 2) */
  sessionKeyBlob: Buffer;
  /** MAC-salt-key = First128Bits(SessionKeyBlob) (5.1.2 step 3) */
  macSaltKey: Buffer;
  /** LicensingEncryptionKey = MD5(Second128Bits(SessionKeyBlob) + ClientRandom + ServerRandom) (5.1.2 step 5) */
  encryptionKey: Buffer;
}

export interface LicensingKeyInputs {
  clientRandom: Uint8Array;
  serverRandom: Uint8Array;
  /** the 48-byte pre-master secret, as the client chose it (the server decrypts it from the request) */
  preMasterSecret: Uint8Array;
}

/** MS-RDPELE 5.1.2: all the licensing keys from the two randoms and the pre-master secret. */
export function deriveLicensingKeys({ clientRandom, serverRandom, preMasterSecret }: LicensingKeyInputs): LicensingKeys {
  check('ClientRandom', clientRandom, LICENSING_RANDOM_LENGTH);
  check('ServerRandom', serverRandom, LICENSING_RANDOM_LENGTH);
  check('PreMasterSecret', preMasterSecret, PREMASTER_SECRET_LENGTH);
  const masterSecret = licensingMasterSecret(preMasterSecret, clientRandom, serverRandom);
  const sessionKeyBlob = licensingSessionKeyBlob(masterSecret, clientRandom, serverRandom);
  return {
    masterSecret,
    sessionKeyBlob,
    macSaltKey: Buffer.from(sessionKeyBlob.subarray(0, 16)),
    encryptionKey: md5(sessionKeyBlob.subarray(16, 32), clientRandom, serverRandom),
  };
}

/**
 * MACData (MS-RDPELE 5.1.5, the MS-RDPBCGR 5.3.6.1 construction with the MAC salt key and all
 * 16 bytes kept): MD5(MacSaltKey + Pad2 + SHA-1(MacSaltKey + Pad1 + DataLength + Data)),
 * DataLength a little-endian u32. `data` is the plaintext.
 */
export function licensingMac(macSaltKey: Uint8Array, data: Uint8Array): Buffer {
  check('MAC-salt-key', macSaltKey, 16);
  const len = Buffer.alloc(4);
  len.writeUInt32LE(data.length, 0);
  return md5(macSaltKey, PAD2, sha1(macSaltKey, PAD1, len, data));
}

/**
 * RC4 of one encrypted field (MS-RDPELE 5.1.3, 5.1.4): a fresh key schedule of the licensing
 * encryption key for each field, as FreeRDP's license_rc4_with_licenseKey and IronRDP do. The
 * same call encrypts and decrypts.
 */
export function licensingRc4(encryptionKey: Uint8Array, data: Uint8Array): Buffer {
  check('LicensingEncryptionKey', encryptionKey, 16);
  return rc4(encryptionKey, data);
}

/** An encrypted field and the MACData over its plaintext. */
export interface LicensingProtected {
  data: Buffer;
  mac: Buffer;
}

/** Encrypt one field and MAC its plaintext (FreeRDP license_encrypt_and_MAC). */
export function licensingEncrypt(keys: Pick<LicensingKeys, 'macSaltKey' | 'encryptionKey'>, plaintext: Uint8Array): LicensingProtected {
  return { data: licensingRc4(keys.encryptionKey, plaintext), mac: licensingMac(keys.macSaltKey, plaintext) };
}

/** Whether `mac` is the MACData of `plaintext` (constant time). */
export function licensingMacMatches(macSaltKey: Uint8Array, plaintext: Uint8Array, mac: Uint8Array): boolean {
  const expected = licensingMac(macSaltKey, plaintext);
  return mac.length === expected.length && timingSafeEqual(expected, mac);
}

/**
 * Decrypt one field and check the MACData over the plaintext (FreeRDP
 * license_decrypt_and_check_MAC); a mismatch throws RdpCryptoError MacMismatch naming `what`.
 */
export function licensingDecrypt(keys: Pick<LicensingKeys, 'macSaltKey' | 'encryptionKey'>, ciphertext: Uint8Array, mac: Uint8Array, what: string): Buffer {
  const plain = licensingRc4(keys.encryptionKey, ciphertext);
  if (!licensingMacMatches(keys.macSaltKey, plain, mac)) throw new RdpCryptoError('MacMismatch', what, 'MACData does not match the decrypted data');
  return plain;
}
