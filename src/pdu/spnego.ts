import { DecodeError, EncodeError } from './errors.js';
import {
  DER_APPLICATION,
  DER_CONTEXT,
  DER_UNIVERSAL,
  TAG_ENUMERATED,
  TAG_GENERAL_STRING,
  TAG_SEQUENCE,
  expectTag,
  parseDer,
  readBitString,
  readContextFields,
  readInteger32,
  readOctetString,
  readOid,
  readSequence,
  required,
  type DerElement,
  type DerStep,
} from './der.js';
import {
  derBitString,
  derConstructed,
  derEncode,
  derEnumerated,
  derExplicit,
  derGeneralString,
  derOctetString,
  derOid,
  derSequence,
  type DerValue,
} from './der-write.js';

/**
 * SPNEGO (RFC 4178), the Negotiate package whose tokens CredSSP carries in TSRequest.negoTokens
 * (MS-CSSP 2.2.1.1; MS-SPNG for Windows' extensions), around NTLM or Kerberos:
 *
 * ```
 * InitialContextToken ::= [APPLICATION 0] IMPLICIT SEQUENCE {       -- RFC 2743 3.1
 *   thisMech MechType, innerContextToken ANY DEFINED BY thisMech }  -- SPNEGO: NegotiationToken
 * NegotiationToken ::= CHOICE { negTokenInit [0] NegTokenInit, negTokenResp [1] NegTokenResp }
 * MechTypeList ::= SEQUENCE OF MechType          MechType ::= OBJECT IDENTIFIER
 * NegTokenInit ::= SEQUENCE {                                       -- RFC 4178 4.2.1
 *   mechTypes [0] MechTypeList, reqFlags [1] ContextFlags OPTIONAL,
 *   mechToken [2] OCTET STRING OPTIONAL, mechListMIC [3] OCTET STRING OPTIONAL, ... }
 * NegTokenInit2 ::= SEQUENCE { ... mechToken [2], negHints [3] NegHints OPTIONAL,   -- MS-SPNG 2.2.1
 *   mechListMIC [4] OCTET STRING OPTIONAL, ... }
 * NegHints ::= SEQUENCE { hintName [0] GeneralString OPTIONAL, hintAddress [1] OCTET STRING OPTIONAL }
 * NegTokenResp ::= SEQUENCE {                                       -- RFC 4178 4.2.2
 *   negState [0] ENUMERATED { accept-completed (0), accept-incomplete (1), reject (2),
 *                             request-mic (3) } OPTIONAL,
 *   supportedMech [1] MechType OPTIONAL, responseToken [2] OCTET STRING OPTIONAL,
 *   mechListMIC [3] OCTET STRING OPTIONAL, ... }
 * ContextFlags ::= BIT STRING { delegFlag (0), mutualFlag (1), replayFlag (2), sequenceFlag (3),
 *                               anonFlag (4), confFlag (5), integFlag (6) } (SIZE (32))
 * ```
 * Only the first token of a negotiation is an InitialContextToken (60 .. 06 06 2b 06 01 05 05 02
 * a0 ..); the later ones are a bare NegotiationToken (a1 ..) (RFC 4178 4.2; RFC 2743 3.1).
 *
 * DER as in der.ts. The `...` extension markers are honoured: context fields after the last one
 * defined are skipped (and not re-encoded). A NegTokenInit decodes both forms: [3] holding a
 * SEQUENCE is MS-SPNG's negHints, and then mechListMIC is [4]. reqFlags is a number with bit n
 * of the BIT STRING as 1 << n (CONTEXT_FLAG_*), encoded as a DER named bit list: trailing zero
 * bits removed (X.690 11.2.2), so a peer's 32-bit form re-encodes shorter.
 */

/** thisMech of the InitialContextToken (RFC 4178 3). */
export const SPNEGO_OID = '1.3.6.1.5.5.2';
/** NTLM (MS-NLMP 1.9). */
export const NTLMSSP_OID = '1.3.6.1.4.1.311.2.2.10';
/** Kerberos V5 (RFC 4121 1.1). */
export const KERBEROS_OID = '1.2.840.113554.1.2.2';
/** Kerberos V5 under Microsoft's mistaken OID, which Windows lists first (MS-SPNG 1.9; RFC 4178 note). */
export const MS_KERBEROS_OID = '1.2.840.48018.1.2.2';
/** Kerberos user-to-user (RFC 4121 4.1; MS-KILE 3.1.5.9). */
export const KERBEROS_USER_TO_USER_OID = '1.2.840.113554.1.2.2.3';
/** NEGOEX (MS-NEGOEX 1.9). */
export const NEGOEX_OID = '1.3.6.1.4.1.311.2.2.30';

