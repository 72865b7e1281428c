import { createHash } from 'node:crypto';
import { ENCRYPTION_METHOD_40BIT, ENCRYPTION_METHOD_56BIT, ENCRYPTION_METHOD_128BIT } from '../pdu/client-data.js';
import { RdpCryptoError } from './errors.js';
import { Rc4 } from './rc4.js';
import { CLIENT_RANDOM_LENGTH } from './rsa.js';

/**
 * Non-FIPS Standard RDP Security keys (MS-RDPBCGR 5.3.5.1), key updates (5.3.7.1) and MACs
 * (5.3.6.1, 5.3.6.1.1). Function names follow the specification's pseudo-code. Checked against
 * FreeRDP's libfreerdp/core/security.c and xrdp's libxrdp/xrdp_sec.c (see test/crypto).
 *
 * Note: the SessionKeyBlob uses the salts "X", "YY", "ZZZ" with ClientRandom before
 * ServerRandom, as 5.3.5.1 says and FreeRDP (security_X), xrdp and rdesktop do. The licensing
 * key blob of MS-RDPELE 5.1.2 is a different one ("A", "BB", "CCC", ServerRandom first).
 */

/** The RC4 encryption methods (TS_UD_SC_SEC1.encryptionMethod, MS-RDPBCGR 2.2.1.4.3). */
export type Rc4EncryptionMethod = typeof ENCRYPTION_METHOD_40BIT | typeof ENCRYPTION_METHOD_56BIT | typeof ENCRYPTION_METHOD_128BIT;

/** Pad1: 0x36 repeated 40 times (5.3.6.1, 5.3.7.1). */
export const PAD1 = Buffer.alloc(40, 0x36);
/** Pad2: 0x5C repeated 48 times. */
export const PAD2 = Buffer.alloc(48, 0x5c);
/** Keys are refreshed after this many packets in one direction (5.3.7.1). */
export const KEY_UPDATE_INTERVAL = 4096;
/** The salt that reduces a 64-bit key to 40 bits (first 3 bytes) or 56 bits (first byte) (5.3.5.1). */
const SALT = Buffer.from([0xd1, 0x26, 0x9e]);

const sha1 = (...parts: Uint8Array[]): Buffer => parts.reduce((h, p) => h.update(p), createHash('sha1')).digest();
const md5 = (...parts: Uint8Array[]): Buffer => parts.reduce((h, p) => h.update(p), createHash('md5')).digest();

function u32le(n: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeUInt32LE(n >>> 0, 0);
  return b;
}

function checkRandom(name: string, r: Uint8Array): void {
  if (r.length !== CLIENT_RANDOM_LENGTH) throw new RdpCryptoError('BadLength', name, `${r.length} bytes is not 32`);
}

export function isRc4Method(method: number): method is Rc4EncryptionMethod {
  return method === ENCRYPTION_METHOD_40BIT || method === ENCRYPTION_METHOD_56BIT || method === ENCRYPTION_METHOD_128BIT;
}

/** RC4 key length in bytes (5.3.7.1 "Table 1"): 8 for 40-bit and 56-bit keys, 16 for 128-bit. */
export function rc4KeyLength(method: Rc4EncryptionMethod): 8 | 16 {
  return method === ENCRYPTION_METHOD_128BIT ? 16 : 8;
}

/** SaltedHash(S, I) = MD5(S + SHA(I + S + R1 + R2)) (5.3.5.1; R1, R2 = ClientRandom, ServerRandom). */
export function saltedHash(s: Uint8Array, i: Uint8Array, r1: Uint8Array, r2: Uint8Array): Buffer {
  return md5(s, sha1(i, s, r1, r2));
}

/** PreMasterSecret = First192Bits(ClientRandom) + First192Bits(ServerRandom) (5.3.5.1). */
export function preMasterSecret(clientRandom: Uint8Array, serverRandom: Uint8Array): Buffer {
  return Buffer.concat([clientRandom.subarray(0, 24), serverRandom.subarray(0, 24)]);
}

const hash3 = (secret: Uint8Array, salts: readonly string[], cr: Uint8Array, sr: Uint8Array): Buffer =>
  Buffer.concat(salts.map((i) => saltedHash(secret, Buffer.from(i, 'latin1'), cr, sr)));

/** MasterSecret = PreMasterHash(0x41) + PreMasterHash(0x4242) + PreMasterHash(0x434343) (5.3.5.1). */
export function masterSecret(preMaster: Uint8Array, clientRandom: Uint8Array, serverRandom: Uint8Array): Buffer {
  return hash3(preMaster, ['A', 'BB', 'CCC'], clientRandom, serverRandom);
}

/** SessionKeyBlob = MasterHash(0x58) + MasterHash(0x5959) + MasterHash(0x5A5A5A) (5.3.5.1). */
export function sessionKeyBlob(master: Uint8Array, clientRandom: Uint8Array, serverRandom: Uint8Array): Buffer {
  return hash3(master, ['X', 'YY', 'ZZZ'], clientRandom, serverRandom);
}

