import { decodeTsRequest, encodeTsRequest } from '../pdu/credssp.js';
import { DecodeError } from '../pdu/errors.js';
import {
  NTLMSSP_NEGOTIATE_128,
  NTLMSSP_NEGOTIATE_56,
  NTLMSSP_NEGOTIATE_ALWAYS_SIGN,
  NTLMSSP_NEGOTIATE_EXTENDED_SESSIONSECURITY,
  NTLMSSP_NEGOTIATE_KEY_EXCH,
  NTLMSSP_NEGOTIATE_NTLM,
  NTLMSSP_NEGOTIATE_SEAL,
  NTLMSSP_NEGOTIATE_SIGN,
  NTLMSSP_NEGOTIATE_UNICODE,
  NTLMSSP_NEGOTIATE_VERSION,
  NTLMSSP_REQUEST_TARGET,
  NTLMSSP_REVISION_W2K3,
  NTLM_CHALLENGE,
  decodeChallengeMessage,
  encodeNegotiateMessage,
  ntlmMessageType,
  type ChallengeMessage,
} from '../pdu/ntlm.js';

/**
 * The first CredSSP round trip (MS-CSSP 3.1.5 step 1): a TSRequest carrying an NTLM
 * NEGOTIATE_MESSAGE, answered by a TSRequest carrying the server's CHALLENGE_MESSAGE. It shows
 * that the server really goes on to CredSSP after TLS, which CredSSP version it speaks, and
 * the names in the CHALLENGE (as nmap's rdp-ntlm-info). Nothing is authenticated: the
 * connector stops there.
 */

/** The TSRequest version we announce: 6, the current one (MS-CSSP 2.2.1). */
export const CREDSSP_VERSION = 6;

/** NEGOTIATE flags of a current NTLMv2 client (the ones xfreerdp 2.11 sends, less OEM). */
const NEGOTIATE_FLAGS =
  NTLMSSP_NEGOTIATE_56 |
  NTLMSSP_NEGOTIATE_KEY_EXCH |
  NTLMSSP_NEGOTIATE_128 |
  NTLMSSP_NEGOTIATE_VERSION |
  NTLMSSP_NEGOTIATE_EXTENDED_SESSIONSECURITY |
  NTLMSSP_NEGOTIATE_ALWAYS_SIGN |
  NTLMSSP_NEGOTIATE_NTLM |
  NTLMSSP_NEGOTIATE_SEAL |
  NTLMSSP_NEGOTIATE_SIGN |
  NTLMSSP_REQUEST_TARGET |
  NTLMSSP_NEGOTIATE_UNICODE;

export interface CredsspNegotiateOutcome {
  /** the version field of the server's TSRequest */
  serverVersion: number;
  /** errorCode of the server's TSRequest (an NTSTATUS), when it sent one instead of a token */
  errorCode?: number;
  /** the NTLM CHALLENGE_MESSAGE from the server's negoTokens */
  challenge?: ChallengeMessage;
  /** the server answered with a token that is not an NTLM CHALLENGE (SPNEGO, Kerberos) */
  otherToken?: boolean;
}

export function buildCredsspNegotiate(): Buffer {
  const negotiate = encodeNegotiateMessage({
    flags: NEGOTIATE_FLAGS,
    version: { major: 10, minor: 0, build: 19041, ntlmRevision: NTLMSSP_REVISION_W2K3 },
  });
  return encodeTsRequest({ version: CREDSSP_VERSION, negoTokens: [negotiate] });
}

export function readCredsspChallenge(bytes: Uint8Array): CredsspNegotiateOutcome {
  const ts = decodeTsRequest(bytes);
  const out: CredsspNegotiateOutcome = { serverVersion: ts.version };
  if (ts.errorCode !== undefined) out.errorCode = ts.errorCode;
  const token = ts.negoTokens?.[0];
  if (token) {
    let type = -1;
    try {
      type = ntlmMessageType(token);
    } catch (err) {
      if (!(err instanceof DecodeError)) throw err;
    }
    if (type === NTLM_CHALLENGE) out.challenge = decodeChallengeMessage(token);
    else out.otherToken = true;
  }
  return out;
}
