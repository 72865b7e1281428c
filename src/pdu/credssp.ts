import { ReadCursor, WriteCursor } from './cursor.js';
import { DecodeError, EncodeError } from './errors.js';
import {
  BER_CLASS_CONTEXT,
  BER_CLASS_UNIVERSAL,
  BER_TAG_INTEGER,
  BER_TAG_OCTET_STRING,
  BER_TAG_SEQUENCE,
  encodeContents,
  readLength,
  readTag,
  readTlv,
  writeTlv,
} from './ber.js';
import type { PduHint } from './tpkt.js';

/**
 * CredSSP TSRequest (MS-CSSP 2.2.1), the one message of the CredSSP exchange that runs inside
 * TLS for PROTOCOL_HYBRID / HYBRID_EX (MS-CSSP 3.1.5):
 *
 * ```
 * TSRequest ::= SEQUENCE {
 *   version     [0] INTEGER,
 *   negoTokens  [1] NegoData OPTIONAL,
 *   authInfo    [2] OCTET STRING OPTIONAL,
 *   pubKeyAuth  [3] OCTET STRING OPTIONAL,
 *   errorCode   [4] INTEGER OPTIONAL,          -- since version 3
 *   clientNonce [5] OCTET STRING OPTIONAL }    -- since version 5
 * NegoData ::= SEQUENCE OF SEQUENCE { negoToken [0] OCTET STRING }
 * ```
 * The module's tags are EXPLICIT, so each [n] is a constructed context-specific TLV wrapping
 * one universal TLV.
 *
 * ASN.1 library decision: we read and write DER with our own `ber.ts` (already used for MCS and
 * for the certificate's SPKI), not with `@peculiar/asn1-schema` 2.11.1. Cold `import()` on Node
 * 20, median of 15 runs, two runs on a loaded 2-core machine: `@peculiar/asn1-schema` 109 and
 * 73 ms (asn1js alone 93 and 74), `ber.ts` 21 and 23 ms, this module with ber.ts 27 ms. That is
 * 50-90 ms more start-up, most of the CLI's ~100 ms loading budget, for one 6-field SEQUENCE.
 * The library would also miss what this codec needs most: asn1js parses lenient BER (indefinite
 * lengths, constructed strings) and throws untyped errors without offsets, so strictness and
 * DecodeError(kind, pdu, field, offset) would have to be rebuilt around it anyway.
 *
 * Decoding rules (strict DER, with one BER liberty):
 * - definite lengths only; a long-form length that would fit a shorter form is accepted (valid
 *   BER, as everywhere in `ber.ts`) and re-encoded in the shortest form; nothing else differs on
 *   re-encoding, so a DER input round-trips byte for byte;
 * - INTEGERs must be minimal (X.690 8.3.2) and fit 32 bits; OCTET STRINGs must be primitive;
 * - fields must appear in tag order, each at most once, and `version` must be there;
 * - bytes after the outer SEQUENCE, or after the single value inside an [n], are errors;
 * - context tags above [5] are SKIPPED (kept in `unknownFields`, re-encoded as they came), not
 *   rejected. TSRequest has grown twice by appending a field (errorCode in v3, clientNonce in
 *   v5), and servers send fields beyond the peer's version: the FreeRDP 2.11 shadow server
 *   answers impacket's version 2 and nmap's version 96 requests with version 6 and a
 *   clientNonce. A strict reject would make a future v7 server undecodable; skipping a
 *   well-formed, ordered trailing field costs nothing, because every field we act on is still
 *   checked. Anything else (a universal or primitive tag, a field out of order or repeated) is
 *   rejected.
 */

const PDU = 'TSRequest';

/** Frames larger than this are refused by TSREQUEST_HINT (Kerberos MaxTokenSize defaults to 48000). */
export const TSREQUEST_MAX_SIZE = 64 * 1024;
/** The smallest TSRequest: 30 05 a0 03 02 01 vv (a version and nothing else). */
const TSREQUEST_MIN_SIZE = 7;
/** The highest field tag MS-CSSP defines (clientNonce). */
const LAST_KNOWN_FIELD = 5;

/** A context-specific field this version of MS-CSSP does not define, skipped on decode. */
export interface TsRequestUnknownField {
  /** the context tag number (> 5) */
  tag: number;
  /** the contents of the [tag] TLV: the one TLV it wraps, with its own tag and length */
  contents: Uint8Array;
}

/**
 * A decoded TSRequest (MS-CSSP 2.2.1). Byte fields of a decoded value are views into the input
 * (copy them to keep them after the input buffer is reused).
 */
