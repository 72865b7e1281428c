import { NTSTATUS } from '../pdu/ntstatus.js';
import { randomBytes } from 'node:crypto';
import { DecodeError } from '../pdu/errors.js';
import {
  AV_ID,
  MSV_AV_FLAGS,
  NTLMSSP_NEGOTIATE_128,
  NTLMSSP_NEGOTIATE_56,
  NTLMSSP_NEGOTIATE_ALWAYS_SIGN,
  NTLMSSP_NEGOTIATE_EXTENDED_SESSIONSECURITY,
  NTLMSSP_NEGOTIATE_IDENTIFY,
  NTLMSSP_NEGOTIATE_KEY_EXCH,
  NTLMSSP_NEGOTIATE_NTLM,
  NTLMSSP_NEGOTIATE_SEAL,
  NTLMSSP_NEGOTIATE_SIGN,
  NTLMSSP_NEGOTIATE_TARGET_INFO,
  NTLMSSP_NEGOTIATE_UNICODE,
  NTLMSSP_NEGOTIATE_VERSION,
  NTLMSSP_REQUEST_TARGET,
  NTLMSSP_TARGET_TYPE_DOMAIN,
  NTLMSSP_TARGET_TYPE_SERVER,
  dateToFiletime,
  decodeAuthenticateMessage,
  decodeChallengeMessage,
  decodeNegotiateMessage,
  type NegotiateMessage,
  encodeChallengeMessage,
  stringAvPair,
  timestampAvPair,
  withMicZeroed,
  type AvPairInput,
  type DecodedAuthenticateMessage,
  type NtlmVersion,
} from '../pdu/ntlm.js';
import { NtlmError } from './ntlm-error.js';
import { NtlmSession, bytesEqual, NtlmEstablished, checkNtlmV2Response, computeMic, decryptRandomSessionKey, keyExchangeKey, ntowfv2 } from './ntlm.js';

/**
 * The server side of NTLM (MS-NLMP 3.2), NTLMv2 only; re-exported by `ntlm-context.ts`.
 *
 * `acceptAuthenticate` is the whole verification of an AUTHENTICATE_MESSAGE against the
 * NEGOTIATE and CHALLENGE it answers, as a pure function (the tests also run it on the
 * captures' recorded exchanges); `NtlmServer` adds the CHALLENGE, the state and the sealing.
 *
 * What fails, and with which status (the NTSTATUS a CredSSP server puts in errorCode):
 * - unknown user, wrong password, an NTLMv1 (24-byte) or anonymous response, a bad MIC:
 *   STATUS_LOGON_FAILURE (0xC000006D). Windows answers an unknown user and a wrong password
 *   alike; `reason` tells them apart for the server's log only.
 * - channel bindings that the client sent (not Z(16), which MS-NLMP 2.2.2.1 defines as "none")
 *   and that differ from the expected ones: STATUS_BAD_BINDINGS (0xC000035B), the NTSTATUS
 *   Windows defines for this (SEC_E_BAD_BINDINGS at the SSPI level); not checked against a live
 *   Windows server. Absent or zero bindings are accepted (Extended Protection "when
 *   supported"); a policy that requires bindings is not implemented.
 * - no extended session security or no 128-bit keys in the AUTHENTICATE's flags:
 *   SEC_E_UNSUPPORTED_FUNCTION (0x80090302), as MS-NLMP 3.2.5.2.2 says for a server that
 *   requires 128-bit encryption (Windows' default since Windows 7).
 * NTOWFv2 is tried with the domain as sent, then, if that fails and it was not empty, with an
 * empty domain: "NTLM servers SHOULD support NTLM clients which incorrectly use NIL for the
 * UserDom" (MS-NLMP 3.2.5.1.2). `lookup` is asked once, with the user and domain as sent.
 * A message that does not decode is not a failed logon but a protocol error: NtlmError
 * 'bad-message' (its cause is the DecodeError).
 */

