import { ReadCursor, WriteCursor } from './cursor.js';
import { DecodeError, EncodeError } from './errors.js';
import { filetimeToDate } from './ntlm-base.js';
import { utf16 } from './ntlm-fields.js';

/**
 * AV_PAIR lists (MS-NLMP 2.2.2.1), the TargetInfo of a CHALLENGE_MESSAGE and of the client's
 * NTLMv2 response, and the NTLMv2_CLIENT_CHALLENGE that carries the latter (MS-NLMP 2.2.2.7).
 * `pdu/ntlm.ts` re-exports everything here; import from there.
 */

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

/** Value sizes that MS-NLMP 2.2.2.1 fixes. */
const AV_FIXED_SIZE: Record<number, number> = {
  [AV_ID.MsvAvFlags]: 4,
  [AV_ID.MsvAvTimestamp]: 8,
  [AV_ID.MsvAvChannelBindings]: 16,
};

const AV_PDU = 'AV_PAIR';

/**
 * Read AV_PAIRs up to and including MsvAvEOL, leaving the cursor after it. Its absence is an
 * error; what follows it is the caller's business.
 */
function readAvPairs(r: ReadCursor): TargetInfo {
  const pdu = AV_PDU;
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
      return info;
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
}

/**
 * Decode an AV_PAIR list (MS-NLMP 2.2.2.1): AvId (2), AvLen (2), value, ..., ending with
 * MsvAvEOL (AvLen 0), which MUST be last: bytes after it are an error, as is its absence.
 * `base` is the list's offset in the message, for errors. Unknown AvIds are kept in `pairs`.
 */
export function decodeTargetInfo(bytes: Uint8Array, base = 0): TargetInfo {
  const r = new ReadCursor(bytes, 0, bytes.length, base);
  const info = readAvPairs(r);
  if (!r.isEmpty()) {
    throw new DecodeError('TrailingBytes', AV_PDU, '(after MsvAvEOL)', r.at, `${r.remaining} bytes after MsvAvEOL`);
  }
  return info;
}

/** One pair to encode: an AvId and its value (an AvPair of a decoded list fits). */
export interface AvPairInput {
  id: number;
  value: Uint8Array;
}

/**
 * Encode an AV_PAIR list (MS-NLMP 2.2.2.1): the pairs in the order given, then MsvAvEOL. A pair
 * with AvId MsvAvEOL, a value over 65535 bytes or a fixed-size value (MsvAvFlags 4,
 * MsvAvTimestamp 8, MsvAvChannelBindings 16) of another size is an EncodeError.
 */
export function encodeTargetInfo(pairs: readonly AvPairInput[]): Buffer {
  const w = new WriteCursor(4 + pairs.reduce((n, p) => n + 4 + p.value.length, 0));
  for (const p of pairs) {
    const name = avIdName(p.id);
    if (!Number.isInteger(p.id) || p.id <= AV_ID.MsvAvEOL || p.id > 0xffff) {
      throw new EncodeError(AV_PDU, 'AvId', `${p.id} is not an AvId to encode (MsvAvEOL is added at the end)`);
    }
    const fixed = AV_FIXED_SIZE[p.id];
    if (fixed !== undefined && p.value.length !== fixed) throw new EncodeError(AV_PDU, name, `value of ${p.value.length} bytes, must be ${fixed}`);
    if (p.value.length > 0xffff) throw new EncodeError(AV_PDU, name, `value of ${p.value.length} bytes does not fit AvLen`);
    w.u16le(p.id); // AvId
    w.u16le(p.value.length); // AvLen
    w.bytes(p.value); // Value
  }
  w.u16le(AV_ID.MsvAvEOL); // AvId
  w.u16le(0); // AvLen
  return w.finish();
}

/** A pair whose value is a UTF-16LE string (the names, MsvAvTargetName). */
export function stringAvPair(id: number, s: string): AvPairInput {
  return { id, value: Buffer.from(s, 'utf16le') };
}

/** MsvAvTimestamp's value: a FILETIME, little-endian. */
export function timestampAvPair(filetime: bigint): AvPairInput {
  const v = Buffer.alloc(8);
  v.writeBigUInt64LE(BigInt.asUintN(64, filetime));
  return { id: AV_ID.MsvAvTimestamp, value: v };
}

/** MsvAvFlags's value: a 32-bit little-endian word. */
export function flagsAvPair(flags: number): AvPairInput {
  const v = Buffer.alloc(4);
  v.writeUInt32LE(flags >>> 0);
  return { id: AV_ID.MsvAvFlags, value: v };
}

// ---------------------------------------------------------------------------------------------
// NTLMv2_CLIENT_CHALLENGE

