import { createHash, createHmac, timingSafeEqual } from 'node:crypto';
import { Rc4 } from './rc4.js';
import { NtlmError } from './ntlm-error.js';
import {
  NTLMSSP_NEGOTIATE_128,
  NTLMSSP_NEGOTIATE_56,
  NTLMSSP_NEGOTIATE_EXTENDED_SESSIONSECURITY,
  NTLMSSP_NEGOTIATE_KEY_EXCH,
} from '../pdu/ntlm.js';

/**
 * NTLM session security with extended session security (NTLMv2 keys): SIGNKEY and SEALKEY
 * (MS-NLMP 3.4.5.2, 3.4.5.3) and message sealing (MS-NLMP 3.4.3, 3.4.4.2), the
 * EncryptMessage/DecryptMessage that CredSSP applies to pubKeyAuth and authInfo.
 *
 * Per direction (client-to-server, server-to-client) there is one RC4 handle keyed with that
 * direction's SealKey, used continuously across messages, and one sequence number counting
 * from 0. Sealing a message:
 * ```
 * checksum  = HMAC_MD5(SignKey, SeqNum (4, LE) || plaintext)[0..7]
 * data      = RC4(handle, plaintext)
 * checksum  = RC4(handle, checksum)        -- only with NTLMSSP_NEGOTIATE_KEY_EXCH
 * signature = 01 00 00 00 || checksum || SeqNum          (NTLMSSP_MESSAGE_SIGNATURE, 16 bytes)
 * output    = signature || data
 * ```
 *
 * Key strength: SEALKEY keeps the whole ExportedSessionKey with NTLMSSP_NEGOTIATE_128, its first
 * 7 bytes with NTLMSSP_NEGOTIATE_56, else its first 5 (40-bit), as MS-NLMP 3.4.5.3 says; these
 * functions implement all three. The security contexts (`ntlm-context.ts`) accept only 128-bit
 * keys, like Windows since Windows 7 (NTLMMinClientSec/NTLMMinServerSec "Require 128-bit
 * encryption"), so 56- and 40-bit keys are never used by them. Without
 * NTLMSSP_NEGOTIATE_EXTENDED_SESSIONSECURITY, NTLMv1 session security would apply (one key for
 * both directions, a CRC32 checksum); it is not implemented and is refused here.
 */

export type NtlmDirection = 'client-to-server' | 'server-to-client';

/** Size of NTLMSSP_MESSAGE_SIGNATURE (MS-NLMP 2.2.2.9.1). */
export const NTLM_SIGNATURE_SIZE = 16;
/** NTLMSSP_MESSAGE_SIGNATURE.Version (MS-NLMP 2.2.2.9.1). */
const SIGNATURE_VERSION = 1;

const md5 = (...parts: Uint8Array[]): Buffer => parts.reduce((h, p) => h.update(p), createHash('md5')).digest();

/** The magic constants of MS-NLMP 3.4.5.2 and 3.4.5.3, with their terminating NUL. */
const magic = (what: 'signing' | 'sealing', direction: NtlmDirection): Buffer =>
  Buffer.from(`session key to ${direction} ${what} key magic constant\0`, 'latin1');

function checkKey(key: Uint8Array, what: string): void {
  if (key.length !== 16) throw new NtlmError('bad-argument', `${what} of ${key.length} bytes, must be 16`);
}

/** SIGNKEY (MS-NLMP 3.4.5.2), extended session security: MD5(ExportedSessionKey || magic). */
export function signKey(exportedSessionKey: Uint8Array, direction: NtlmDirection): Buffer {
  checkKey(exportedSessionKey, 'ExportedSessionKey');
  return md5(exportedSessionKey, magic('signing', direction));
}

/**
 * SEALKEY (MS-NLMP 3.4.5.3), extended session security: MD5 of the ExportedSessionKey cut to
 * 16, 7 or 5 bytes by NTLMSSP_NEGOTIATE_128 / _56 / neither, then the magic constant.
 */
