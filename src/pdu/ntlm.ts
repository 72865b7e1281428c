import { ReadCursor, WriteCursor } from './cursor.js';
import { DecodeError, EncodeError } from './errors.js';

/**
 * NTLM messages (MS-NLMP 2.2.1) as they travel in CredSSP negoTokens: NEGOTIATE_MESSAGE (ours,
 * encoded), CHALLENGE_MESSAGE (the server's, decoded, with its target info). All integers are
 * little-endian. Variable fields are described by 8-byte "fields" entries (Len (2), MaxLen (2),
 * BufferOffset (4) from the start of the message) that point into the payload; every one is
 * checked against the message before anything is read, so a hostile offset is a DecodeError.
 * AUTHENTICATE_MESSAGE is not decoded yet (see `ntlmMessageType`).
 */

/** Signature of every NTLM message (MS-NLMP 2.2.1.1): "NTLMSSP\0". */
export const NTLMSSP_SIGNATURE: Uint8Array = Uint8Array.of(0x4e, 0x54, 0x4c, 0x4d, 0x53, 0x53, 0x50, 0x00);

/** MessageType values (MS-NLMP 2.2.1.1, 2.2.1.2, 2.2.1.3). */
export const NTLM_NEGOTIATE = 0x00000001;
export const NTLM_CHALLENGE = 0x00000002;
export const NTLM_AUTHENTICATE = 0x00000003;

// NegotiateFlags (MS-NLMP 2.2.2.5), by the spec's names; the letter is the spec's bit label.
/** A: Unicode (UTF-16LE) strings */
export const NTLMSSP_NEGOTIATE_UNICODE = 0x00000001;
/** B: OEM strings (the spec's name has no "SSP") */
export const NTLM_NEGOTIATE_OEM = 0x00000002;
/** C: the server returns its TargetName in the CHALLENGE */
export const NTLMSSP_REQUEST_TARGET = 0x00000004;
/** D: message integrity */
export const NTLMSSP_NEGOTIATE_SIGN = 0x00000010;
/** E: message confidentiality */
export const NTLMSSP_NEGOTIATE_SEAL = 0x00000020;
/** F: connectionless (datagram) NTLM */
export const NTLMSSP_NEGOTIATE_DATAGRAM = 0x00000040;
/** G: LAN Manager session key */
export const NTLMSSP_NEGOTIATE_LM_KEY = 0x00000080;
/** H: NTLM v1 session security */
export const NTLMSSP_NEGOTIATE_NTLM = 0x00000200;
/** J: anonymous connection (the spec gives only the letter; FreeRDP's ntlm.h name) */
export const NTLMSSP_NEGOTIATE_ANONYMOUS = 0x00000800;
/** K: the NEGOTIATE carries a DomainName */
export const NTLMSSP_NEGOTIATE_OEM_DOMAIN_SUPPLIED = 0x00001000;
/** L: the NEGOTIATE carries a Workstation name */
export const NTLMSSP_NEGOTIATE_OEM_WORKSTATION_SUPPLIED = 0x00002000;
/** M: always sign (dummy signatures when not signing) */
export const NTLMSSP_NEGOTIATE_ALWAYS_SIGN = 0x00008000;
/** N: TargetName is a domain name */
export const NTLMSSP_TARGET_TYPE_DOMAIN = 0x00010000;
/** O: TargetName is a server name */
export const NTLMSSP_TARGET_TYPE_SERVER = 0x00020000;
/** P: NTLM v2 session security ("extended session security") */
export const NTLMSSP_NEGOTIATE_EXTENDED_SESSIONSECURITY = 0x00080000;
/** Q: identify-level token */
export const NTLMSSP_NEGOTIATE_IDENTIFY = 0x00100000;
/** R: LMOWF session key */
export const NTLMSSP_REQUEST_NON_NT_SESSION_KEY = 0x00400000;
/** S: the CHALLENGE carries TargetInfo */
export const NTLMSSP_NEGOTIATE_TARGET_INFO = 0x00800000;
/** T: the Version field is populated */
export const NTLMSSP_NEGOTIATE_VERSION = 0x02000000;
/** U: 128-bit session keys */
export const NTLMSSP_NEGOTIATE_128 = 0x20000000;
/** V: explicit key exchange (EncryptedRandomSessionKey) */
export const NTLMSSP_NEGOTIATE_KEY_EXCH = 0x40000000;
/** W: 56-bit encryption */
export const NTLMSSP_NEGOTIATE_56 = 0x80000000;

