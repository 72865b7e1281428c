import { ReadCursor, WriteCursor } from './cursor.js';
import { EncodeError } from './errors.js';
import { NTLMSSP_NEGOTIATE_UNICODE, NTLMSSP_NEGOTIATE_VERSION, NTLM_CHALLENGE, NTLM_NEGOTIATE, NTLM_VERSION_SIZE, type NtlmVersion } from './ntlm-base.js';
import {
  checkVersionFlag,
  decodeNtlmString,
  encodeNtlmString,
  oem,
  readHeader,
  readPayloadField,
  readVersion,
  reserveField,
  writeHeader,
  writePayloadField,
  writeVersion,
} from './ntlm-fields.js';
import { decodeTargetInfo, encodeTargetInfo, type AvPairInput, type TargetInfo } from './ntlm-av-pairs.js';

/**
 * NTLM messages (MS-NLMP 2.2.1) as they travel in CredSSP negoTokens. This module holds
 * NEGOTIATE_MESSAGE and CHALLENGE_MESSAGE (both encoded and decoded) and re-exports the rest:
 * - `ntlm-base.ts`: signature, MessageType, NegotiateFlags, VERSION, FILETIME;
 * - `ntlm-fields.ts` (internal but for encodeVersion/decodeVersion): fields entries, strings;
 * - `ntlm-av-pairs.ts`: AV_PAIR lists (TargetInfo) and NTLMv2_CLIENT_CHALLENGE;
 * - `ntlm-authenticate.ts`: AUTHENTICATE_MESSAGE.
 * All integers are little-endian. Variable fields are described by 8-byte "fields" entries
 * (Len (2), MaxLen (2), BufferOffset (4) from the start of the message) that point into the
 * payload; every one is checked against the message before anything is read, so a hostile
 * offset is a DecodeError. The cryptography (NTLMv2, keys, sealing) is in `crypto/ntlm.ts`.
 */

export * from './ntlm-base.js';
export { encodeVersion, decodeVersion } from './ntlm-fields.js';
export * from './ntlm-av-pairs.js';
export * from './ntlm-authenticate.js';

/** NEGOTIATE_MESSAGE (MS-NLMP 2.2.1.1). */
export interface NegotiateMessage {
  flags: number;
  /** OEM DomainName, when DomainNameLen is not 0 */
  domainName?: string;
  /** OEM Workstation, when WorkstationLen is not 0 */
  workstation?: string;
  /** present when NTLMSSP_NEGOTIATE_VERSION is set */
  version?: NtlmVersion;
}

/** CHALLENGE_MESSAGE (MS-NLMP 2.2.1.2). */
export interface ChallengeMessage {
  flags: number;
  /** TargetName, UTF-16LE when NTLMSSP_NEGOTIATE_UNICODE is set, else OEM; '' when empty */
  targetName: string;
  /** ServerChallenge: 8 bytes */
  serverChallenge: Uint8Array;
  /** present when TargetInfoLen is not 0 */
  targetInfo?: TargetInfo;
  /** present when NTLMSSP_NEGOTIATE_VERSION is set */
  version?: NtlmVersion;
}

/** Fixed part of a NEGOTIATE_MESSAGE before Version: signature, type, flags, two fields entries. */
const NEGOTIATE_FIXED = 32;
/** Fixed part of a CHALLENGE_MESSAGE before Version (MS-NLMP 2.2.1.2). */
const CHALLENGE_FIXED = 48;

// ---------------------------------------------------------------------------------------------
// NEGOTIATE_MESSAGE

/**
 * Encode a NEGOTIATE_MESSAGE (MS-NLMP 2.2.1.1) with empty DomainName and Workstation fields
 * (Len, MaxLen and BufferOffset all 0, as FreeRDP, nmap and impacket send them), followed by the
 * Version when given. NTLMSSP_NEGOTIATE_VERSION in `flags` must agree with `version`.
 */
export function encodeNegotiateMessage(v: { flags: number; version?: NtlmVersion }): Buffer {
  const pdu = 'NEGOTIATE_MESSAGE';
  checkVersionFlag(v.flags, v.version, pdu);
  const w = new WriteCursor(NEGOTIATE_FIXED + NTLM_VERSION_SIZE);
  writeHeader(w, NTLM_NEGOTIATE);
  w.u32le(v.flags); // NegotiateFlags
  w.zeros(8); // DomainNameFields: Len, MaxLen, BufferOffset
  w.zeros(8); // WorkstationFields
  if (v.version) writeVersion(w, v.version, pdu);
  return w.finish();
}