/** FinalHash(K) = MD5(K + ClientRandom + ServerRandom) (5.3.5.1). */
export function finalHash(k: Uint8Array, clientRandom: Uint8Array, serverRandom: Uint8Array): Buffer {
  return md5(k, clientRandom, serverRandom);
}

/**
 * A 128-bit key reduced to the method's strength (5.3.5.1): 40-bit keys are
 * 0xD1269E + Last40Bits(First64Bits(K)), 56-bit keys 0xD1 + Last56Bits(First64Bits(K)),
 * 128-bit keys K itself. Used for MACKeyN, the initial keys and after each key update (5.3.7.1).
 */
export function reduceKey(key: Uint8Array, method: Rc4EncryptionMethod): Buffer {
  const out = Buffer.from(key.subarray(0, rc4KeyLength(method)));
  if (method === ENCRYPTION_METHOD_40BIT) SALT.copy(out, 0, 0, 3);
  else if (method === ENCRYPTION_METHOD_56BIT) SALT.copy(out, 0, 0, 1);
  return out;
}

/** Session keys of one side: MACKeyN and the initial RC4 keys, already reduced to the method. */
export interface SessionKeys {
  method: Rc4EncryptionMethod;
  /** MACKeyN (8 or 16 bytes), the same for both sides */
  macKey: Buffer;
  /** this side's InitialEncryptKeyN */
  encryptKey: Buffer;
  /** this side's InitialDecryptKeyN */
  decryptKey: Buffer;
}

export interface SessionKeyInputs {
  clientRandom: Uint8Array;
  serverRandom: Uint8Array;
  method: Rc4EncryptionMethod;
}

/** The 48-byte SessionKeyBlob from the two randoms (5.3.5.1), for tests and diagnostics. */
export function deriveSessionKeyBlob(clientRandom: Uint8Array, serverRandom: Uint8Array): Buffer {
  checkRandom('ClientRandom', clientRandom);
  checkRandom('ServerRandom', serverRandom);
  return sessionKeyBlob(masterSecret(preMasterSecret(clientRandom, serverRandom), clientRandom, serverRandom), clientRandom, serverRandom);
}

/**
 * The CLIENT's keys (5.3.5.1): MACKey128 = First128Bits(SessionKeyBlob),
 * InitialClientDecryptKey128 = FinalHash(Second128Bits), InitialClientEncryptKey128 =
 * FinalHash(Third128Bits), each reduced to the method.
 */
export function deriveSessionKeys({ clientRandom, serverRandom, method }: SessionKeyInputs): SessionKeys {
  if (!isRc4Method(method)) throw new RdpCryptoError('UnsupportedMethod', 'encryptionMethod', `0x${Number(method).toString(16)} is not an RC4 method`);
  const blob = deriveSessionKeyBlob(clientRandom, serverRandom);
  return {
    method,
    macKey: reduceKey(blob.subarray(0, 16), method),
    decryptKey: reduceKey(finalHash(blob.subarray(16, 32), clientRandom, serverRandom), method),
    encryptKey: reduceKey(finalHash(blob.subarray(32, 48), clientRandom, serverRandom), method),
  };
}

/** The SERVER's keys: InitialServerEncryptKey = the client's decrypt key and vice versa (5.3.5.1). */
export function deriveServerSessionKeys(inputs: SessionKeyInputs): SessionKeys {
  return swapDirections(deriveSessionKeys(inputs));
}

/** The other side's view of the same keys. */
export function swapDirections(keys: SessionKeys): SessionKeys {
  return { method: keys.method, macKey: keys.macKey, encryptKey: keys.decryptKey, decryptKey: keys.encryptKey };
}

/**
 * Key update (5.3.7.1), for one direction:
 * SHAComponent = SHA(InitialKey + Pad1 + CurrentKey), TempKey = MD5(InitialKey + Pad2 + SHAComponent)
 * cut to the key length, NewKey = RC4(key = TempKey) applied to TempKey, then for 40-bit and
 * 56-bit keys the salt again. Both keys are the reduced ones (8 or 16 bytes).
 */
export function updateKey(initialKey: Uint8Array, currentKey: Uint8Array, method: Rc4EncryptionMethod): Buffer {
  const len = rc4KeyLength(method);
  if (initialKey.length !== len || currentKey.length !== len) {
    throw new RdpCryptoError('BadLength', 'session key', `keys of ${initialKey.length} and ${currentKey.length} bytes, expected ${len}`);
  }
  const temp = md5(initialKey, PAD2, sha1(initialKey, PAD1, currentKey)).subarray(0, len);
  return reduceKey(new Rc4(temp).update(temp), method);
}

/**
 * MACSignature (5.3.6.1): First64Bits(MD5(MACKeyN + Pad2 + SHA(MACKeyN + Pad1 + DataLength + Data))),
 * DataLength a little-endian u32.
 */