export const STATUS_LOGON_FAILURE = NTSTATUS.STATUS_LOGON_FAILURE;
export const STATUS_BAD_BINDINGS = NTSTATUS.STATUS_BAD_BINDINGS;
export const SEC_E_UNSUPPORTED_FUNCTION = NTSTATUS.SEC_E_UNSUPPORTED_FUNCTION;

export interface NtlmServerTargetInfo {
  nbComputerName: string;
  nbDomainName: string;
  dnsComputerName: string;
  dnsDomainName: string;
  dnsTreeName?: string;
}

export interface NtlmServerOptions {
  targetInfo: NtlmServerTargetInfo;
  version: NtlmVersion;
  /** n random bytes; default crypto.randomBytes (called once, for the ServerChallenge) */
  random?: (n: number) => Buffer;
  /** FILETIME now, for MsvAvTimestamp */
  now?: () => bigint;
}

export type NtlmAuthResult =
  | { ok: true; user: string; domain: string; workstation: string }
  | { ok: false; status: number; reason: string; user?: string; domain?: string; workstation?: string };

export interface AcceptAuthenticateInput {
  /** the three messages as they went on the wire */
  negotiate: Uint8Array;
  challenge: Uint8Array;
  authenticate: Uint8Array;
  /** the NT hash of (user, domain), or undefined for an unknown user */
  lookup: (user: string, domain: string) => Uint8Array | undefined;
  /** the 16-byte MsvAvChannelBindings value the client must have sent, if any */
  expectedChannelBindings?: Uint8Array;
}

export interface AcceptedSession {
  exportedSessionKey: Buffer;
  /** the AUTHENTICATE's NegotiateFlags, which rule the session security */
  flags: number;
  /**
   * the AUTHENTICATE carried a MIC (MsvAvFlags 0x2), which then verified: inside SPNEGO this
   * makes the mechListMIC mandatory (MS-SPNG appendix A, see acceptor/credssp-server.ts)
   */
  micPresent: boolean;
}

/** NEGOTIATE flags the server echoes when the client asks (MS-NLMP 3.2.5.1.1); LM_KEY, OEM and DATAGRAM are not offered. */
const ECHOED_FLAGS =
  NTLMSSP_REQUEST_TARGET |
  NTLMSSP_NEGOTIATE_SIGN |
  NTLMSSP_NEGOTIATE_SEAL |
  NTLMSSP_NEGOTIATE_ALWAYS_SIGN |
  NTLMSSP_NEGOTIATE_EXTENDED_SESSIONSECURITY |
  NTLMSSP_NEGOTIATE_IDENTIFY |
  NTLMSSP_NEGOTIATE_128 |
  NTLMSSP_NEGOTIATE_56 |
  NTLMSSP_NEGOTIATE_KEY_EXCH;

function decodeOrThrow<T>(what: string, decode: () => T): T {
  try {
    return decode();
  } catch (err) {
    if (err instanceof DecodeError) throw new NtlmError('bad-message', `the ${what} does not decode`, { cause: err });
    throw err;
  }
}

