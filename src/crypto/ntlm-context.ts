import { randomBytes } from 'node:crypto';
import { DecodeError } from '../pdu/errors.js';
import {
  AV_ID,
  MSV_AV_FLAGS,
  NTLMSSP_NEGOTIATE_128,
  NTLMSSP_NEGOTIATE_56,
  NTLMSSP_NEGOTIATE_ALWAYS_SIGN,
  NTLMSSP_NEGOTIATE_EXTENDED_SESSIONSECURITY,
  NTLMSSP_NEGOTIATE_KEY_EXCH,
  NTLMSSP_NEGOTIATE_LM_KEY,
  NTLMSSP_NEGOTIATE_NTLM,
  NTLMSSP_NEGOTIATE_OEM_WORKSTATION_SUPPLIED,
  NTLMSSP_NEGOTIATE_SEAL,
  NTLMSSP_NEGOTIATE_SIGN,
  NTLMSSP_NEGOTIATE_TARGET_INFO,
  NTLMSSP_NEGOTIATE_UNICODE,
  NTLMSSP_NEGOTIATE_VERSION,
  NTLMSSP_REQUEST_TARGET,
  NTLMSSP_REVISION_W2K3,
  NTLMV2_CLIENT_CHALLENGE_FIXED,
  NTLM_NEGOTIATE_OEM,
  authenticateMicOffset,
  dateToFiletime,
  decodeChallengeMessage,
  encodeAuthenticateMessage,
  encodeNegotiateMessage,
  encodeTargetInfo,
  flagsAvPair,
  stringAvPair,
  type AvPairInput,
  type ChallengeMessage,
  type NtlmVersion,
} from '../pdu/ntlm.js';
import { NtlmError } from './ntlm-error.js';
import {
  NtlmSession,
  NtlmEstablished,
  computeMic,
  computeNtlmV2Response,
  encryptRandomSessionKey,
  keyExchangeKey,
  ntowfv2,
} from './ntlm.js';

/**
 * Sans-IO NTLM security contexts (MS-NLMP 3.1 client, 3.2 server), NTLMv2 only, with extended
 * session security, 128-bit keys, key exchange and the MIC: what CredSSP runs inside its
 * TSRequests. No sockets, no timers; randomness and the clock are injectable. The server is in
 * `ntlm-server.ts`, re-exported here.
 *
 * The client behaves like xfreerdp 2.11 (the captures in test/fixtures): its NEGOTIATE carries
 * xfreerdp's flags; its AUTHENTICATE copies the server's AV pairs in order, adds MsvAvFlags
 * (MIC present), MsvAvChannelBindings and MsvAvTargetName, and, like FreeRDP, 8 zero bytes
 * after MsvAvEOL before the Z(4). Given xfreerdp's randomness and inputs it produces xfreerdp's
 * AUTHENTICATE byte for byte (test/crypto/ntlm-context.test.ts checks it).
 *
 * Channel bindings: without `channelBindings` the client sends MsvAvChannelBindings = Z(16), as
 * FreeRDP 2.11 does over CredSSP (the captures) and as MS-NLMP 2.2.2.1 defines for "no
 * bindings". CredSSP binds the TLS channel through pubKeyAuth instead (MS-CSSP 3.1.5), and the
 * Python WinRM clients built on pyspnego likewise pass no bindings when the protocol is CredSSP.
 * What mstsc sends here is not verified (no capture). Pass `channelBindingsHash(...)` for a
 * channel-bound service (RD Gateway).
 *
 * Floor: the CHALLENGE must offer Unicode, extended session security and 128-bit keys, else
 * `authenticate` throws NtlmError 'unsupported' (Windows 7 and later refuse less by default).
 */

export { NtlmError, type NtlmErrorKind } from './ntlm-error.js';
export { NtlmServer, acceptAuthenticate, STATUS_BAD_BINDINGS, STATUS_LOGON_FAILURE, SEC_E_UNSUPPORTED_FUNCTION } from './ntlm-server.js';
export type { NtlmAuthResult, NtlmServerOptions, NtlmServerTargetInfo, AcceptAuthenticateInput, AcceptedSession } from './ntlm-server.js';

export interface NtlmCredentials {
  user: string;
  /** '' for a local account (what xfreerdp sends without /d:) */
  domain: string;
  /** MD4 of the UTF-16LE password (`ntHash` in md4.ts) */
  ntHash: Uint8Array;
  /** the Workstation field; omitted means '' and no WORKSTATION_SUPPLIED flag */
  workstation?: string;
}

export interface NtlmClientOptions {
  credentials: NtlmCredentials;
  /** 16-byte MD5 for MsvAvChannelBindings (`channelBindingsHash`); omitted means Z(16), as FreeRDP sends */
  channelBindings?: Uint8Array;
  /** SPN such as TERMSRV/host for MsvAvTargetName; omitted means no MsvAvTargetName */
  targetName?: string;
  /** the Version of our messages; default 10.0.19041 revision 15 */
  version?: NtlmVersion;
  /** n random bytes; default crypto.randomBytes (called for the client challenge, then the session key) */
  random?: (n: number) => Buffer;
  /** FILETIME now; used only if the CHALLENGE has no MsvAvTimestamp */
  now?: () => bigint;
}