/** negState (RFC 4178 4.2.2). */
export const NEG_STATE_ACCEPT_COMPLETED = 0;
export const NEG_STATE_ACCEPT_INCOMPLETE = 1;
export const NEG_STATE_REJECT = 2;
export const NEG_STATE_REQUEST_MIC = 3;

/** ContextFlags bits (RFC 4178 4.2.1), bit n as 1 << n. */
export const CONTEXT_FLAG_DELEG = 1 << 0;
export const CONTEXT_FLAG_MUTUAL = 1 << 1;
export const CONTEXT_FLAG_REPLAY = 1 << 2;
export const CONTEXT_FLAG_SEQUENCE = 1 << 3;
export const CONTEXT_FLAG_ANON = 1 << 4;
export const CONTEXT_FLAG_CONF = 1 << 5;
export const CONTEXT_FLAG_INTEG = 1 << 6;

/** MS-SPNG 2.2.1 NegHints (servers' NegTokenInit2). */
export interface NegHints {
  /** Windows sends "not_defined_in_RFC4178@please_ignore" */
  hintName?: string;
  hintAddress?: Uint8Array;
}

export interface NegTokenInit {
  /** the mechanisms the initiator offers, most preferred first (OIDs in dotted form) */
  mechTypes: string[];
  /** ContextFlags, CONTEXT_FLAG_* (RFC 4178: RECOMMENDED to be left out) */
  reqFlags?: number;
  /** the optimistic token of the first mechanism (an NTLM NEGOTIATE_MESSAGE) */
  mechToken?: Uint8Array;
  /** MS-SPNG NegTokenInit2 only */
  negHints?: NegHints;
  mechListMIC?: Uint8Array;
  /** decode only: the MechTypeList element as received, which mechListMIC signs (RFC 4178 5) */
  mechTypeListBytes?: Uint8Array;
}

export interface NegTokenResp {
  /** NEG_STATE_* */
  negState?: number;
  supportedMech?: string;
  responseToken?: Uint8Array;
  mechListMIC?: Uint8Array;
}

// ---------------------------------------------------------------------------------------------
// decode

const INIT_FIELDS = ['mechTypes', 'reqFlags', 'mechToken', 'mechListMIC', 'mechListMIC'];
const RESP_FIELDS = ['negState', 'supportedMech', 'responseToken', 'mechListMIC'];

function fieldOf(names: readonly string[], step: DerStep | undefined, outer: string): string {
  if (!step) return outer;
  return step.cls === DER_CONTEXT ? (names[step.tag] ?? `[${step.tag}]`) : 'field';
}

/** path: [APPLICATION 0] > thisMech | [0] > SEQUENCE > [n] */
const initField = (path: readonly DerStep[]): string =>
  path[1]?.index === 0 ? 'thisMech' : path.length < 2 ? 'InitialContextToken' : fieldOf(INIT_FIELDS, path[3], 'negTokenInit');
/** path: [1] > SEQUENCE > [n] */
const respField = (path: readonly DerStep[]): string => fieldOf(RESP_FIELDS, path[2], 'negTokenResp');

function contextFlags(el: DerElement, pdu: string): number {
  const { bytes } = readBitString(el, pdu, 'reqFlags');
  if (bytes.length > 4) throw new DecodeError('UnsupportedValue', pdu, 'reqFlags', el.offset, `${bytes.length} octets of ContextFlags (SIZE (32))`);
  let flags = 0;
  bytes.forEach((b, i) => {
    for (let bit = 0; bit < 8; bit++) if (b & (0x80 >> bit)) flags |= 1 << (i * 8 + bit);
  });
  return flags >>> 0;
}

function negHints(el: DerElement, pdu: string): NegHints {
  readSequence(el, pdu, 'negHints');
  const f = readContextFields(el, pdu, ['negHints.hintName', 'negHints.hintAddress'], true).fields;
  const hints: NegHints = {};
  if (f[0]) {
    const name = expectTag(f[0], DER_UNIVERSAL, false, TAG_GENERAL_STRING, pdu, 'negHints.hintName', 'a GeneralString').contents;
    hints.hintName = Buffer.from(name.buffer, name.byteOffset, name.byteLength).toString('latin1');
  }
  if (f[1]) hints.hintAddress = readOctetString(f[1], pdu, 'negHints.hintAddress');
  return hints;
}