/** Every defined NegotiateFlags bit by name, low bit first (MS-NLMP 2.2.2.5). */
export const NTLM_NEGOTIATE_FLAGS: Readonly<Record<string, number>> = {
  NTLMSSP_NEGOTIATE_UNICODE,
  NTLM_NEGOTIATE_OEM,
  NTLMSSP_REQUEST_TARGET,
  NTLMSSP_NEGOTIATE_SIGN,
  NTLMSSP_NEGOTIATE_SEAL,
  NTLMSSP_NEGOTIATE_DATAGRAM,
  NTLMSSP_NEGOTIATE_LM_KEY,
  NTLMSSP_NEGOTIATE_NTLM,
  NTLMSSP_NEGOTIATE_ANONYMOUS,
  NTLMSSP_NEGOTIATE_OEM_DOMAIN_SUPPLIED,
  NTLMSSP_NEGOTIATE_OEM_WORKSTATION_SUPPLIED,
  NTLMSSP_NEGOTIATE_ALWAYS_SIGN,
  NTLMSSP_TARGET_TYPE_DOMAIN,
  NTLMSSP_TARGET_TYPE_SERVER,
  NTLMSSP_NEGOTIATE_EXTENDED_SESSIONSECURITY,
  NTLMSSP_NEGOTIATE_IDENTIFY,
  NTLMSSP_REQUEST_NON_NT_SESSION_KEY,
  NTLMSSP_NEGOTIATE_TARGET_INFO,
  NTLMSSP_NEGOTIATE_VERSION,
  NTLMSSP_NEGOTIATE_128,
  NTLMSSP_NEGOTIATE_KEY_EXCH,
  NTLMSSP_NEGOTIATE_56,
};

/** Names of the NegotiateFlags bits set in `flags`, low bit first; reserved bits as hex. */
export function ntlmFlagNames(flags: number): string[] {
  const out: string[] = [];
  let rest = flags >>> 0;
  for (const [name, bit] of Object.entries(NTLM_NEGOTIATE_FLAGS)) {
    if ((rest & bit) >>> 0 === bit) {
      out.push(name);
      rest = (rest & ~bit) >>> 0;
    }
  }
  if (rest) out.push(`0x${rest.toString(16).padStart(8, '0')}`);
  return out;
}

/** AV_PAIR AvId values (MS-NLMP 2.2.2.1). */
export const AV_ID = {
  MsvAvEOL: 0x0000,
  MsvAvNbComputerName: 0x0001,
  MsvAvNbDomainName: 0x0002,
  MsvAvDnsComputerName: 0x0003,
  MsvAvDnsDomainName: 0x0004,
  MsvAvDnsTreeName: 0x0005,
  MsvAvFlags: 0x0006,
  MsvAvTimestamp: 0x0007,
  MsvAvSingleHost: 0x0008,
  MsvAvTargetName: 0x0009,
  MsvAvChannelBindings: 0x000a,
} as const;

/** MsvAvFlags bits (MS-NLMP 2.2.2.1; the spec names none of them). */
export const MSV_AV_FLAGS = {
  /** the account's authentication is constrained */
  AUTHENTICATION_CONSTRAINED: 0x00000001,
  /** the AUTHENTICATE carries a MIC */
  MIC_PRESENT: 0x00000002,
  /** the client's target SPN came from an untrusted source */
  UNTRUSTED_SPN_SOURCE: 0x00000004,
} as const;

export function avIdName(id: number): string {
  const e = Object.entries(AV_ID).find(([, v]) => v === id);
  return e ? e[0] : `AvId_0x${id.toString(16).padStart(4, '0')}`;
}

/** VERSION (MS-NLMP 2.2.2.10): the sender's OS version, "for debugging purposes only". */
export interface NtlmVersion {
  /** ProductMajorVersion */
  major: number;
  /** ProductMinorVersion */
  minor: number;
  /** ProductBuild */
  build: number;
  /** NTLMRevisionCurrent: 0x0F (NTLMSSP_REVISION_W2K3) on every current stack */
  ntlmRevision: number;
}
export const NTLMSSP_REVISION_W2K3 = 0x0f;