/** Verify an AUTHENTICATE_MESSAGE (MS-NLMP 3.2.5.1.2); see the module comment for the outcomes. */
export function acceptAuthenticate(i: AcceptAuthenticateInput): { result: NtlmAuthResult; session?: AcceptedSession } {
  const c = decodeOrThrow('CHALLENGE_MESSAGE', () => decodeChallengeMessage(i.challenge));
  const a: DecodedAuthenticateMessage = decodeOrThrow('AUTHENTICATE_MESSAGE', () => decodeAuthenticateMessage(i.authenticate));
  const who = { user: a.userName, domain: a.domainName, workstation: a.workstation };
  const fail = (status: number, reason: string) => ({ result: { ok: false as const, status, reason, ...who } });

  if (a.ntChallengeResponse.length === 0 && a.userName === '') return fail(STATUS_LOGON_FAILURE, 'anonymous authentication is not accepted');
  if (!a.ntlmv2) {
    const n = a.ntChallengeResponse.length;
    return fail(STATUS_LOGON_FAILURE, n === 24 ? 'NTLMv1 response refused: NTLMv2 only' : `an NtChallengeResponse of ${n} bytes is not NTLMv2`);
  }
  if (!(a.flags & NTLMSSP_NEGOTIATE_EXTENDED_SESSIONSECURITY)) return fail(SEC_E_UNSUPPORTED_FUNCTION, 'no extended session security');
  if (!(a.flags & NTLMSSP_NEGOTIATE_128)) return fail(SEC_E_UNSUPPORTED_FUNCTION, 'no 128-bit session keys');
  const keyExch = (a.flags & NTLMSSP_NEGOTIATE_KEY_EXCH) !== 0;
  if (keyExch && a.encryptedRandomSessionKey.length !== 16) {
    throw new NtlmError('bad-message', `EncryptedRandomSessionKey of ${a.encryptedRandomSessionKey.length} bytes with NTLMSSP_NEGOTIATE_KEY_EXCH`);
  }

  const ntHash = i.lookup(a.userName, a.domainName);
  if (ntHash && ntHash.length !== 16) throw new NtlmError('bad-argument', `lookup returned an NT hash of ${ntHash.length} bytes`);
  // an unknown user costs the same HMACs as a wrong password
  const hash = ntHash ?? new Uint8Array(16);
  let sessionBaseKey = checkNtlmV2Response(ntowfv2(hash, a.userName, a.domainName), c.serverChallenge, a.ntChallengeResponse);
  if (!sessionBaseKey && a.domainName !== '') {
    sessionBaseKey = checkNtlmV2Response(ntowfv2(hash, a.userName, ''), c.serverChallenge, a.ntChallengeResponse);
  }
  if (!ntHash) return fail(STATUS_LOGON_FAILURE, 'unknown user');
  if (!sessionBaseKey) return fail(STATUS_LOGON_FAILURE, 'wrong password');

  const kek = keyExchangeKey(sessionBaseKey);
  const exportedSessionKey = keyExch ? decryptRandomSessionKey(kek, a.encryptedRandomSessionKey) : kek;
  const pairs = a.ntlmv2.clientChallenge.avPairs;
  const micPresent = ((pairs.flags ?? 0) & MSV_AV_FLAGS.MIC_PRESENT) !== 0;
  if (micPresent) {
    // the decoder guarantees mic and micOffset when MsvAvFlags announce them
    const expected = computeMic(exportedSessionKey, i.negotiate, i.challenge, withMicZeroed(i.authenticate, a.micOffset!));
    if (!bytesEqual(expected, a.mic!)) return fail(STATUS_LOGON_FAILURE, 'the MIC does not verify');
  }
  if (i.expectedChannelBindings) {
    if (i.expectedChannelBindings.length !== 16) throw new NtlmError('bad-argument', `expected channel bindings of ${i.expectedChannelBindings.length} bytes, must be 16`);
    const sent = pairs.channelBindings;
    if (sent && sent.some((b) => b !== 0) && !bytesEqual(sent, i.expectedChannelBindings)) {
      return fail(STATUS_BAD_BINDINGS, 'the channel bindings do not match');
    }
  }
  return { result: { ok: true, ...who }, session: { exportedSessionKey, flags: a.flags, micPresent } };
}

type ServerState = 'initial' | 'challenge-sent' | 'established' | 'failed';

/** The server side of NTLM (MS-NLMP 3.2): challenge(negotiate), authenticate(auth, lookup), then seal/unseal. */
export class NtlmServer extends NtlmEstablished {
  private state: ServerState = 'initial';
  private negotiateBytes?: Buffer;
  private challengeBytes?: Buffer;
  private mic = false;

  constructor(private readonly opts: NtlmServerOptions) {
    super();
  }

  /** The verified AUTHENTICATE carried a MIC (MsvAvFlags 0x2); false before. */
  get micPresent(): boolean {
    return this.mic;
  }

  /** The client's NEGOTIATE_MESSAGE as decoded by challenge() (its flags and VERSION name the client). */
  negotiateMessage?: NegotiateMessage;

  /** True after an AUTHENTICATE that verified. */
  get established(): boolean {
    return this.state === 'established';
  }