export interface TsRequest {
  /** [0] the sender's CredSSP version: 2..6 are defined (MS-CSSP 2.2.1); nmap sends 96 */
  version: number;
  /** [1] the negoToken of each NegoData entry, in order: SPNEGO, or raw NTLM/Kerberos messages */
  negoTokens?: Uint8Array[];
  /** [2] the sealed TSCredentials (MS-CSSP 2.2.1.2) */
  authInfo?: Uint8Array;
  /** [3] the sealed public key or binding hash (MS-CSSP 3.1.5) */
  pubKeyAuth?: Uint8Array;
  /**
   * [4] an NTSTATUS (MS-CSSP 2.2.1, version 3+), as an unsigned 32-bit value (0xC000006D for
   * STATUS_LOGON_FAILURE) whether the peer wrote it as a negative or a padded positive INTEGER
   */
  errorCode?: number;
  /** [5] 32 random bytes from the client (MS-CSSP 2.2.1, version 5+) */
  clientNonce?: Uint8Array;
  /** context fields above [5], skipped on decode, written back after clientNonce on encode */
  unknownFields?: TsRequestUnknownField[];
}

// ---------------------------------------------------------------------------------------------
// INTEGER (X.690 8.3): two's complement, minimal

/**
 * Read an INTEGER whose value fits -2^31 .. 2^32-1 (so both readings of a 32-bit NTSTATUS):
 * at most 5 content octets, minimal (X.690 8.3.2: the first 9 bits are not all 0 or all 1).
 */
function readInteger32(r: ReadCursor, field: string): number {
  const at = r.at;
  const c = readTlv(r, BER_CLASS_UNIVERSAL, false, BER_TAG_INTEGER, PDU, field);
  const n = c.remaining;
  if (n === 0) throw new DecodeError('InvalidField', PDU, field, at, 'integer has no content octets');
  if (n > 5) throw new DecodeError('UnsupportedValue', PDU, field, at, `integer of ${n} octets does not fit 32 bits`);
  const b = c.bytes(n, PDU, field);
  if (n > 1 && ((b[0] === 0x00 && (b[1]! & 0x80) === 0) || (b[0] === 0xff && (b[1]! & 0x80) !== 0))) {
    throw new DecodeError('InvalidField', PDU, field, at, 'integer is not in its minimal form (X.690 8.3.2)');
  }
  let v = b[0]! >= 0x80 ? b[0]! - 0x100 : b[0]!;
  for (let i = 1; i < n; i++) v = v * 256 + b[i]!;
  if (v < -0x80000000 || v > 0xffffffff) {
    throw new DecodeError('UnsupportedValue', PDU, field, at, `integer ${v} does not fit 32 bits`);
  }
  return v;
}

/** Minimal two's complement contents of an integer in -2^31 .. 2^32-1 (X.690 8.3.2). */
function integerContents(v: number, field: string): Uint8Array {
  if (!Number.isInteger(v) || v < -0x80000000 || v > 0xffffffff) {
    throw new EncodeError(PDU, field, `${v} is not an integer in -2^31..2^32-1`);
  }
  const out: number[] = [];
  if (v >= 0) {
    let n = v;
    do {
      out.unshift(n & 0xff);
      n = Math.floor(n / 256);
    } while (n > 0);
    if (out[0]! & 0x80) out.unshift(0x00);
  } else {
    const u = v >>> 0;
    out.push(u >>> 24, (u >>> 16) & 0xff, (u >>> 8) & 0xff, u & 0xff);
    while (out.length > 1 && out[0] === 0xff && (out[1]! & 0x80) !== 0) out.shift();
  }
  return Uint8Array.from(out);
}

// ---------------------------------------------------------------------------------------------
// decode

const FIELD_NAMES = ['version', 'negoTokens', 'authInfo', 'pubKeyAuth', 'errorCode', 'clientNonce'] as const;

/** Nothing may follow the one value an [n] or a SEQUENCE holds. */
function expectEnd(c: ReadCursor, field: string): void {
  if (!c.isEmpty()) {
    throw new DecodeError('TrailingBytes', PDU, field, c.at, `${c.remaining} unexpected bytes after the value`);
  }
}

/** The contents of one OCTET STRING, which must be the only thing in `c`. */
function octetStringField(c: ReadCursor, field: string): Uint8Array {
  const v = readTlv(c, BER_CLASS_UNIVERSAL, false, BER_TAG_OCTET_STRING, PDU, field).rest();
  expectEnd(c, field);
  return v;
}