/** The NEGOTIATE flags xfreerdp 2.11 sends (0xe20882b7, the captures): all of them, OEM and LM_KEY included. */
export const XFREERDP_NEGOTIATE_FLAGS =
  (NTLMSSP_NEGOTIATE_56 |
    NTLMSSP_NEGOTIATE_KEY_EXCH |
    NTLMSSP_NEGOTIATE_128 |
    NTLMSSP_NEGOTIATE_VERSION |
    NTLMSSP_NEGOTIATE_EXTENDED_SESSIONSECURITY |
    NTLMSSP_NEGOTIATE_ALWAYS_SIGN |
    NTLMSSP_NEGOTIATE_NTLM |
    NTLMSSP_NEGOTIATE_LM_KEY |
    NTLMSSP_NEGOTIATE_SEAL |
    NTLMSSP_NEGOTIATE_SIGN |
    NTLMSSP_REQUEST_TARGET |
    NTLM_NEGOTIATE_OEM |
    NTLMSSP_NEGOTIATE_UNICODE) >>>
  0;

/** The AUTHENTICATE flags FreeRDP sets whatever the server chose (ntlm_message.c), less KEY_EXCH, 56 and WORKSTATION_SUPPLIED. */
const AUTHENTICATE_BASE_FLAGS =
  NTLMSSP_NEGOTIATE_128 |
  NTLMSSP_NEGOTIATE_VERSION |
  NTLMSSP_NEGOTIATE_TARGET_INFO |
  NTLMSSP_NEGOTIATE_EXTENDED_SESSIONSECURITY |
  NTLMSSP_NEGOTIATE_ALWAYS_SIGN |
  NTLMSSP_NEGOTIATE_NTLM |
  NTLMSSP_NEGOTIATE_SEAL |
  NTLMSSP_NEGOTIATE_SIGN |
  NTLMSSP_REQUEST_TARGET |
  NTLMSSP_NEGOTIATE_UNICODE;

export const DEFAULT_NTLM_VERSION: NtlmVersion = { major: 10, minor: 0, build: 19041, ntlmRevision: NTLMSSP_REVISION_W2K3 };

/** FILETIME of the system clock. */
export function filetimeNow(): bigint {
  return dateToFiletime(Date.now());
}

/** Pairs the client sets itself and so does not copy from the CHALLENGE. */
const CLIENT_OWN_PAIRS = new Set<number>([AV_ID.MsvAvFlags, AV_ID.MsvAvChannelBindings, AV_ID.MsvAvTargetName]);
/** FreeRDP's "unknown 8-byte padding" after MsvAvEOL in the NTLMv2 response (ntlm_av_pairs.c). */
const FREERDP_AV_PADDING = 8;

type ClientState = 'initial' | 'negotiate-sent' | 'established' | 'failed';

/** The client side of NTLM (MS-NLMP 3.1): negotiate(), authenticate(challenge), then seal/unseal. */
export class NtlmClient extends NtlmEstablished {
  private state: ClientState = 'initial';
  private negotiateBytes?: Buffer;
  private challengeMsg?: ChallengeMessage;
  private readonly random: (n: number) => Buffer;
  private readonly now: () => bigint;

  constructor(private readonly opts: NtlmClientOptions) {
    super();
    if (opts.credentials.ntHash.length !== 16) throw new NtlmError('bad-argument', `NT hash of ${opts.credentials.ntHash.length} bytes, must be 16`);
    if (opts.channelBindings && opts.channelBindings.length !== 16) {
      throw new NtlmError('bad-argument', `channel bindings of ${opts.channelBindings.length} bytes, must be 16`);
    }
    this.random = opts.random ?? randomBytes;
    this.now = opts.now ?? filetimeNow;
  }

  /** The server's CHALLENGE_MESSAGE, once `authenticate` has decoded it. */
  get challengeMessage(): ChallengeMessage | undefined {
    return this.challengeMsg;
  }

  /**
   * True once the AUTHENTICATE is made and the sealing keys exist. NTLM has no final answer from
   * the server: whether it accepted the AUTHENTICATE shows in the next protocol message (in
   * CredSSP, a pubKeyAuth that unseals).
   */
  get established(): boolean {
    return this.state === 'established';
  }

  /** The NEGOTIATE_MESSAGE (MS-NLMP 2.2.1.1), with xfreerdp 2.11's flags and our Version. */
  negotiate(): Buffer {
    if (this.state !== 'initial') throw new NtlmError('wrong-state', `negotiate() in state ${this.state}`);
    this.negotiateBytes = encodeNegotiateMessage({ flags: XFREERDP_NEGOTIATE_FLAGS, version: this.opts.version ?? DEFAULT_NTLM_VERSION });
    this.state = 'negotiate-sent';
    return Buffer.from(this.negotiateBytes);
  }

