import { createCipheriv, createDecipheriv, createHash, createHmac, type Cipher, type Decipher } from 'node:crypto';
import { RdpCryptoError } from './errors.js';
import { CLIENT_RANDOM_LENGTH } from './rsa.js';

/**
 * FIPS Standard RDP Security (ENCRYPTION_METHOD_FIPS 0x10): key generation (MS-RDPBCGR 5.3.5.2),
 * 3DES-CBC encryption and HMAC-SHA1 MACs (5.3.6.2). There is no key update for FIPS (5.3.7
 * covers only RC4; FreeRDP and xrdp never re-key 3DES).
 *
 * The CBC state runs on across PDUs: each direction configures its 3DES module with the fixed IV
 * once, when the keys are made, and every later PDU continues the chain, as FreeRDP
 * (one EVP context per direction, rdp_client_establish_keys) and xrdp (ssl_des3_*_info made in
 * xrdp_sec_fips_establish_keys) do. test/crypto checks this on real xrdp and xfreerdp traffic.
 */

/** The fixed Initialization Vector (5.3.6.2). */
export const FIPS_IV: Readonly<Buffer> = Buffer.from([0x12, 0x34, 0x56, 0x78, 0x90, 0xab, 0xcd, 0xef]);
/** 3DES block size. */
export const DES3_BLOCK = 8;

const sha1 = (...parts: Uint8Array[]): Buffer => parts.reduce((h, p) => h.update(p), createHash('sha1')).digest();

function reverseBits(b: number): number {
  let r = 0;
  for (let k = 0; k < 8; k++) r |= ((b >> k) & 1) << (7 - k);
  return r;
}

/** The byte with its least significant bit set so that it has an odd number of 1 bits. */
function oddParity(b: number): number {
  let v = b & 0xfe;
  let ones = 0;
  for (let x = v; x; x >>= 1) ones += x & 1;
  if (ones % 2 === 0) v |= 1;
  return v;
}

/**
 * 168-bit to 192-bit 3DES key expansion (5.3.5.2): reverse the bits of every byte, insert a zero
 * bit after every seventh bit, reverse every byte again, then set each byte's least significant
 * bit for odd parity (FreeRDP fips_expand_key_bits, xrdp fips_expand_key_bits).
 */
export function fipsKeyExpansion(key21: Uint8Array): Buffer {
  if (key21.length !== 21) throw new RdpCryptoError('BadLength', 'FIPS key', `${key21.length} bytes is not 21`);
  const buf = Array.from(key21, reverseBits);
  const out = Buffer.alloc(24);
  for (let i = 0; i < 24; i++) {
    const bit = i * 7;
    const p = bit >> 3;
    const r = bit & 7;
    const hi = (buf[p]! << r) & 0xff;
    const lo = r <= 1 ? 0 : buf[p + 1]! >> (8 - r);
    out[i] = oddParity(reverseBits((hi | lo) & 0xfe));
  }
  return out;
}

/** A 160-bit SHA-1 key made 168 bits by copying its first byte to the end (5.3.5.2). */
function expand168(keyT: Buffer): Buffer {
  return Buffer.concat([keyT, keyT.subarray(0, 1)]);
}

/** One side's FIPS keys (24-byte 3DES keys, 20-byte HMAC key). */
export interface FipsKeys {
  encryptKey: Buffer;
  decryptKey: Buffer;
  /** the same for both sides */
  hmacKey: Buffer;
}

export interface FipsKeyInputs {
  clientRandom: Uint8Array;
  serverRandom: Uint8Array;
}

/**
 * The CLIENT's FIPS keys (5.3.5.2):
 * ClientEncryptKeyT = SHA(Last128Bits(ClientRandom) + Last128Bits(ServerRandom)),
 * ClientDecryptKeyT = SHA(First128Bits(ClientRandom) + First128Bits(ServerRandom)),
 * each expanded 160 -> 168 -> 192 bits; HMACKey = SHA(ClientDecryptKeyT + ClientEncryptKeyT).
 */
export function deriveFipsKeys({ clientRandom, serverRandom }: FipsKeyInputs): FipsKeys {
  for (const [name, r] of [['ClientRandom', clientRandom], ['ServerRandom', serverRandom]] as const) {
    if (r.length !== CLIENT_RANDOM_LENGTH) throw new RdpCryptoError('BadLength', name, `${r.length} bytes is not 32`);
  }
  const encryptT = sha1(clientRandom.subarray(16, 32), serverRandom.subarray(16, 32));
  const decryptT = sha1(clientRandom.subarray(0, 16), serverRandom.subarray(0, 16));
  return {
    encryptKey: fipsKeyExpansion(expand168(encryptT)),
    decryptKey: fipsKeyExpansion(expand168(decryptT)),
    hmacKey: sha1(decryptT, encryptT),
  };
}