/** Decode a NEGOTIATE_MESSAGE (MS-NLMP 2.2.1.1). */
export function decodeNegotiateMessage(bytes: Uint8Array): NegotiateMessage {
  const pdu = 'NEGOTIATE_MESSAGE';
  const r = readHeader(bytes, pdu, NTLM_NEGOTIATE);
  const flags = r.u32le(pdu, 'NegotiateFlags');
  const payloadStart = NEGOTIATE_FIXED + (flags & NTLMSSP_NEGOTIATE_VERSION ? NTLM_VERSION_SIZE : 0);
  const domain = readPayloadField(r, payloadStart, pdu, 'DomainName');
  const workstation = readPayloadField(r, payloadStart, pdu, 'Workstation');
  const out: NegotiateMessage = { flags };
  if (flags & NTLMSSP_NEGOTIATE_VERSION) out.version = readVersion(r, pdu);
  if (domain.value.length) out.domainName = oem(domain.value);
  if (workstation.value.length) out.workstation = oem(workstation.value);
  return out;
}

// ---------------------------------------------------------------------------------------------
// CHALLENGE_MESSAGE

/**
 * Decode a CHALLENGE_MESSAGE (MS-NLMP 2.2.1.2): TargetNameFields, NegotiateFlags,
 * ServerChallenge (8), Reserved (8), TargetInfoFields, Version (when NTLMSSP_NEGOTIATE_VERSION
 * is set), then the payload.
 */
export function decodeChallengeMessage(bytes: Uint8Array): ChallengeMessage {
  const pdu = 'CHALLENGE_MESSAGE';
  const r = readHeader(bytes, pdu, NTLM_CHALLENGE);
  // NegotiateFlags follow TargetNameFields but decide the size of the fixed part: peek first.
  r.ensure(CHALLENGE_FIXED - r.offset, pdu, 'fixed part');
  const flags = new ReadCursor(bytes, 20).u32le(pdu, 'NegotiateFlags');
  const hasVersion = (flags & NTLMSSP_NEGOTIATE_VERSION) !== 0;
  const payloadStart = CHALLENGE_FIXED + (hasVersion ? NTLM_VERSION_SIZE : 0);
  const targetName = readPayloadField(r, payloadStart, pdu, 'TargetName');
  r.skip(4, pdu, 'NegotiateFlags');
  const serverChallenge = Uint8Array.from(r.bytes(8, pdu, 'ServerChallenge'));
  r.skip(8, pdu, 'Reserved');
  const targetInfo = readPayloadField(r, payloadStart, pdu, 'TargetInfo');
  const out: ChallengeMessage = { flags, targetName: '', serverChallenge };
  if (hasVersion) out.version = readVersion(r, pdu);
  if (targetName.value.length) {
    out.targetName = decodeNtlmString(targetName.value, (flags & NTLMSSP_NEGOTIATE_UNICODE) !== 0, pdu, 'TargetName', targetName.offset);
  }
  if (targetInfo.value.length) out.targetInfo = decodeTargetInfo(targetInfo.value, targetInfo.offset);
  return out;
}

/** What `encodeChallengeMessage` takes: a decoded ChallengeMessage fits. */
export interface ChallengeMessageInput {
  flags: number;
  targetName: string;
  serverChallenge: Uint8Array;
  /** the AV_PAIRs, in order (MsvAvEOL is added), or absent for an empty TargetInfo */
  targetInfo?: { pairs: readonly AvPairInput[] };
  version?: NtlmVersion;
}

/**
 * Encode a CHALLENGE_MESSAGE (MS-NLMP 2.2.1.2) laid out as Windows (MS-NLMP 4.2.4.3) and
 * FreeRDP do: the fixed part, the Version when given, then TargetName, then TargetInfo.
 * Reserved is zero. NTLMSSP_NEGOTIATE_VERSION in `flags` must agree with `version`; TargetName
 * is written as NTLMSSP_NEGOTIATE_UNICODE says.
 */
export function encodeChallengeMessage(v: ChallengeMessageInput): Buffer {
  const pdu = 'CHALLENGE_MESSAGE';
  checkVersionFlag(v.flags, v.version, pdu);
  if (v.serverChallenge.length !== 8) throw new EncodeError(pdu, 'ServerChallenge', `${v.serverChallenge.length} bytes, must be 8`);
  const name = encodeNtlmString(v.targetName, (v.flags & NTLMSSP_NEGOTIATE_UNICODE) !== 0, pdu, 'TargetName');
  const info = v.targetInfo ? encodeTargetInfo(v.targetInfo.pairs) : new Uint8Array(0);
  const w = new WriteCursor(CHALLENGE_FIXED + NTLM_VERSION_SIZE + name.length + info.length);
  writeHeader(w, NTLM_CHALLENGE);
  const nameAt = reserveField(w); // TargetNameFields
  w.u32le(v.flags); // NegotiateFlags
  w.bytes(v.serverChallenge); // ServerChallenge
  w.zeros(8); // Reserved
  const infoAt = reserveField(w); // TargetInfoFields
  if (v.version) writeVersion(w, v.version, pdu); // Version
  writePayloadField(w, nameAt, name, pdu, 'TargetName');
  writePayloadField(w, infoAt, info, pdu, 'TargetInfo');
  return w.finish();
}