/** RespType and HiRespType of every NTLMv2_CLIENT_CHALLENGE (MS-NLMP 2.2.2.7). */
export const NTLMV2_RESP_TYPE = 0x01;
/** RespType (1), HiRespType (1), Reserved1 (2), Reserved2 (4), TimeStamp (8), ChallengeFromClient (8), Reserved3 (4). */
export const NTLMV2_CLIENT_CHALLENGE_FIXED = 28;

/** NTLMv2_CLIENT_CHALLENGE (MS-NLMP 2.2.2.7), the NTLMv2 response after its NTProofStr. */
export interface NtlmV2ClientChallenge {
  /** RespType: 1 */
  respType: number;
  /** HiRespType: 1 */
  hiRespType: number;
  /** TimeStamp: a FILETIME (the server's MsvAvTimestamp when it sent one) */
  timestamp: bigint;
  /** ChallengeFromClient: 8 random bytes */
  challengeFromClient: Uint8Array;
  /** AvPairs: the client's copy of the server's TargetInfo plus its own pairs */
  avPairs: TargetInfo;
  /**
   * Bytes after MsvAvEOL: the Z(4) of MS-NLMP 3.3.2 (`temp` ends with it), and any padding
   * before it (FreeRDP 2.11 sends 12 zero bytes, impacket 4)
   */
  trailing: Uint8Array;
}

/**
 * Decode an NTLMv2_CLIENT_CHALLENGE and what follows it in the NTLMv2_RESPONSE (MS-NLMP
 * 2.2.2.7, 2.2.2.8). RespType and HiRespType must be 1; the reserved fields, which the spec says
 * SHOULD be zero, are not checked (the NTProofStr covers them as sent). Bytes after MsvAvEOL are
 * returned in `trailing`, not rejected. `base` is the structure's offset in the message.
 */
export function decodeNtlmV2ClientChallenge(bytes: Uint8Array, base = 0): NtlmV2ClientChallenge {
  const pdu = 'NTLMv2_CLIENT_CHALLENGE';
  const r = new ReadCursor(bytes, 0, bytes.length, base);
  const respAt = r.at;
  const respType = r.u8(pdu, 'RespType');
  const hiRespType = r.u8(pdu, 'HiRespType');
  if (respType !== NTLMV2_RESP_TYPE || hiRespType !== NTLMV2_RESP_TYPE) {
    throw new DecodeError('UnsupportedValue', pdu, 'RespType', respAt, `RespType ${respType} HiRespType ${hiRespType}, expected 1 and 1`);
  }
  r.skip(2, pdu, 'Reserved1');
  r.skip(4, pdu, 'Reserved2');
  r.ensure(8, pdu, 'TimeStamp');
  const timestamp = new DataView(bytes.buffer, bytes.byteOffset + r.offset, 8).getBigUint64(0, true);
  r.skip(8, pdu, 'TimeStamp');
  const challengeFromClient = Uint8Array.from(r.bytes(8, pdu, 'ChallengeFromClient'));
  r.skip(4, pdu, 'Reserved3');
  const avPairs = readAvPairs(r);
  return { respType, hiRespType, timestamp, challengeFromClient, avPairs, trailing: Uint8Array.from(r.rest()) };
}

/**
 * Encode an NTLMv2_CLIENT_CHALLENGE followed by `trailing` (MS-NLMP 2.2.2.7, 3.3.2): this is
 * `temp` of MS-NLMP 3.3.2 when `trailing` is Z(4). `avPairs` is an encoded AV_PAIR list (with
 * its MsvAvEOL, and any padding the caller wants before the Z(4)).
 */
export function encodeNtlmV2ClientChallenge(v: {
  timestamp: bigint;
  challengeFromClient: Uint8Array;
  avPairs: Uint8Array;
  trailing?: Uint8Array;
}): Buffer {
  const pdu = 'NTLMv2_CLIENT_CHALLENGE';
  if (v.challengeFromClient.length !== 8) throw new EncodeError(pdu, 'ChallengeFromClient', `${v.challengeFromClient.length} bytes, must be 8`);
  const trailing = v.trailing ?? new Uint8Array(4);
  const b = Buffer.alloc(NTLMV2_CLIENT_CHALLENGE_FIXED + v.avPairs.length + trailing.length);
  b[0] = NTLMV2_RESP_TYPE; // RespType
  b[1] = NTLMV2_RESP_TYPE; // HiRespType
  // Reserved1 (2), Reserved2 (4): zero
  b.writeBigUInt64LE(BigInt.asUintN(64, v.timestamp), 8); // TimeStamp
  b.set(v.challengeFromClient, 16); // ChallengeFromClient
  // Reserved3 (4): zero
  b.set(v.avPairs, NTLMV2_CLIENT_CHALLENGE_FIXED); // AvPairs
  b.set(trailing, NTLMV2_CLIENT_CHALLENGE_FIXED + v.avPairs.length);
  return b;
}
