import { WriteCursor } from './cursor.js';
import { DecodeError, EncodeError } from './errors.js';
import { NTLMSSP_NEGOTIATE_UNICODE, NTLMSSP_NEGOTIATE_VERSION, NTLM_AUTHENTICATE, NTLM_VERSION_SIZE, type NtlmVersion } from './ntlm-base.js';
import {
  checkPayloadOffset,
  checkVersionFlag,
  decodeNtlmString,
  encodeNtlmString,
  readHeader,
  readPayloadField,
  readVersion,
  reserveField,
  writeHeader,
  writePayloadField,
  writeVersion,
  type PayloadField,
} from './ntlm-fields.js';
import { MSV_AV_FLAGS, decodeNtlmV2ClientChallenge, type NtlmV2ClientChallenge } from './ntlm-av-pairs.js';

/**
 * AUTHENTICATE_MESSAGE (MS-NLMP 2.2.1.3), the client's last NTLM message:
 *
 * ```
 * Signature (8) | MessageType = 3 (4)
 * LmChallengeResponseFields (8) | NtChallengeResponseFields (8) | DomainNameFields (8)
 * UserNameFields (8) | WorkstationFields (8) | EncryptedRandomSessionKeyFields (8)
 * NegotiateFlags (4)                                                    -- 64 bytes so far
 * Version (8)   when NTLMSSP_NEGOTIATE_VERSION is set
 * MIC (16)      when the NTLMv2 response's MsvAvFlags has bit 0x2 (MS-NLMP 3.2.5.1.2)
 * Payload
 * ```
 *
 * Where the MIC is: MS-NLMP draws Version and MIC as fixed fields, but clients that do not
 * negotiate a version (impacket) omit the Version bytes, as they do in NEGOTIATE and CHALLENGE
 * (see `decodeChallengeMessage`), and clients that send a MIC say so in MsvAvFlags. So, as
 * FreeRDP's reader does, the MIC is read right after the Version (or after the 64-byte header
 * without NTLMSSP_NEGOTIATE_VERSION) exactly when the NTLMv2 response's MsvAvFlags announce it;
 * the payload must then start after it. `micOffset` says where it was, for zeroing it before
 * the MIC is recomputed (`withMicZeroed`).
 *
 * Strings are UTF-16LE with NTLMSSP_NEGOTIATE_UNICODE, else OEM (read as Latin-1). The encoder
 * lays the payload out in the order Windows (MS-NLMP 4.2.4.3), FreeRDP and impacket use:
 * DomainName, UserName, Workstation, LmChallengeResponse, NtChallengeResponse,
 * EncryptedRandomSessionKey, an empty field pointing where it would have been. A message laid
 * out so re-encodes byte for byte.
 */

const PDU = 'AUTHENTICATE_MESSAGE';
/** Signature, MessageType, six fields entries and NegotiateFlags. */
export const AUTHENTICATE_FIXED = 64;
/** Size of the MIC field and of every MS-NLMP HMAC-MD5 value. */
export const NTLM_MIC_SIZE = 16;
/** An NTLMv1 (or LM) response is 24 bytes (MS-NLMP 2.2.2.3, 2.2.2.6); longer is NTLMv2. */
export const NTLMV1_RESPONSE_SIZE = 24;
/** Size of NTProofStr, the first part of an NTLMv2_RESPONSE (MS-NLMP 2.2.2.8). */
export const NTLMV2_PROOF_SIZE = 16;

/** AUTHENTICATE_MESSAGE (MS-NLMP 2.2.1.3) as the encoder takes it. */
export interface AuthenticateMessage {
  flags: number;
  /** LmChallengeResponse: LMv2 (24 bytes), Z(24), or empty */
  lmChallengeResponse: Uint8Array;
  /** NtChallengeResponse: an NTLMv2_RESPONSE (NTProofStr, then the client challenge), or 24 bytes of NTLMv1 */
  ntChallengeResponse: Uint8Array;
  /** DomainName: '' when the user gave none */
  domainName: string;
  userName: string;
  workstation: string;
  /** EncryptedRandomSessionKey: 16 bytes with NTLMSSP_NEGOTIATE_KEY_EXCH, else empty */
  encryptedRandomSessionKey: Uint8Array;
  /** present when NTLMSSP_NEGOTIATE_VERSION is set */
  version?: NtlmVersion;
  /** MIC: 16 bytes, written after the Version when given */
  mic?: Uint8Array;
}