/** NegoData (MS-CSSP 2.2.1.1): SEQUENCE OF SEQUENCE { negoToken [0] OCTET STRING }. */
function negoDataField(c: ReadCursor): Uint8Array[] {
  const seq = readTlv(c, BER_CLASS_UNIVERSAL, true, BER_TAG_SEQUENCE, PDU, 'negoTokens');
  expectEnd(c, 'negoTokens');
  const tokens: Uint8Array[] = [];
  while (!seq.isEmpty()) {
    const field = `negoTokens[${tokens.length}]`;
    const item = readTlv(seq, BER_CLASS_UNIVERSAL, true, BER_TAG_SEQUENCE, PDU, field);
    const tagged = readTlv(item, BER_CLASS_CONTEXT, true, 0, PDU, `${field}.negoToken`);
    expectEnd(item, field);
    tokens.push(octetStringField(tagged, `${field}.negoToken`));
  }
  return tokens;
}

/** Check that `c` holds exactly one well-formed TLV (the value inside an unknown [n]). */
function singleTlv(c: ReadCursor, field: string): Uint8Array {
  const start = c.offset;
  readTag(c, PDU, field);
  const length = readLength(c, PDU, field);
  c.skip(length, PDU, field);
  expectEnd(c, field);
  return c.buf.subarray(start, c.offset);
}

/** Decode one whole DER TSRequest (MS-CSSP 2.2.1). Strict: see the module comment. */
export function decodeTsRequest(bytes: Uint8Array): TsRequest {
  const r = new ReadCursor(bytes);
  const seq = readTlv(r, BER_CLASS_UNIVERSAL, true, BER_TAG_SEQUENCE, PDU, 'SEQUENCE');
  r.expectEnd(PDU);

  let version: number | undefined;
  const out: Partial<TsRequest> = {};
  const unknown: TsRequestUnknownField[] = [];
  let last = -1;
  while (!seq.isEmpty()) {
    const at = seq.at;
    const tag = readTag(seq, PDU, 'field');
    if (tag.cls !== BER_CLASS_CONTEXT || !tag.constructed) {
      throw new DecodeError('UnexpectedType', PDU, 'field', at, `expected a constructed context tag, got first octet 0x${bytes[at]!.toString(16)}`);
    }
    const field = FIELD_NAMES[tag.number] ?? `[${tag.number}]`;
    if (last < 0 && tag.number !== 0) {
      throw new DecodeError('InvalidField', PDU, 'version', at, `the first field is [${tag.number}], not version [0]`);
    }
    if (tag.number <= last) {
      throw new DecodeError('InvalidField', PDU, field, at, `field [${tag.number}] after [${last}]: fields out of order or repeated`);
    }
    last = tag.number;
    const c = seq.sub(readLength(seq, PDU, field), PDU, field);
    switch (tag.number) {
      case 0: {
        const v = readInteger32(c, field);
        expectEnd(c, field);
        if (v < 0) throw new DecodeError('InvalidField', PDU, field, at, `negative version ${v}`);
        version = v;
        break;
      }
      case 1:
        out.negoTokens = negoDataField(c);
        break;
      case 2:
        out.authInfo = octetStringField(c, field);
        break;
      case 3:
        out.pubKeyAuth = octetStringField(c, field);
        break;
      case 4:
        out.errorCode = readInteger32(c, field) >>> 0;
        expectEnd(c, field);
        break;
      case 5:
        out.clientNonce = octetStringField(c, field);
        break;
      default:
        // tag.number > LAST_KNOWN_FIELD here: the only case left by the order check and the cases above
        unknown.push({ tag: tag.number, contents: singleTlv(c, field) });
    }
  }
  if (version === undefined) {
    throw new DecodeError('InvalidField', PDU, 'version', seq.at, 'version [0] is missing');
  }
  const req: TsRequest = { version };
  if (out.negoTokens) req.negoTokens = out.negoTokens;
  if (out.authInfo) req.authInfo = out.authInfo;
  if (out.pubKeyAuth) req.pubKeyAuth = out.pubKeyAuth;
  if (out.errorCode !== undefined) req.errorCode = out.errorCode;
  if (out.clientNonce) req.clientNonce = out.clientNonce;
  if (unknown.length) req.unknownFields = unknown;
  return req;
}

// ---------------------------------------------------------------------------------------------
// encode

function explicit(w: WriteCursor, tag: number, inner: (w: WriteCursor) => void): void {
  writeTlv(w, BER_CLASS_CONTEXT, true, tag, encodeContents(inner));
}

function octetString(w: WriteCursor, v: Uint8Array): void {
  writeTlv(w, BER_CLASS_UNIVERSAL, false, BER_TAG_OCTET_STRING, v);
}

/**
 * Encode a TSRequest in DER (MS-CSSP 2.2.1). errorCode takes an unsigned 32-bit NTSTATUS (or its
 * negative int32 form) and is written as the 4-octet two's complement INTEGER (0xC000006D is
 * 02 04 c0 00 00 6d), the form FreeRDP's ber_write_integer produces for such values.
 */