export function sealKey(exportedSessionKey: Uint8Array, flags: number, direction: NtlmDirection): Buffer {
  checkKey(exportedSessionKey, 'ExportedSessionKey');
  if (!(flags & NTLMSSP_NEGOTIATE_EXTENDED_SESSIONSECURITY)) {
    throw new NtlmError('unsupported', 'sealing keys without extended session security (NTLMv1 session security) are not implemented');
  }
  const n = flags & NTLMSSP_NEGOTIATE_128 ? 16 : flags & NTLMSSP_NEGOTIATE_56 ? 7 : 5;
  return md5(exportedSessionKey.subarray(0, n), magic('sealing', direction));
}

/**
 * One direction of a sealed NTLM channel: the sender's instance seals (or signs), the
 * receiver's instance (made from the same key, flags and direction) unseals (or verifies). A
 * message that fails to unseal or verify leaves the state as it was (the RC4 handle is advanced
 * on a copy and kept only on success), so a forged or reordered message does not desynchronise
 * the channel.
 *
 * Signing without sealing (`sign`/`verify`, MS-NLMP 3.4.4.2 MAC with extended session security,
 * GSS_GetMIC/GSS_VerifyMIC) is what SPNEGO's mechListMIC uses: the same signature as `seal`
 * writes, over the message in clear, the checksum RC4-encrypted with this direction's handle
 * when KEY_EXCH was negotiated; it consumes a sequence number. `resetRc4` then re-keys the
 * handle from the sealing key (MS-SPNG 3.3.5.1: "the RC4 key state being the same for the
 * mechListMIC and for the first message signed by the application") and leaves the sequence
 * number running: the first sealed message after a mechListMIC carries SeqNum 1. That is what
 * pyspnego's pure-Python NTLM does (`_reset_ntlm_crypto_state` re-creates `_handle_out` or
 * `_handle_in` only; `sign` and `verify` take `_seq_num_out`/`_seq_num_in`, which count on) and
 * gss-ntlmssp (`ntlm_reset_rc4_state` re-inits `seal_handle`, not `seq_num`); MS-SPNG 3.3.5.1
 * restores the Handle and says nothing of SeqNum. FreeRDP 3 differs in form: its NTLM takes
 * the SeqNum from the caller, SPNEGO's MakeSignature passes 0 and nla.c counts its own from 0.
 */
export class NtlmSealer {
  private rc4: Rc4;
  private readonly sealingKey: Buffer;
  private readonly signingKey: Buffer;
  private readonly keyExch: boolean;
  private seq = 0;

  constructor(exportedSessionKey: Uint8Array, flags: number, readonly direction: NtlmDirection) {
    this.sealingKey = sealKey(exportedSessionKey, flags, direction);
    this.rc4 = new Rc4(this.sealingKey);
    this.signingKey = signKey(exportedSessionKey, direction);
    this.keyExch = (flags & NTLMSSP_NEGOTIATE_KEY_EXCH) !== 0;
  }

  /** The SeqNum the next message will carry (MS-NLMP 3.4.4.2). */
  get sequenceNumber(): number {
    return this.seq;
  }

  private checksum(seq: Buffer, plaintext: Uint8Array): Buffer {
    return createHmac('md5', this.signingKey).update(seq).update(plaintext).digest().subarray(0, 8);
  }

  /** SeqNum as it goes in the signature and the HMAC: 4 bytes, little-endian. */
  private seqBytes(): Buffer {
    const seq = Buffer.alloc(4);
    seq.writeUInt32LE(this.seq);
    return seq;
  }

  /** NTLMSSP_MESSAGE_SIGNATURE (MS-NLMP 2.2.2.9.1): Version, Checksum, SeqNum; then SeqNum + 1. */
  private signature(checksum: Buffer, seq: Buffer): Buffer {
    const signature = Buffer.alloc(NTLM_SIGNATURE_SIZE);
    signature.writeUInt32LE(SIGNATURE_VERSION, 0); // Version
    signature.set(checksum, 4); // Checksum
    signature.set(seq, 12); // SeqNum
    this.seq = (this.seq + 1) >>> 0;
    return signature;
  }