export function macSignature(macKey: Uint8Array, data: Uint8Array): Buffer {
  return md5(macKey, PAD2, sha1(macKey, PAD1, u32le(data.length), data)).subarray(0, 8);
}

/**
 * Salted MACSignature (5.3.6.1.1, header flag SEC_SECURE_CHECKSUM): as macSignature with the
 * EncryptionCount (the number of packets this direction encrypted before this one, cumulative
 * across key updates) appended to the SHA input as a little-endian u32.
 */
export function saltedMacSignature(macKey: Uint8Array, data: Uint8Array, encryptionCount: number): Buffer {
  return md5(macKey, PAD2, sha1(macKey, PAD1, u32le(data.length), data, u32le(encryptionCount))).subarray(0, 8);
}

/**
 * One direction's RC4 stream (5.3.6.1, 5.3.7.1): counts packets, re-keys after every 4096
 * (checked before the 4097th, as FreeRDP and xrdp do), and keeps the cumulative count.
 */
class Rc4Stream {
  private current: Buffer;
  private rc4: Rc4;
  private sinceUpdate = 0;
  /** packets processed so far in this direction (the salted MAC's EncryptionCount) */
  count = 0;
  /** key updates done so far */
  updates = 0;

  constructor(
    private readonly initial: Buffer,
    private readonly method: Rc4EncryptionMethod,
  ) {
    this.current = initial;
    this.rc4 = new Rc4(initial);
  }

  get currentKey(): Buffer {
    return this.current;
  }

  crypt(data: Uint8Array): Buffer {
    if (this.sinceUpdate >= KEY_UPDATE_INTERVAL) {
      this.current = updateKey(this.initial, this.current, this.method);
      this.rc4 = new Rc4(this.current);
      this.sinceUpdate = 0;
      this.updates++;
    }
    const out = this.rc4.update(data);
    this.sinceUpdate++;
    this.count++;
    return out;
  }
}

/** How a dataSignature is made: 5.3.6.1 (unsalted) or 5.3.6.1.1 (salted, SEC_SECURE_CHECKSUM). */
export type MacForm = 'unsalted' | 'salted';

/** The protected form of one PDU's data: TS_SECURITY_HEADER1.dataSignature and the ciphertext. */
export interface Rc4Protected {
  dataSignature: Buffer;
  data: Buffer;
}

/**
 * Both directions of one side of a Standard RDP Security (RC4) session: encrypt what this side
 * sends, decrypt and verify what it receives (5.3.6.1). Build it from deriveSessionKeys (client)
 * or deriveServerSessionKeys (server).
 */
export class Rc4Session {
  readonly method: Rc4EncryptionMethod;
  readonly macKey: Buffer;
  private readonly out: Rc4Stream;
  private readonly in: Rc4Stream;

  constructor(keys: SessionKeys) {
    this.method = keys.method;
    this.macKey = Buffer.from(keys.macKey);
    this.out = new Rc4Stream(Buffer.from(keys.encryptKey), keys.method);
    this.in = new Rc4Stream(Buffer.from(keys.decryptKey), keys.method);
  }

  /** Packets encrypted / decrypted so far, and the key updates each direction has done. */
  get counts(): { encrypted: number; decrypted: number; encryptUpdates: number; decryptUpdates: number } {
    return { encrypted: this.out.count, decrypted: this.in.count, encryptUpdates: this.out.updates, decryptUpdates: this.in.updates };
  }

  /** The current RC4 keys (they change every 4096 packets). */
  get currentKeys(): { encryptKey: Buffer; decryptKey: Buffer } {
    return { encryptKey: this.out.currentKey, decryptKey: this.in.currentKey };
  }

  /** MAC over the plaintext, then RC4 (5.3.6.1). */
  encrypt(plaintext: Uint8Array, form: MacForm = 'unsalted'): Rc4Protected {
    const dataSignature = form === 'salted' ? saltedMacSignature(this.macKey, plaintext, this.out.count) : macSignature(this.macKey, plaintext);
    return { dataSignature, data: this.out.crypt(plaintext) };
  }

  /**
   * RC4, then check the MAC over the plaintext (5.3.6.1); a mismatch throws MacMismatch. The
   * stream advances even then: the specification drops the connection on a bad MAC.
   */
  decrypt(dataSignature: Uint8Array, ciphertext: Uint8Array, form: MacForm = 'unsalted'): Buffer {
    const count = this.in.count;
    const plain = this.in.crypt(ciphertext);
    const expected = form === 'salted' ? saltedMacSignature(this.macKey, plain, count) : macSignature(this.macKey, plain);
    if (dataSignature.length !== 8 || !expected.equals(dataSignature)) {
      throw new RdpCryptoError('MacMismatch', 'TS_SECURITY_HEADER1.dataSignature', `${form} MAC of packet ${count} does not match`);
    }
    return plain;
  }
}