/** Decode a first SPNEGO token: InitialContextToken (thisMech SPNEGO) around negTokenInit [0]. */
export function decodeNegTokenInit(bytes: Uint8Array): NegTokenInit {
  const pdu = 'NegTokenInit';
  const root = expectTag(parseDer(bytes, pdu, initField), DER_APPLICATION, true, 0, pdu, 'InitialContextToken', 'an InitialContextToken [APPLICATION 0]');
  const [mech, inner, extra] = root.children;
  const thisMech = readOid(required(mech, root, pdu, 'thisMech', 0), pdu, 'thisMech');
  if (thisMech !== SPNEGO_OID) throw new DecodeError('UnexpectedType', pdu, 'thisMech', mech!.offset, `thisMech ${thisMech} is not SPNEGO (${SPNEGO_OID})`);
  if (!inner) throw new DecodeError('InvalidField', pdu, 'negTokenInit', root.offset, 'innerContextToken is missing');
  if (extra) throw new DecodeError('TrailingBytes', pdu, 'negTokenInit', extra.offset, 'more than one innerContextToken');
  const seq = expectTag(inner, DER_CONTEXT, true, 0, pdu, 'negTokenInit', 'negTokenInit [0]').children[0];
  if (!seq || inner.children.length !== 1) throw new DecodeError('InvalidField', pdu, 'negTokenInit', inner.offset, 'negTokenInit [0] must hold one SEQUENCE');
  expectTag(seq, DER_UNIVERSAL, true, TAG_SEQUENCE, pdu, 'negTokenInit', 'a SEQUENCE');
  const f = readContextFields(seq, pdu, INIT_FIELDS, true).fields;
  const list = required(f[0], seq, pdu, 'mechTypes', 0);
  const out: NegTokenInit = { mechTypes: readSequence(list, pdu, 'mechTypes').map((o, i) => readOid(o, pdu, `mechTypes[${i}]`)), mechTypeListBytes: list.tlv };
  if (f[1]) out.reqFlags = contextFlags(f[1], pdu);
  if (f[2]) out.mechToken = readOctetString(f[2], pdu, 'mechToken');
  const hintsForm = f[3] && f[3].cls === DER_UNIVERSAL && f[3].tag === TAG_SEQUENCE;
  if (hintsForm) out.negHints = negHints(f[3]!, pdu);
  else if (f[3]) out.mechListMIC = readOctetString(f[3], pdu, 'mechListMIC');
  if (f[4]) {
    if (!hintsForm && f[3]) throw new DecodeError('InvalidField', pdu, 'mechListMIC', f[4].offset, 'mechListMIC in both [3] and [4]');
    out.mechListMIC = readOctetString(f[4], pdu, 'mechListMIC');
  }
  return out;
}

/** Decode a later SPNEGO token: negTokenResp [1] (RFC 4178 4.2.2). */
export function decodeNegTokenResp(bytes: Uint8Array): NegTokenResp {
  const pdu = 'NegTokenResp';
  const root = expectTag(parseDer(bytes, pdu, respField), DER_CONTEXT, true, 1, pdu, 'negTokenResp', 'negTokenResp [1]');
  const seq = root.children[0];
  if (!seq || root.children.length !== 1) throw new DecodeError('InvalidField', pdu, 'negTokenResp', root.offset, 'negTokenResp [1] must hold one SEQUENCE');
  expectTag(seq, DER_UNIVERSAL, true, TAG_SEQUENCE, pdu, 'negTokenResp', 'a SEQUENCE');
  const f = readContextFields(seq, pdu, RESP_FIELDS, true).fields;
  const out: NegTokenResp = {};
  if (f[0]) {
    const state = readInteger32(f[0], pdu, 'negState', TAG_ENUMERATED);
    if (state < 0 || state > NEG_STATE_REQUEST_MIC) throw new DecodeError('InvalidField', pdu, 'negState', f[0].offset, `negState ${state} is not 0..3`);
    out.negState = state;
  }
  if (f[1]) out.supportedMech = readOid(f[1], pdu, 'supportedMech');
  if (f[2]) out.responseToken = readOctetString(f[2], pdu, 'responseToken');
  if (f[3]) out.mechListMIC = readOctetString(f[3], pdu, 'mechListMIC');
  return out;
}

/** Either SPNEGO token, by its first octet. */
export function decodeNegotiationToken(bytes: Uint8Array): { init: NegTokenInit } | { resp: NegTokenResp } {
  return bytes[0] === 0xa1 ? { resp: decodeNegTokenResp(bytes) } : { init: decodeNegTokenInit(bytes) };
}

// ---------------------------------------------------------------------------------------------
// encode

function mechTypeList(oids: readonly string[], pdu: string): DerValue {
  return derSequence(oids.map((o, i) => derOid(o, pdu, `mechTypes[${i}]`)));
}

/** The DER of a MechTypeList, what mechListMIC is computed over (RFC 4178 5). */
export function encodeMechTypeList(oids: readonly string[]): Buffer {
  return derEncode(mechTypeList(oids, 'MechTypeList'), 'MechTypeList');
}