  /**
   * The CHALLENGE_MESSAGE (MS-NLMP 3.2.5.1.1) for a client's NEGOTIATE: the flags the client
   * asked for that we support, NTLM, TARGET_INFO and VERSION; TargetName = the NetBIOS domain
   * (the computer name when not joined); TargetInfo = the names and MsvAvTimestamp, in Windows'
   * order. A NEGOTIATE without Unicode is refused ('unsupported'; every current client sets it).
   */
  challenge(negotiate: Uint8Array): Buffer {
    if (this.state !== 'initial') throw new NtlmError('wrong-state', `challenge() in state ${this.state}`);
    this.state = 'failed';
    const n = decodeOrThrow('NEGOTIATE_MESSAGE', () => decodeNegotiateMessage(negotiate));
    if (!(n.flags & NTLMSSP_NEGOTIATE_UNICODE)) throw new NtlmError('unsupported', 'the NEGOTIATE does not offer Unicode');
    const t = this.opts.targetInfo;
    const joined = t.nbDomainName.toUpperCase() !== t.nbComputerName.toUpperCase();
    const flags =
      ((n.flags & ECHOED_FLAGS) |
        NTLMSSP_NEGOTIATE_UNICODE |
        NTLMSSP_NEGOTIATE_NTLM |
        NTLMSSP_NEGOTIATE_TARGET_INFO |
        NTLMSSP_NEGOTIATE_VERSION |
        (joined ? NTLMSSP_TARGET_TYPE_DOMAIN : NTLMSSP_TARGET_TYPE_SERVER)) >>>
      0;
    const serverChallenge = (this.opts.random ?? randomBytes)(8);
    if (serverChallenge.length !== 8) throw new NtlmError('bad-argument', `random(8) returned ${serverChallenge.length} bytes`);
    const pairs: AvPairInput[] = [
      stringAvPair(AV_ID.MsvAvNbDomainName, t.nbDomainName),
      stringAvPair(AV_ID.MsvAvNbComputerName, t.nbComputerName),
      stringAvPair(AV_ID.MsvAvDnsDomainName, t.dnsDomainName),
      stringAvPair(AV_ID.MsvAvDnsComputerName, t.dnsComputerName),
    ];
    if (t.dnsTreeName !== undefined) pairs.push(stringAvPair(AV_ID.MsvAvDnsTreeName, t.dnsTreeName));
    pairs.push(timestampAvPair(this.opts.now ? this.opts.now() : dateToFiletime(Date.now())));
    this.challengeBytes = encodeChallengeMessage({ flags, targetName: t.nbDomainName, serverChallenge, targetInfo: { pairs }, version: this.opts.version });
    this.negotiateBytes = Buffer.from(negotiate);
    this.negotiateMessage = n;
    this.state = 'challenge-sent';
    return Buffer.from(this.challengeBytes);
  }

  /**
   * Verify the client's AUTHENTICATE_MESSAGE (`acceptAuthenticate`). Only one is accepted, and
   * only after `challenge`: anything else is NtlmError 'wrong-state'. A failed logon is a
   * result, not an exception; the context is then failed.
   */
  authenticate(auth: Uint8Array, lookup: (user: string, domain: string) => Uint8Array | undefined, expectedChannelBindings?: Uint8Array): NtlmAuthResult {
    if (this.state !== 'challenge-sent') {
      throw new NtlmError('wrong-state', this.state === 'initial' ? 'an AUTHENTICATE before any CHALLENGE' : `an AUTHENTICATE in state ${this.state}`);
    }
    this.state = 'failed';
    const input: AcceptAuthenticateInput = { negotiate: this.negotiateBytes!, challenge: this.challengeBytes!, authenticate: auth, lookup };
    if (expectedChannelBindings) input.expectedChannelBindings = expectedChannelBindings;
    const { result, session } = acceptAuthenticate(input);
    if (session) {
      this.session = new NtlmSession(session.exportedSessionKey, session.flags, 'server');
      this.mic = session.micPresent;
      this.state = 'established';
    }
    return result;
  }

  protected override get stateName(): string {
    return this.state;
  }
}