/** One AV_PAIR as it came (MS-NLMP 2.2.2.1); the closing MsvAvEOL is not listed. */
export interface AvPair {
  id: number;
  /** the spec name of `id` (MsvAvNbComputerName), or AvId_0x.... for an unknown one */
  name: string;
  value: Uint8Array;
}

/** A CHALLENGE's TargetInfo (MS-NLMP 2.2.2.1), the names an NTLM prober reports. */
export interface TargetInfo {
  /** MsvAvNbComputerName: the server's NetBIOS name */
  nbComputerName?: string;
  /** MsvAvNbDomainName: the NetBIOS domain (the computer name when not joined) */
  nbDomainName?: string;
  /** MsvAvDnsComputerName: the server's FQDN */
  dnsComputerName?: string;
  /** MsvAvDnsDomainName */
  dnsDomainName?: string;
  /** MsvAvDnsTreeName: the forest */
  dnsTreeName?: string;
  /** MsvAvFlags (MSV_AV_FLAGS) */
  flags?: number;
  /** MsvAvTimestamp: the server's clock as a FILETIME, and as a Date (millisecond precision) */
  timestamp?: { date: Date; filetime: bigint };
  /** MsvAvTargetName: an SPN (in an AUTHENTICATE) */
  targetName?: string;
  /** MsvAvSingleHost: a Single_Host_Data structure, raw */
  singleHost?: Uint8Array;
  /** MsvAvChannelBindings: the MD5 of the gss_channel_bindings_struct (16 bytes) */
  channelBindings?: Uint8Array;
  /** every pair in order (the named fields above take the first of each AvId) */
  pairs: AvPair[];
}

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
const VERSION_SIZE = 8;
/** FILETIME of 1970-01-01 (100 ns intervals since 1601-01-01). */
const FILETIME_UNIX_EPOCH = 116444736000000000n;

// ---------------------------------------------------------------------------------------------
// common pieces

/** Check the signature and return the MessageType (MS-NLMP 2.2.1): 1, 2, 3, or another value. */
export function ntlmMessageType(bytes: Uint8Array): number {
  const r = new ReadCursor(bytes);
  const sig = r.bytes(NTLMSSP_SIGNATURE.length, 'NTLM message', 'Signature');
  if (!NTLMSSP_SIGNATURE.every((b, i) => sig[i] === b)) {
    throw new DecodeError('InvalidField', 'NTLM message', 'Signature', 0, 'signature is not "NTLMSSP\\0"');
  }
  return r.u32le('NTLM message', 'MessageType');
}

function header(bytes: Uint8Array, pdu: string, type: number): ReadCursor {
  const got = ntlmMessageType(bytes);
  if (got !== type) {
    throw new DecodeError('UnexpectedType', pdu, 'MessageType', 8, `message type ${got}, expected ${type}`);
  }
  const r = new ReadCursor(bytes);
  r.skip(12, pdu, 'Signature and MessageType');
  return r;
}

/**
 * Read a fields entry (Len, MaxLen, BufferOffset) and return the bytes it points to (a view)
 * with their offset. MaxLen is ignored, as MS-NLMP 2.2.1.1 requires. A non-empty field must lie
 * after the fixed part (`payloadStart`) and inside the message; an empty one may hold any offset.
 */
function payloadField(r: ReadCursor, payloadStart: number, pdu: string, field: string): { value: Uint8Array; offset: number } {
  const at = r.at;
  const len = r.u16le(pdu, `${field}Len`);
  r.u16le(pdu, `${field}MaxLen`);
  const offset = r.u32le(pdu, `${field}BufferOffset`);
  if (len === 0) return { value: new Uint8Array(0), offset };
  if (offset < payloadStart) {
    throw new DecodeError('InvalidField', pdu, `${field}BufferOffset`, at + 4, `offset ${offset} points into the ${payloadStart}-byte fixed part`);
  }
  if (offset + len > r.buf.length) {
    throw new DecodeError(
      'NotEnoughBytes',
      pdu,
      field,
      at + 4,
      `${len} bytes at offset ${offset} run past the end of the ${r.buf.length}-byte message`,
    );
  }
  return { value: r.buf.subarray(offset, offset + len), offset };
}

function readVersion(r: ReadCursor, pdu: string): NtlmVersion {
  const major = r.u8(pdu, 'ProductMajorVersion');
  const minor = r.u8(pdu, 'ProductMinorVersion');
  const build = r.u16le(pdu, 'ProductBuild');
  r.skip(3, pdu, 'Reserved');
  const ntlmRevision = r.u8(pdu, 'NTLMRevisionCurrent');
  return { major, minor, build, ntlmRevision };
}