/** A decoded AUTHENTICATE_MESSAGE: the fields, plus where the MIC was and the parsed NTLMv2 response. */
export interface DecodedAuthenticateMessage extends AuthenticateMessage {
  /** byte offset of the MIC in the message, when there is one */
  micOffset?: number;
  /** the NtChallengeResponse parsed as an NTLMv2_RESPONSE (MS-NLMP 2.2.2.8), when longer than 24 bytes */
  ntlmv2?: { ntProofStr: Uint8Array; clientChallenge: NtlmV2ClientChallenge };
}

/** Where the MIC goes for these NegotiateFlags: after the Version, or after the 64-byte header. */
export function authenticateMicOffset(flags: number): number {
  return AUTHENTICATE_FIXED + (flags & NTLMSSP_NEGOTIATE_VERSION ? NTLM_VERSION_SIZE : 0);
}

/** A copy of an AUTHENTICATE_MESSAGE with its 16 MIC bytes zeroed (MS-NLMP 3.1.5.1.2, 3.2.5.1.2). */
export function withMicZeroed(message: Uint8Array, micOffset: number): Buffer {
  if (micOffset < 0 || micOffset + NTLM_MIC_SIZE > message.length) {
    throw new RangeError(`MIC offset ${micOffset} is outside the ${message.length}-byte message`);
  }
  const copy = Buffer.from(message);
  copy.fill(0, micOffset, micOffset + NTLM_MIC_SIZE);
  return copy;
}

/** Decode an AUTHENTICATE_MESSAGE (MS-NLMP 2.2.1.3); see the module comment for the MIC. */
export function decodeAuthenticateMessage(bytes: Uint8Array): DecodedAuthenticateMessage {
  const r = readHeader(bytes, PDU, NTLM_AUTHENTICATE);
  r.ensure(AUTHENTICATE_FIXED - r.offset, PDU, 'fixed part');
  // NegotiateFlags come after the fields entries but decide the size of the fixed part: peek
  const flags = new DataView(bytes.buffer, bytes.byteOffset + 60, 4).getUint32(0, true);
  const micOffset = authenticateMicOffset(flags);
  const field = (name: string): PayloadField => readPayloadField(r, micOffset, PDU, name);
  const lm = field('LmChallengeResponse');
  const nt = field('NtChallengeResponse');
  const domain = field('DomainName');
  const user = field('UserName');
  const workstation = field('Workstation');
  const key = field('EncryptedRandomSessionKey');
  r.skip(4, PDU, 'NegotiateFlags');
  const version = flags & NTLMSSP_NEGOTIATE_VERSION ? readVersion(r, PDU) : undefined;

  let ntlmv2: DecodedAuthenticateMessage['ntlmv2'];
  if (nt.value.length > NTLMV1_RESPONSE_SIZE) {
    try {
      ntlmv2 = {
        ntProofStr: Uint8Array.from(nt.value.subarray(0, NTLMV2_PROOF_SIZE)),
        clientChallenge: decodeNtlmV2ClientChallenge(nt.value.subarray(NTLMV2_PROOF_SIZE), nt.offset + NTLMV2_PROOF_SIZE),
      };
    } catch (err) {
      DecodeError.wrap(err, PDU, 'NtChallengeResponse', nt.offset);
    }
  }

  const out: DecodedAuthenticateMessage = {
    flags,
    lmChallengeResponse: Uint8Array.from(lm.value),
    ntChallengeResponse: Uint8Array.from(nt.value),
    domainName: '',
    userName: '',
    workstation: '',
    encryptedRandomSessionKey: Uint8Array.from(key.value),
  };
  if (version) out.version = version;
  const micFlag = ((ntlmv2?.clientChallenge.avPairs.flags ?? 0) & MSV_AV_FLAGS.MIC_PRESENT) !== 0;
  if (micFlag) {
    // the MIC is part of the fixed part: every non-empty field must start after it
    for (const [name, f] of [['LmChallengeResponse', lm], ['NtChallengeResponse', nt], ['DomainName', domain], ['UserName', user], ['Workstation', workstation], ['EncryptedRandomSessionKey', key]] as const) {
      if (f.value.length) checkPayloadOffset(f.offset, f.value.length, micOffset + NTLM_MIC_SIZE, bytes.length, PDU, name, f.entryAt);
    }
    r.ensure(NTLM_MIC_SIZE, PDU, 'MIC');
    out.mic = Uint8Array.from(r.bytes(NTLM_MIC_SIZE, PDU, 'MIC'));
    out.micOffset = micOffset;
  }
  if (ntlmv2) out.ntlmv2 = ntlmv2;
  const unicode = (flags & NTLMSSP_NEGOTIATE_UNICODE) !== 0;
  out.domainName = decodeNtlmString(domain.value, unicode, PDU, 'DomainName', domain.offset);
  out.userName = decodeNtlmString(user.value, unicode, PDU, 'UserName', user.offset);
  out.workstation = decodeNtlmString(workstation.value, unicode, PDU, 'Workstation', workstation.offset);
  return out;
}