  /** The Version and SeqNum checks of unseal and verify; the SeqNum bytes. */
  private checkHeader(sig: Buffer, what: string): Buffer {
    const version = sig.readUInt32LE(0);
    if (version !== SIGNATURE_VERSION) throw new NtlmError('bad-message', `${what} signature version ${version}, expected ${SIGNATURE_VERSION}`);
    const seqNum = sig.readUInt32LE(12);
    if (seqNum !== this.seq) throw new NtlmError('bad-sequence', `${this.direction} ${what} with sequence number ${seqNum}, expected ${this.seq}`);
    return sig.subarray(12, 16);
  }

  /** Seal a message (MS-NLMP 3.4.3): 16-byte signature, then the ciphertext. */
  seal(plaintext: Uint8Array): Buffer {
    const seq = this.seqBytes();
    const checksum = this.checksum(seq, plaintext);
    const data = this.rc4.update(plaintext);
    const sealedChecksum = this.keyExch ? this.rc4.update(checksum) : checksum;
    return Buffer.concat([this.signature(sealedChecksum, seq), data]);
  }

  /**
   * Unseal a message sealed by the peer's instance for this direction: check the signature's
   * Version and SeqNum, decrypt, recompute the checksum. Throws NtlmError 'bad-message' (shorter
   * than a signature, or a signature Version other than 1), 'bad-sequence' or 'bad-signature'.
   */
  unseal(message: Uint8Array): Buffer {
    if (message.length < NTLM_SIGNATURE_SIZE) {
      throw new NtlmError('bad-message', `sealed message of ${message.length} bytes is shorter than its ${NTLM_SIGNATURE_SIZE}-byte signature`);
    }
    const sig = Buffer.from(message.buffer, message.byteOffset, NTLM_SIGNATURE_SIZE);
    const seq = this.checkHeader(sig, 'message');
    const trial = this.rc4.clone();
    const plaintext = trial.update(message.subarray(NTLM_SIGNATURE_SIZE));
    const checksum = this.checksum(seq, plaintext);
    const expected = this.keyExch ? trial.update(checksum) : checksum;
    if (!timingSafeEqual(expected, sig.subarray(4, 12))) {
      throw new NtlmError('bad-signature', `${this.direction} message ${this.seq}: the checksum does not verify`);
    }
    this.rc4 = trial;
    this.seq = (this.seq + 1) >>> 0;
    return plaintext;
  }

  /**
   * The signature of a message sent in clear (MS-NLMP 3.4.4.2 MAC, GSS_GetMIC): 16 bytes,
   * consuming a sequence number and, with KEY_EXCH, 8 bytes of this direction's RC4 keystream.
   */
  sign(message: Uint8Array): Buffer {
    const seq = this.seqBytes();
    const checksum = this.checksum(seq, message);
    return this.signature(this.keyExch ? this.rc4.update(checksum) : checksum, seq);
  }

  /**
   * Check the peer's signature of `message` (GSS_VerifyMIC). Throws NtlmError 'bad-message' (not
   * 16 bytes, or Version other than 1), 'bad-sequence' or 'bad-signature', and then leaves the
   * state (sequence number, RC4 handle) as it was.
   */
  verify(message: Uint8Array, signature: Uint8Array): void {
    if (signature.length !== NTLM_SIGNATURE_SIZE) {
      throw new NtlmError('bad-message', `signature of ${signature.length} bytes, must be ${NTLM_SIGNATURE_SIZE}`);
    }
    const sig = Buffer.from(signature.buffer, signature.byteOffset, NTLM_SIGNATURE_SIZE);
    const seq = this.checkHeader(sig, 'signature');
    const trial = this.rc4.clone();
    const checksum = this.checksum(seq, message);
    const expected = this.keyExch ? trial.update(checksum) : checksum;
    if (!timingSafeEqual(expected, sig.subarray(4, 12))) {
      throw new NtlmError('bad-signature', `${this.direction} signature ${this.seq}: the checksum does not verify`);
    }
    this.rc4 = trial;
    this.seq = (this.seq + 1) >>> 0;
  }