/** The SERVER's FIPS keys: ServerDecryptKey = ClientEncryptKey and vice versa (5.3.5.2). */
export function deriveServerFipsKeys(inputs: FipsKeyInputs): FipsKeys {
  const k = deriveFipsKeys(inputs);
  return { encryptKey: k.decryptKey, decryptKey: k.encryptKey, hmacKey: k.hmacKey };
}

/**
 * MACSignature = First64Bits(HMAC-SHA1(HMACKey, Data + EncryptionCount)) (5.3.6.2), over the
 * data without its padding; EncryptionCount (packets this direction encrypted before this one)
 * as a little-endian u32.
 */
export function fipsMacSignature(hmacKey: Uint8Array, data: Uint8Array, encryptionCount: number): Buffer {
  const count = Buffer.alloc(4);
  count.writeUInt32LE(encryptionCount >>> 0, 0);
  return createHmac('sha1', hmacKey).update(data).update(count).digest().subarray(0, 8);
}

/** Pad length that brings `length` to a multiple of the 3DES block (TS_SECURITY_HEADER2.padlen). */
export function fipsPadLength(length: number): number {
  return (DES3_BLOCK - (length % DES3_BLOCK)) % DES3_BLOCK;
}

/**
 * The protected form of one PDU's data under FIPS: the TS_SECURITY_HEADER2 (2.2.8.1.1.2.3) or
 * TS_FP_FIPS_INFO (2.2.8.1.2) fields that vary (padlen, dataSignature) and the ciphertext. The
 * header itself (length 0x10, version TSFIPS_VERSION1) is a pdu/ codec's business.
 */
export interface FipsProtected {
  dataSignature: Buffer;
  /** padlen: the zero bytes appended before encryption */
  padlen: number;
  /** the ciphertext, a multiple of 8 bytes */
  data: Buffer;
}

/**
 * Both directions of one side of a FIPS session (5.3.6.2): pad with zeros to the block size,
 * HMAC over the unpadded data and the count, 3DES-CBC with the chain carried across PDUs.
 */
export class FipsSession {
  readonly hmacKey: Buffer;
  private readonly cipher: Cipher;
  private readonly decipher: Decipher;
  private encrypted = 0;
  private decrypted = 0;

  constructor(keys: FipsKeys) {
    if (keys.encryptKey.length !== 24 || keys.decryptKey.length !== 24) {
      throw new RdpCryptoError('BadLength', 'FIPS key', '3DES keys must be 24 bytes');
    }
    this.hmacKey = Buffer.from(keys.hmacKey);
    this.cipher = createCipheriv('des-ede3-cbc', keys.encryptKey, FIPS_IV).setAutoPadding(false);
    this.decipher = createDecipheriv('des-ede3-cbc', keys.decryptKey, FIPS_IV).setAutoPadding(false);
  }

  /** Packets encrypted / decrypted so far (the EncryptionCount of the next one). */
  get counts(): { encrypted: number; decrypted: number } {
    return { encrypted: this.encrypted, decrypted: this.decrypted };
  }

  encrypt(plaintext: Uint8Array): FipsProtected {
    const padlen = fipsPadLength(plaintext.length);
    const dataSignature = fipsMacSignature(this.hmacKey, plaintext, this.encrypted);
    const padded = Buffer.concat([plaintext, Buffer.alloc(padlen)]);
    const data = this.cipher.update(padded);
    if (data.length !== padded.length) throw new Error(`3DES-CBC returned ${data.length} bytes for ${padded.length}`);
    this.encrypted++;
    return { dataSignature, padlen, data };
  }

  /**
   * Decrypt, drop `padlen` bytes, check the HMAC (a mismatch throws MacMismatch). The chain and
   * the count advance even on failure: the connection is to be dropped then.
   */
  decrypt(dataSignature: Uint8Array, ciphertext: Uint8Array, padlen: number): Buffer {
    if (ciphertext.length % DES3_BLOCK !== 0) {
      throw new RdpCryptoError('BadPadding', 'FIPS data', `${ciphertext.length} bytes is not a multiple of 8`);
    }
    if (!Number.isInteger(padlen) || padlen < 0 || padlen >= DES3_BLOCK || padlen > ciphertext.length) {
      throw new RdpCryptoError('BadPadding', 'TS_SECURITY_HEADER2.padlen', `padlen ${padlen} is not 0..7 within ${ciphertext.length} bytes`);
    }
    const count = this.decrypted;
    const padded = this.decipher.update(ciphertext);
    if (padded.length !== ciphertext.length) throw new Error(`3DES-CBC returned ${padded.length} bytes for ${ciphertext.length}`);
    this.decrypted++;
    const plain = padded.subarray(0, padded.length - padlen);
    const expected = fipsMacSignature(this.hmacKey, plain, count);
    if (dataSignature.length !== 8 || !expected.equals(dataSignature)) {
      throw new RdpCryptoError('MacMismatch', 'TS_SECURITY_HEADER2.dataSignature', `FIPS MAC of packet ${count} does not match`);
    }
    return Buffer.from(plain);
  }
}