export function encodeTsRequest(v: TsRequest): Buffer {
  if (!Number.isInteger(v.version) || v.version < 0 || v.version > 0xffffffff) {
    throw new EncodeError(PDU, 'version', `${v.version} is not an integer in 0..2^32-1`);
  }
  let errorCode: number | undefined;
  if (v.errorCode !== undefined) {
    if (!Number.isInteger(v.errorCode) || v.errorCode < -0x80000000 || v.errorCode > 0xffffffff) {
      throw new EncodeError(PDU, 'errorCode', `${v.errorCode} is not a 32-bit NTSTATUS`);
    }
    errorCode = v.errorCode | 0; // as int32: NTSTATUS is a signed LONG
  }
  let lastUnknown = LAST_KNOWN_FIELD;
  for (const u of v.unknownFields ?? []) {
    if (!Number.isInteger(u.tag) || u.tag <= lastUnknown) {
      throw new EncodeError(PDU, `[${u.tag}]`, `unknown fields need increasing tags above ${LAST_KNOWN_FIELD}`);
    }
    lastUnknown = u.tag;
  }
  const body = encodeContents((w) => {
    explicit(w, 0, (x) => writeTlv(x, BER_CLASS_UNIVERSAL, false, BER_TAG_INTEGER, integerContents(v.version, 'version')));
    if (v.negoTokens) {
      const tokens = v.negoTokens;
      explicit(w, 1, (x) =>
        writeTlv(
          x,
          BER_CLASS_UNIVERSAL,
          true,
          BER_TAG_SEQUENCE,
          encodeContents((items) => {
            for (const t of tokens) {
              writeTlv(items, BER_CLASS_UNIVERSAL, true, BER_TAG_SEQUENCE, encodeContents((i) => explicit(i, 0, (o) => octetString(o, t))));
            }
          }),
        ),
      );
    }
    if (v.authInfo) explicit(w, 2, (x) => octetString(x, v.authInfo!));
    if (v.pubKeyAuth) explicit(w, 3, (x) => octetString(x, v.pubKeyAuth!));
    if (errorCode !== undefined) {
      const e = errorCode;
      explicit(w, 4, (x) => writeTlv(x, BER_CLASS_UNIVERSAL, false, BER_TAG_INTEGER, integerContents(e, 'errorCode')));
    }
    if (v.clientNonce) explicit(w, 5, (x) => octetString(x, v.clientNonce!));
    for (const u of v.unknownFields ?? []) writeTlv(w, BER_CLASS_CONTEXT, true, u.tag, u.contents);
  });
  const w = new WriteCursor(body.length + 6);
  writeTlv(w, BER_CLASS_UNIVERSAL, true, BER_TAG_SEQUENCE, body);
  return w.finish();
}

// ---------------------------------------------------------------------------------------------
// framing

/**
 * Frames one TSRequest in the TLS byte stream (MS-CSSP 3.1.5: TSRequests are sent back to back
 * with no other framing): the SEQUENCE tag 0x30, then a definite length in short form or long
 * form of 1..4 octets. Anything else, a TSRequest smaller than the smallest possible one, or one
 * larger than TSREQUEST_MAX_SIZE, is a DecodeError (so a TPKT after the exchange is rejected,
 * and a hostile length cannot make the reader buffer more than 64 KiB).
 */
export const TSREQUEST_HINT: PduHint = {
  name: 'TSRequest',
  findSize(bytes) {
    if (bytes.length < 1) return null;
    if (bytes[0] !== 0x30) {
      throw new DecodeError('UnexpectedType', PDU, 'SEQUENCE', 0, `first octet 0x${bytes[0]!.toString(16)} is not a SEQUENCE tag (0x30)`);
    }
    if (bytes.length < 2) return null;
    const first = bytes[1]!;
    let header = 2;
    let length = first;
    if (first >= 0x80) {
      const count = first & 0x7f;
      if (count === 0) throw new DecodeError('UnsupportedValue', PDU, 'length', 1, 'indefinite length is not allowed in DER');
      if (count > 4) throw new DecodeError('UnsupportedValue', PDU, 'length', 1, `length of ${count} octets is too long`);
      header += count;
      if (bytes.length < header) return null;
      length = 0;
      for (let i = 2; i < header; i++) length = length * 256 + bytes[i]!;
    }
    const size = header + length;
    if (size < TSREQUEST_MIN_SIZE) {
      throw new DecodeError('InvalidField', PDU, 'length', 1, `size ${size} is below the minimum ${TSREQUEST_MIN_SIZE}`);
    }
    if (size > TSREQUEST_MAX_SIZE) {
      throw new DecodeError('UnsupportedValue', PDU, 'length', 1, `size ${size} exceeds the maximum ${TSREQUEST_MAX_SIZE}`);
    }
    return size;
  },
};