/** ContextFlags as a DER named bit list (X.690 11.2.2): trailing zero bits removed. */
function contextFlagsValue(flags: number, pdu: string): DerValue {
  if (!Number.isInteger(flags) || flags < 0 || flags > 0xffffffff) throw new EncodeError(pdu, 'reqFlags', `${flags} is not a 32-bit flag set`);
  let last = -1;
  for (let bit = 0; bit < 32; bit++) if (flags & (2 ** bit)) last = bit;
  const bytes = new Uint8Array(Math.floor(last / 8) + 1);
  for (let bit = 0; bit <= last; bit++) if (flags & (2 ** bit)) bytes[bit >> 3]! |= 0x80 >> (bit & 7);
  return derBitString(bytes, last < 0 ? 0 : 7 - (last % 8));
}

/** Encode a first SPNEGO token: InitialContextToken (thisMech SPNEGO) around negTokenInit. */
export function encodeNegTokenInit(v: NegTokenInit): Buffer {
  const pdu = 'NegTokenInit';
  const fields = [derExplicit(0, mechTypeList(v.mechTypes, pdu))];
  if (v.reqFlags !== undefined) fields.push(derExplicit(1, contextFlagsValue(v.reqFlags, pdu)));
  if (v.mechToken) fields.push(derExplicit(2, derOctetString(v.mechToken)));
  if (v.negHints) {
    const hints: DerValue[] = [];
    if (v.negHints.hintName !== undefined) hints.push(derExplicit(0, derGeneralString(v.negHints.hintName)));
    if (v.negHints.hintAddress) hints.push(derExplicit(1, derOctetString(v.negHints.hintAddress)));
    fields.push(derExplicit(3, derSequence(hints)));
  }
  if (v.mechListMIC) fields.push(derExplicit(v.negHints ? 4 : 3, derOctetString(v.mechListMIC)));
  const token = derConstructed(DER_APPLICATION, 0, [derOid(SPNEGO_OID, pdu, 'thisMech'), derExplicit(0, derSequence(fields))]);
  return derEncode(token, pdu);
}

/** Encode a later SPNEGO token: negTokenResp [1]. */
export function encodeNegTokenResp(v: NegTokenResp): Buffer {
  const pdu = 'NegTokenResp';
  const fields: DerValue[] = [];
  if (v.negState !== undefined) {
    if (!Number.isInteger(v.negState) || v.negState < 0 || v.negState > NEG_STATE_REQUEST_MIC) throw new EncodeError(pdu, 'negState', `${v.negState} is not 0..3`);
    fields.push(derExplicit(0, derEnumerated(v.negState, pdu, 'negState')));
  }
  if (v.supportedMech !== undefined) fields.push(derExplicit(1, derOid(v.supportedMech, pdu, 'supportedMech')));
  if (v.responseToken) fields.push(derExplicit(2, derOctetString(v.responseToken)));
  if (v.mechListMIC) fields.push(derExplicit(3, derOctetString(v.mechListMIC)));
  return derEncode(derExplicit(1, derSequence(fields)), pdu);
}

// ---------------------------------------------------------------------------------------------
// classification

const NTLMSSP_SIGNATURE = [0x4e, 0x54, 0x4c, 0x4d, 0x53, 0x53, 0x50, 0x00]; // "NTLMSSP\0"
const SPNEGO_OID_TLV = [0x06, 0x06, 0x2b, 0x06, 0x01, 0x05, 0x05, 0x02];

/**
 * What a negoToken holds, from its first bytes, without decoding it: a raw NTLM message
 * ("NTLMSSP\0", as FreeRDP, nmap and impacket send in CredSSP), an InitialContextToken whose
 * thisMech is SPNEGO (0x60, a definite length, then the SPNEGO OID), a negTokenResp (0xa1), or
 * anything else (a raw Kerberos token, garbage).
 */
export function classifyNegoToken(bytes: Uint8Array): 'spnego-init' | 'spnego-resp' | 'ntlm' | 'unknown' {
  if (bytes.length >= 8 && NTLMSSP_SIGNATURE.every((b, i) => bytes[i] === b)) return 'ntlm';
  if (bytes[0] === 0xa1) return 'spnego-resp';
  if (bytes[0] === 0x60 && bytes.length > 2) {
    const n = bytes[1]! < 0x80 ? 0 : bytes[1]! & 0x7f;
    const at = 2 + n;
    if (n <= 4 && SPNEGO_OID_TLV.every((b, i) => bytes[at + i] === b)) return 'spnego-init';
  }
  return 'unknown';
}
