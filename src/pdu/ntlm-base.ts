import { ReadCursor } from './cursor.js';
import { DecodeError } from './errors.js';

/**
 * What the three NTLM messages (MS-NLMP 2.2.1) share: the signature and MessageType, the
 * NegotiateFlags, the VERSION structure and FILETIME conversions. The wire helpers the codecs
 * share (fields entries, strings, VERSION reading and writing) are in `ntlm-fields.ts`.
 *
 * `pdu/ntlm.ts` re-exports everything here; import from there.
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

/** Size of the VERSION structure (MS-NLMP 2.2.2.10). */
export const NTLM_VERSION_SIZE = 8;
/** FILETIME of 1970-01-01 (100 ns intervals since 1601-01-01). */
const FILETIME_UNIX_EPOCH = 116444736000000000n;

/** Check the signature and return the MessageType (MS-NLMP 2.2.1): 1, 2, 3, or another value. */
export function ntlmMessageType(bytes: Uint8Array): number {
  const r = new ReadCursor(bytes);
  const sig = r.bytes(NTLMSSP_SIGNATURE.length, 'NTLM message', 'Signature');
  if (!NTLMSSP_SIGNATURE.every((b, i) => sig[i] === b)) {
    throw new DecodeError('InvalidField', 'NTLM message', 'Signature', 0, 'signature is not "NTLMSSP\\0"');
  }
  return r.u32le('NTLM message', 'MessageType');
}

/** FILETIME (100 ns since 1601-01-01 UTC) to a Date, truncated to the millisecond. */
export function filetimeToDate(filetime: bigint): Date {
  return new Date(Number((filetime - FILETIME_UNIX_EPOCH) / 10000n));
}

/** A Date (or milliseconds since 1970) to a FILETIME. */
export function dateToFiletime(date: Date | number): bigint {
  const ms = typeof date === 'number' ? date : date.getTime();
  return BigInt(Math.trunc(ms)) * 10000n + FILETIME_UNIX_EPOCH;
}