  /**
   * Re-key this direction's RC4 handle from its sealing key, as after the SPNEGO mechListMIC
   * (MS-SPNG 3.3.5.1); the sequence number is kept (see the class comment).
   */
  resetRc4(): void {
    this.rc4 = new Rc4(this.sealingKey);
  }
}

/**
 * Both directions of an established NTLM session as one side sees them (MS-NLMP 3.4): it seals
 * what it sends and unseals what it receives, each direction with its own keys and sequence.
 */
export class NtlmSession {
  private readonly out: NtlmSealer;
  private readonly in: NtlmSealer;

  constructor(exportedSessionKey: Uint8Array, flags: number, role: 'client' | 'server') {
    const [send, receive]: [NtlmDirection, NtlmDirection] = role === 'client' ? ['client-to-server', 'server-to-client'] : ['server-to-client', 'client-to-server'];
    this.out = new NtlmSealer(exportedSessionKey, flags, send);
    this.in = new NtlmSealer(exportedSessionKey, flags, receive);
  }

  /** EncryptMessage: signature || ciphertext, in our sending direction. */
  seal(plaintext: Uint8Array): Buffer {
    return this.out.seal(plaintext);
  }

  /** DecryptMessage of the peer's message; throws NtlmError 'bad-signature', 'bad-sequence' or 'bad-message'. */
  unseal(message: Uint8Array): Buffer {
    return this.in.unseal(message);
  }

  /** MakeSignature (GSS_GetMIC) in our sending direction: the 16-byte signature of `message`. */
  sign(message: Uint8Array): Buffer {
    return this.out.sign(message);
  }

  /** VerifySignature (GSS_VerifyMIC) of the peer's signature; throws as NtlmSealer.verify. */
  verify(message: Uint8Array, signature: Uint8Array): void {
    this.in.verify(message, signature);
  }

  /** Re-key the RC4 handle of one direction (after the SPNEGO mechListMIC, MS-SPNG 3.3.5.1). */
  resetRc4(direction: 'outgoing' | 'incoming'): void {
    (direction === 'outgoing' ? this.out : this.in).resetRc4();
  }
}

/**
 * What both NTLM contexts (NtlmClient, NtlmServer) offer once established: the session's
 * sealing and signing in their own directions. Before that, each is NtlmError 'wrong-state'.
 */
export abstract class NtlmEstablished {
  protected session?: NtlmSession;
  protected abstract get stateName(): string;


  private sessionFor(op: string): NtlmSession {
    if (!this.session) throw new NtlmError('wrong-state', `${op}() in state ${this.stateName}`);
    return this.session;
  }

  /** Seal a message in our sending direction (EncryptMessage): signature || ciphertext. */
  seal(plaintext: Uint8Array): Buffer {
    return this.sessionFor('seal').seal(plaintext);
  }

  /** Unseal the peer's message; throws NtlmError 'bad-signature', 'bad-sequence' or 'bad-message'. */
  unseal(message: Uint8Array): Buffer {
    return this.sessionFor('unseal').unseal(message);
  }

  /** Sign a message in our sending direction without sealing it (MakeSignature; SPNEGO's mechListMIC). */
  sign(message: Uint8Array): Buffer {
    return this.sessionFor('sign').sign(message);
  }

  /** Verify the peer's signature of a message (VerifySignature); throws NtlmError 'bad-signature', 'bad-sequence' or 'bad-message'. */
  verify(message: Uint8Array, signature: Uint8Array): void {
    this.sessionFor('verify').verify(message, signature);
  }

  /** Re-key one direction's RC4 handle, as SPNEGO does after the mechListMIC (MS-SPNG 3.3.5.1); sequence numbers go on. */
  resetRc4(direction: 'outgoing' | 'incoming'): void {
    this.sessionFor('resetRc4').resetRc4(direction);
  }
}