function utf16(b: Uint8Array, pdu: string, field: string, at: number): string {
  if (b.length % 2 !== 0) {
    throw new DecodeError('InvalidField', pdu, field, at, `UTF-16LE string of odd length ${b.length}`);
  }
  return Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('utf16le');
}

/** OEM strings are in the sender's OEM code page, which the message does not name: read as Latin-1. */
function oem(b: Uint8Array): string {
  return Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('latin1');
}

/** FILETIME (100 ns since 1601-01-01 UTC) to a Date, truncated to the millisecond. */
export function filetimeToDate(filetime: bigint): Date {
  return new Date(Number((filetime - FILETIME_UNIX_EPOCH) / 10000n));
}

// ---------------------------------------------------------------------------------------------
// NEGOTIATE_MESSAGE

/**
 * Encode a NEGOTIATE_MESSAGE (MS-NLMP 2.2.1.1) with empty DomainName and Workstation fields
 * (Len, MaxLen and BufferOffset all 0, as FreeRDP, nmap and impacket send them), followed by the
 * Version when given. NTLMSSP_NEGOTIATE_VERSION in `flags` must agree with `version`.
 */
export function encodeNegotiateMessage(v: { flags: number; version?: NtlmVersion }): Buffer {
  const pdu = 'NEGOTIATE_MESSAGE';
  const hasFlag = (v.flags & NTLMSSP_NEGOTIATE_VERSION) !== 0;
  if (hasFlag !== (v.version !== undefined)) {
    throw new EncodeError(pdu, 'Version', hasFlag ? 'NTLMSSP_NEGOTIATE_VERSION is set but no version is given' : 'a version is given without NTLMSSP_NEGOTIATE_VERSION');
  }
  const w = new WriteCursor(NEGOTIATE_FIXED + VERSION_SIZE);
  w.bytes(NTLMSSP_SIGNATURE); // Signature
  w.u32le(NTLM_NEGOTIATE); // MessageType
  w.u32le(v.flags); // NegotiateFlags
  w.zeros(8); // DomainNameFields: Len, MaxLen, BufferOffset
  w.zeros(8); // WorkstationFields
  if (v.version) writeVersion(w, v.version, pdu);
  return w.finish();
}

function writeVersion(w: WriteCursor, v: NtlmVersion, pdu: string): void {
  const check = (n: number, max: number, field: string) => {
    if (!Number.isInteger(n) || n < 0 || n > max) throw new EncodeError(pdu, field, `${n} is not in 0..${max}`);
  };
  check(v.major, 0xff, 'ProductMajorVersion');
  check(v.minor, 0xff, 'ProductMinorVersion');
  check(v.build, 0xffff, 'ProductBuild');
  check(v.ntlmRevision, 0xff, 'NTLMRevisionCurrent');
  w.u8(v.major); // ProductMajorVersion
  w.u8(v.minor); // ProductMinorVersion
  w.u16le(v.build); // ProductBuild
  w.zeros(3); // Reserved
  w.u8(v.ntlmRevision); // NTLMRevisionCurrent
}

/** Decode a NEGOTIATE_MESSAGE (MS-NLMP 2.2.1.1). */
export function decodeNegotiateMessage(bytes: Uint8Array): NegotiateMessage {
  const pdu = 'NEGOTIATE_MESSAGE';
  const r = header(bytes, pdu, NTLM_NEGOTIATE);
  const flags = r.u32le(pdu, 'NegotiateFlags');
  const payloadStart = NEGOTIATE_FIXED + (flags & NTLMSSP_NEGOTIATE_VERSION ? VERSION_SIZE : 0);
  const domain = payloadField(r, payloadStart, pdu, 'DomainName');
  const workstation = payloadField(r, payloadStart, pdu, 'Workstation');
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
  const r = header(bytes, pdu, NTLM_CHALLENGE);
  // NegotiateFlags follow TargetNameFields but decide the size of the fixed part: peek first.
  r.ensure(CHALLENGE_FIXED - r.offset, pdu, 'fixed part');
  const flags = new ReadCursor(bytes, 20).u32le(pdu, 'NegotiateFlags');
  const hasVersion = (flags & NTLMSSP_NEGOTIATE_VERSION) !== 0;
  const payloadStart = CHALLENGE_FIXED + (hasVersion ? VERSION_SIZE : 0);
  const targetName = payloadField(r, payloadStart, pdu, 'TargetName');
  r.skip(4, pdu, 'NegotiateFlags');
  const serverChallenge = Uint8Array.from(r.bytes(8, pdu, 'ServerChallenge'));
  r.skip(8, pdu, 'Reserved');
  const targetInfo = payloadField(r, payloadStart, pdu, 'TargetInfo');
  const out: ChallengeMessage = { flags, targetName: '', serverChallenge };
  if (hasVersion) out.version = readVersion(r, pdu);
  if (targetName.value.length) {
    out.targetName =
      flags & NTLMSSP_NEGOTIATE_UNICODE ? utf16(targetName.value, pdu, 'TargetName', targetName.offset) : oem(targetName.value);
  }
  if (targetInfo.value.length) out.targetInfo = decodeTargetInfo(targetInfo.value, targetInfo.offset);
  return out;
}

