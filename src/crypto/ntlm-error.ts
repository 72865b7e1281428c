/**
 * The typed error of the NTLM layer (`crypto/ntlm.ts`, `crypto/ntlm-context.ts`, `crypto/md4.ts`).
 * Messages are lowercase without final punctuation, like DecodeError's, and never carry a
 * password, a hash or a key. A token that does not decode is a 'bad-message' whose `cause` is
 * the DecodeError (with its PDU, field and offset).
 */
export type NtlmErrorKind =
  /** a token that does not decode, or is not the NTLM message expected here */
  | 'bad-message'
  /** a call out of order: AUTHENTICATE before CHALLENGE, a second AUTHENTICATE, sealing before the context is established */
  | 'wrong-state'
  /** the peer chose less than we accept: no Unicode, no extended session security (NTLMv2 keys), no 128-bit keys */
  | 'unsupported'
  /** a sealed message whose signature does not verify (MS-NLMP 3.4.4.2) */
  | 'bad-signature'
  /** a sealed message carrying another sequence number than the next one expected (MS-NLMP 3.4.4.2) */
  | 'bad-sequence'
  /** an argument of the wrong size (a 15-byte key, a 7-byte challenge) */
  | 'bad-argument'
  /** `ntHashSync` before `initMd4` has finished */
  | 'not-initialised';

export class NtlmError extends Error {
  override readonly name = 'NtlmError';
  constructor(
    readonly kind: NtlmErrorKind,
    readonly detail: string,
    options?: { cause?: unknown },
  ) {
    super(`ntlm ${kind}: ${detail}`, options);
  }
}