  /**
   * The AUTHENTICATE_MESSAGE (MS-NLMP 3.1.5.1.2) answering the server's CHALLENGE: NTLMv2, key
   * exchange when the server offers it, the MIC. Throws NtlmError 'bad-message' (the token does
   * not decode), 'unsupported' (below our floor) or 'wrong-state'; the context is then failed.
   */
  authenticate(challenge: Uint8Array): Buffer {
    if (this.state !== 'negotiate-sent') throw new NtlmError('wrong-state', `authenticate() in state ${this.state}`);
    this.state = 'failed';
    let c: ChallengeMessage;
    try {
      c = decodeChallengeMessage(challenge);
    } catch (err) {
      if (err instanceof DecodeError) throw new NtlmError('bad-message', 'the CHALLENGE_MESSAGE does not decode', { cause: err });
      throw err;
    }
    this.challengeMsg = c;
    for (const [flag, name] of [
      [NTLMSSP_NEGOTIATE_UNICODE, 'Unicode'],
      [NTLMSSP_NEGOTIATE_EXTENDED_SESSIONSECURITY, 'extended session security'],
      [NTLMSSP_NEGOTIATE_128, '128-bit keys'],
    ] as const) {
      if (!(c.flags & flag)) throw new NtlmError('unsupported', `the server's CHALLENGE does not offer ${name}`);
    }
    const { credentials: cred } = this.opts;
    const keyExch = (c.flags & NTLMSSP_NEGOTIATE_KEY_EXCH) !== 0;
    const flags =
      (AUTHENTICATE_BASE_FLAGS |
        (keyExch ? NTLMSSP_NEGOTIATE_KEY_EXCH : 0) |
        (c.flags & NTLMSSP_NEGOTIATE_56) |
        (cred.workstation ? NTLMSSP_NEGOTIATE_OEM_WORKSTATION_SUPPLIED : 0)) >>>
      0;

    // the client's AV pairs (MS-NLMP 3.1.5.1.2): the server's, then ours
    const serverPairs = c.targetInfo?.pairs ?? [];
    const pairs: AvPairInput[] = serverPairs.filter((p) => !CLIENT_OWN_PAIRS.has(p.id));
    pairs.push(flagsAvPair((c.targetInfo?.flags ?? 0) | MSV_AV_FLAGS.MIC_PRESENT));
    pairs.push({ id: AV_ID.MsvAvChannelBindings, value: this.opts.channelBindings ?? new Uint8Array(16) });
    if (this.opts.targetName) pairs.push(stringAvPair(AV_ID.MsvAvTargetName, this.opts.targetName));
    const targetInfo = Buffer.concat([encodeTargetInfo(pairs), Buffer.alloc(FREERDP_AV_PADDING)]);
    // the NtChallengeResponse carries it in a field of at most 65535 bytes
    if (targetInfo.length > 0xffff - 16 - NTLMV2_CLIENT_CHALLENGE_FIXED - 4) {
      throw new NtlmError('bad-message', `the CHALLENGE's TargetInfo (${c.targetInfo?.pairs.length ?? 0} pairs) is too large to echo in an AUTHENTICATE`);
    }

    const clientChallenge = this.take(8);
    const responseKeyNT = ntowfv2(cred.ntHash, cred.user, cred.domain);
    const r = computeNtlmV2Response({
      responseKeyNT,
      serverChallenge: c.serverChallenge,
      clientChallenge,
      timestamp: c.targetInfo?.timestamp?.filetime ?? this.now(),
      targetInfo,
    });
    const kek = keyExchangeKey(r.sessionBaseKey);
    const exportedSessionKey = keyExch ? this.take(16) : kek;
    const version = this.opts.version ?? DEFAULT_NTLM_VERSION;
    const message = encodeAuthenticateMessage({
      flags,
      lmChallengeResponse: r.lmChallengeResponse,
      ntChallengeResponse: r.ntChallengeResponse,
      domainName: cred.domain,
      userName: cred.user,
      workstation: cred.workstation ?? '',
      encryptedRandomSessionKey: keyExch ? encryptRandomSessionKey(kek, exportedSessionKey) : new Uint8Array(0),
      version,
      mic: new Uint8Array(16),
    });
    message.set(computeMic(exportedSessionKey, this.negotiateBytes!, challenge, message), authenticateMicOffset(flags));
    this.session = new NtlmSession(exportedSessionKey, flags, 'client');
    this.state = 'established';
    return message;
  }

  protected override get stateName(): string {
    return this.state;
  }

  private take(n: number): Buffer {
    const b = this.random(n);
    if (b.length !== n) throw new NtlmError('bad-argument', `random(${n}) returned ${b.length} bytes`);
    return b;
  }
}