/** Value sizes that MS-NLMP 2.2.2.1 fixes. */
const AV_FIXED_SIZE: Record<number, number> = {
  [AV_ID.MsvAvFlags]: 4,
  [AV_ID.MsvAvTimestamp]: 8,
  [AV_ID.MsvAvChannelBindings]: 16,
};

/**
 * Decode an AV_PAIR list (MS-NLMP 2.2.2.1): AvId (2), AvLen (2), value, ..., ending with
 * MsvAvEOL (AvLen 0), which MUST be last: bytes after it are an error, as is its absence.
 * `base` is the list's offset in the message, for errors. Unknown AvIds are kept in `pairs`.
 */
export function decodeTargetInfo(bytes: Uint8Array, base = 0): TargetInfo {
  const pdu = 'AV_PAIR';
  const r = new ReadCursor(bytes, 0, bytes.length, base);
  const info: TargetInfo = { pairs: [] };
  for (;;) {
    if (r.isEmpty()) {
      throw new DecodeError('InvalidField', pdu, 'AvId', r.at, 'the list does not end with MsvAvEOL');
    }
    const at = r.at;
    const id = r.u16le(pdu, 'AvId');
    const len = r.u16le(pdu, 'AvLen');
    const name = avIdName(id);
    if (id === AV_ID.MsvAvEOL) {
      if (len !== 0) throw new DecodeError('InvalidField', pdu, 'AvLen', at + 2, `MsvAvEOL with AvLen ${len}, must be 0`);
      break;
    }
    const valueAt = r.at;
    const value = Uint8Array.from(r.bytes(len, pdu, name));
    const fixed = AV_FIXED_SIZE[id];
    if (fixed !== undefined && len !== fixed) {
      throw new DecodeError('InvalidField', pdu, name, at + 2, `AvLen ${len}, must be ${fixed}`);
    }
    info.pairs.push({ id, name, value });
    const str = () => utf16(value, pdu, name, valueAt);
    const dv = new DataView(value.buffer, value.byteOffset, value.byteLength);
    switch (id) {
      case AV_ID.MsvAvNbComputerName:
        info.nbComputerName ??= str();
        break;
      case AV_ID.MsvAvNbDomainName:
        info.nbDomainName ??= str();
        break;
      case AV_ID.MsvAvDnsComputerName:
        info.dnsComputerName ??= str();
        break;
      case AV_ID.MsvAvDnsDomainName:
        info.dnsDomainName ??= str();
        break;
      case AV_ID.MsvAvDnsTreeName:
        info.dnsTreeName ??= str();
        break;
      case AV_ID.MsvAvFlags:
        info.flags ??= dv.getUint32(0, true);
        break;
      case AV_ID.MsvAvTimestamp: {
        const filetime = dv.getBigUint64(0, true);
        info.timestamp ??= { date: filetimeToDate(filetime), filetime };
        break;
      }
      case AV_ID.MsvAvSingleHost:
        info.singleHost ??= value;
        break;
      case AV_ID.MsvAvTargetName:
        info.targetName ??= str();
        break;
      case AV_ID.MsvAvChannelBindings:
        info.channelBindings ??= value;
        break;
    }
  }
  if (!r.isEmpty()) {
    throw new DecodeError('TrailingBytes', pdu, '(after MsvAvEOL)', r.at, `${r.remaining} bytes after MsvAvEOL`);
  }
  return info;
}