/**
 * Encode an AUTHENTICATE_MESSAGE (MS-NLMP 2.2.1.3). NTLMSSP_NEGOTIATE_VERSION must agree with
 * `version`; a `mic` must be 16 bytes (pass Z(16) to compute the MIC over the result, then
 * write it at `authenticateMicOffset(flags)`). Strings are written as the UNICODE flag says.
 */
export function encodeAuthenticateMessage(v: AuthenticateMessage): Buffer {
  checkVersionFlag(v.flags, v.version, PDU);
  if (v.mic && v.mic.length !== NTLM_MIC_SIZE) throw new EncodeError(PDU, 'MIC', `${v.mic.length} bytes, must be ${NTLM_MIC_SIZE}`);
  const unicode = (v.flags & NTLMSSP_NEGOTIATE_UNICODE) !== 0;
  const domain = encodeNtlmString(v.domainName, unicode, PDU, 'DomainName');
  const user = encodeNtlmString(v.userName, unicode, PDU, 'UserName');
  const workstation = encodeNtlmString(v.workstation, unicode, PDU, 'Workstation');
  const w = new WriteCursor(
    AUTHENTICATE_FIXED + NTLM_VERSION_SIZE + NTLM_MIC_SIZE + domain.length + user.length + workstation.length +
      v.lmChallengeResponse.length + v.ntChallengeResponse.length + v.encryptedRandomSessionKey.length,
  );
  writeHeader(w, NTLM_AUTHENTICATE);
  const lmAt = reserveField(w); // LmChallengeResponseFields
  const ntAt = reserveField(w); // NtChallengeResponseFields
  const domainAt = reserveField(w); // DomainNameFields
  const userAt = reserveField(w); // UserNameFields
  const workstationAt = reserveField(w); // WorkstationFields
  const keyAt = reserveField(w); // EncryptedRandomSessionKeyFields
  w.u32le(v.flags); // NegotiateFlags
  if (v.version) writeVersion(w, v.version, PDU); // Version
  if (v.mic) w.bytes(v.mic); // MIC
  writePayloadField(w, domainAt, domain, PDU, 'DomainName');
  writePayloadField(w, userAt, user, PDU, 'UserName');
  writePayloadField(w, workstationAt, workstation, PDU, 'Workstation');
  writePayloadField(w, lmAt, v.lmChallengeResponse, PDU, 'LmChallengeResponse');
  writePayloadField(w, ntAt, v.ntChallengeResponse, PDU, 'NtChallengeResponse');
  writePayloadField(w, keyAt, v.encryptedRandomSessionKey, PDU, 'EncryptedRandomSessionKey');
  return w.finish();
}
