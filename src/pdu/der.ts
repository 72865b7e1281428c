import { fromBER, type BaseBlock, type ObjectIdentifier } from 'asn1js';
import { DecodeError, type DecodeErrorKind } from './errors.js';

/**
 * Strict DER (ITU-T X.690 section 10) on top of the `asn1js` library, for the CredSSP and SPNEGO
 * codecs (credssp.ts, credssp-credentials.ts, spnego.ts). asn1js builds the TLV tree and writes
 * DER; it is a lenient BER reader, so this module checks on top of it what DER requires and
 * turns every failure into a DecodeError(kind, pdu, field, offset):
 *
 * - parsing runs with resource limits (asn1js 4 `fromBER` options): at most DER_MAX_DEPTH
 *   levels of nesting, so a buffer of nested headers is an error, not a stack overflow; no
 *   parsing of what OCTET STRINGs hold (`parseEmbedded: false`); no copy of the input, so byte
 *   fields are views into it (a password can be zeroed where it lies);
 * - asn1js reports a failure as `offset: -1` and an error string, without a position: we find
 *   the element that failed by parsing again from the first child the failed parent did not
 *   keep, level by level, and report its offset and field; what asn1js throws instead (it
 *   interprets some contents: a malformed UTCTime) is an InvalidField at offset 0;
 * - asn1js does not check that a child ends inside its parent, nor that nothing follows the
 *   outer element, and it accepts indefinite lengths, constructed strings, end-of-contents
 *   octets in definite lengths and tag numbers in a longer form than needed: all errors here.
 *
 * One BER liberty remains, as in `ber.ts`: a long-form length that would fit a shorter form is
 * accepted (the encoders in der-write.ts always write the shortest form).
 */

/** Nesting limit: TSRequest needs 6 levels, TSSmartCardCreds 5, SPNEGO 6. */
export const DER_MAX_DEPTH = 16;
/** Element limit for one decode (asn1js's default); real TSRequests have a few dozen, 64 KiB of 2-byte elements 32 K. */
const DER_MAX_NODES = 10_000;

/** Tag classes (X.690 8.1.2.2), numbered as the top two bits of the identifier octet. */
export const DER_UNIVERSAL = 0;
export const DER_APPLICATION = 1;
export const DER_CONTEXT = 2;
/** Universal tag numbers (X.680 8.4). */
export const TAG_INTEGER = 2;
export const TAG_BIT_STRING = 3;
export const TAG_OCTET_STRING = 4;
export const TAG_OID = 6;
export const TAG_ENUMERATED = 10;
export const TAG_SEQUENCE = 16;
export const TAG_GENERAL_STRING = 27;

/** Universal string types, which DER encodes primitive only (X.690 10.2). */
const STRING_TAGS = new Set([3, 4, 12, 18, 19, 20, 21, 22, 25, 26, 27, 28, 29, 30]);

/** One step from the outer element down to an element: its tag and its index among siblings. */
export interface DerStep {
  cls: number;
  tag: number;
  index: number;
}
/** Names the field an element belongs to, from its path (the outer element first). */
export type DerNamer = (path: readonly DerStep[]) => string;

/** One element of a checked DER tree; byte fields are views into the decoder's input. */
export interface DerElement {
  readonly cls: number;
  readonly constructed: boolean;
  readonly tag: number;
  /** offset of the identifier octets within the input */
  readonly offset: number;
  /** the whole element: identifier, length and contents octets */
  readonly tlv: Uint8Array;
  readonly contents: Uint8Array;
  readonly children: readonly DerElement[];
  readonly path: readonly DerStep[];
  /** the asn1js block, for typed values (OIDs) */
  readonly block: BaseBlock;
}

const OPTIONS = {
  maxDepth: DER_MAX_DEPTH,
  maxNodes: DER_MAX_NODES,
  // larger than any input, so a length past the end reads as truncation, not as a limit
  maxContentLength: Number.MAX_SAFE_INTEGER,
  parseEmbedded: false,
  copyInput: false,
};

/** asn1js `fromBER`, with what it throws (rather than returns) caught as a message. */
function tryFromBER(view: Uint8Array, options: typeof OPTIONS): { offset: number; result: unknown } | { thrown: string } {
  try {
    return fromBER(view, options);
  } catch (err) {
    return { thrown: err instanceof Error ? err.message : String(err) };
  }
}

/** An asn1js message in our style: lowercase, without final punctuation. */
function lower(message: string): string {
  return `${message.charAt(0).toLowerCase()}${message.slice(1)}`.replace(/[.!]$/, '');
}

function kindOf(error: string): DecodeErrorKind {
  if (/end of input|zero buffer length|zero length/i.test(error)) return 'NotEnoughBytes';
  if (/maximum asn\.1|too big|too long/i.test(error)) return 'UnsupportedValue';
  return 'InvalidField';
}

function stepOf(block: BaseBlock | undefined, firstOctet: number, index: number): DerStep {
  const id = block?.idBlock;
  if (id && id.blockLength > 0 && !id.error) return { cls: id.tagClass - 1, tag: id.tagNumber, index };
  return { cls: firstOctet >> 6, tag: firstOctet & 0x1f, index };
}

function childrenOf(block: BaseBlock): BaseBlock[] {
  return (block.valueBlock as unknown as { value?: BaseBlock[] }).value ?? [];
}

/**
 * Where a failed parse failed. asn1js keeps the children a constructed element parsed before
 * one failed, and drops the failed one: descend to the first child not kept, parse again from
 * there with the depth that is left, and repeat until the failing element is primitive, is cut
 * by the end of the input, or parses on its own (then the end of its parent cut it).
 */
function locate(view: Uint8Array, first: BaseBlock): { offset: number; path: DerStep[] } {
  const path = [stepOf(first, view[0]!, 0)];
  let at = 0;
  let depth = 0;
  let block = first;
  for (;;) {
    const { idBlock: id, lenBlock: len } = block;
    if (id.error || len.error || len.blockLength === 0 || !id.isConstructed) break;
    const header = id.blockLength + len.blockLength;
    if (!len.isIndefiniteForm && at + header + len.length > view.length) break;
    const kept = childrenOf(block);
    let next = at + header;
    for (const k of kept) next += k.blockLength;
    if (next >= view.length) break;
    at = next;
    depth++;
    if (depth > DER_MAX_DEPTH) {
      path.push(stepOf(undefined, view[at]!, kept.length));
      break;
    }
    const again = tryFromBER(view.subarray(at), { ...OPTIONS, maxDepth: DER_MAX_DEPTH - depth });
    if ('thrown' in again) {
      path.push(stepOf(undefined, view[at]!, kept.length));
      break;
    }
    block = again.result as BaseBlock;
    path.push(stepOf(block, view[at]!, kept.length));
    if (again.offset !== -1) break;
  }
  return { offset: at, path };
}

/** Check one parsed element (and its subtree) against DER, and convert it. */
function build(block: BaseBlock, view: Uint8Array, at: number, parent: readonly DerStep[], index: number, pdu: string, name: DerNamer): DerElement {
  const { idBlock: id, lenBlock: len } = block;
  const cls = id.tagClass - 1;
  const tag = id.tagNumber;
  const path = [...parent, { cls, tag, index }];
  const fail = (kind: DecodeErrorKind, detail: string): DecodeError => new DecodeError(kind, pdu, name(path), at, detail);
  if (id.isHexOnly || id.blockLength > 5) throw fail('UnsupportedValue', 'tag number is too large');
  if (id.blockLength > 1 && (tag < 31 || view[at + 1] === 0x80)) {
    throw fail('InvalidField', 'tag number is not in its shortest form (X.690 8.1.2.4)');
  }
  if (len.isIndefiniteForm) throw fail('UnsupportedValue', 'indefinite length is not allowed in DER (X.690 10.1)');
  if (len.blockLength > 5) throw fail('UnsupportedValue', `length of ${len.blockLength - 1} octets is too long`);
  if (cls === DER_UNIVERSAL) {
    if (tag === 0) throw fail('InvalidField', 'end-of-contents octets outside an indefinite length');
    if (id.isConstructed && STRING_TAGS.has(tag)) {
      throw fail('UnexpectedType', `constructed string (universal ${tag}) is not allowed in DER (X.690 10.2)`);
    }
    if (!id.isConstructed && (tag === 16 || tag === 17)) throw fail('UnexpectedType', 'a SEQUENCE or SET must be constructed');
  }
  const start = at + id.blockLength + len.blockLength;
  const end = start + len.length;
  const children: DerElement[] = [];
  if (id.isConstructed) {
    let pos = start;
    childrenOf(block).forEach((kid, i) => {
      if (pos + kid.blockLength > end) {
        const field = name([...path, stepOf(kid, view[pos]!, i)]);
        throw new DecodeError('NotEnoughBytes', pdu, field, pos, `element of ${kid.blockLength} bytes runs past the end of its enclosing element at offset ${end}`);
      }
      children.push(build(kid, view, pos, path, i, pdu, name));
      pos += kid.blockLength;
    });
  }
  if (at + block.blockLength !== end) {
    throw fail('InvalidField', `contents of ${block.blockLength - (start - at)} bytes do not match the length ${len.length}`);
  }
  return { cls, constructed: id.isConstructed, tag, offset: at, tlv: view.subarray(at, end), contents: view.subarray(start, end), children, path, block };
}

/**
 * Parse one whole DER value: the tree, checked (see the module comment), with nothing after it.
 * `name` maps an element's path to the field named in errors.
 */
export function parseDer(bytes: Uint8Array, pdu: string, name: DerNamer): DerElement {
  const view = new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (view.length === 0) throw new DecodeError('NotEnoughBytes', pdu, name([]), 0, 'no bytes');
  const parsed = tryFromBER(view, OPTIONS);
  if ('thrown' in parsed) {
    // asn1js throws for some contents it interprets (a malformed UTCTime): no partial tree
    throw new DecodeError('InvalidField', pdu, name([]), 0, `asn1js threw: ${lower(parsed.thrown)}`);
  }
  const block = parsed.result as BaseBlock;
  if (parsed.offset === -1) {
    const error = block.error || 'unknown error';
    const where = /node count/i.test(error) ? { offset: 0, path: [] } : locate(view, block);
    const detail = `asn1js: ${lower(error)}`;
    throw new DecodeError(kindOf(error), pdu, name(where.path), where.offset, detail);
  }
  const root = build(block, view, 0, [], 0, pdu, name);
  if (root.tlv.length !== view.length) {
    const rest = view.length - root.tlv.length;
    throw new DecodeError('TrailingBytes', pdu, name([]), root.tlv.length, `${rest} unexpected bytes after the value`);
  }
  return root;
}

// ---------------------------------------------------------------------------------------------
// reading typed values from a checked tree

const CLASS_NAMES = ['universal', 'application', 'context', 'private'];

/** Check an element's class, form and tag number; `what` names the expected type for the message. */
export function expectTag(el: DerElement, cls: number, constructed: boolean, tag: number, pdu: string, field: string, what: string): DerElement {
  if (el.cls !== cls || el.constructed !== constructed || el.tag !== tag) {
    const got = `${el.constructed ? 'constructed' : 'primitive'} ${CLASS_NAMES[el.cls]} ${el.tag}`;
    throw new DecodeError('UnexpectedType', pdu, field, el.offset, `expected ${what}, got ${got} (first octet 0x${el.tlv[0]!.toString(16)})`);
  }
  return el;
}

/** The children of a SEQUENCE (or SEQUENCE OF). */
export function readSequence(el: DerElement, pdu: string, field: string): readonly DerElement[] {
  return expectTag(el, DER_UNIVERSAL, true, TAG_SEQUENCE, pdu, field, 'a SEQUENCE').children;
}

/** The one value inside an EXPLICIT [n] (X.680 31.2.7) or a one-field SEQUENCE: nothing more, nothing less. */
export function explicitInner(el: DerElement, pdu: string, field: string): DerElement {
  const [inner, extra] = el.children;
  if (!inner) throw new DecodeError('InvalidField', pdu, field, el.offset, `${field} holds no value`);
  if (extra) {
    const rest = el.offset + el.tlv.length - extra.offset;
    throw new DecodeError('TrailingBytes', pdu, field, extra.offset, `${rest} unexpected bytes after the value`);
  }
  return inner;
}

/** A context field of a SEQUENCE whose number is above the ones the caller names. */
export interface DerUnknownField {
  tag: number;
  /** the one value inside the [tag] */
  inner: DerElement;
}

/**
 * The EXPLICIT context-tagged fields [0]..[n] of a SEQUENCE, by tag number (`names[n]` names
 * field [n] in errors). Strict: each child is a constructed context tag, tags strictly increase
 * (fields in order, none repeated), and each holds exactly one value. Tags beyond `names` are
 * returned in `unknown` when `skipUnknown`, else rejected.
 */
export function readContextFields(
  seq: DerElement,
  pdu: string,
  names: readonly string[],
  skipUnknown = false,
): { fields: (DerElement | undefined)[]; unknown: DerUnknownField[] } {
  const fields: (DerElement | undefined)[] = [];
  const unknown: DerUnknownField[] = [];
  let last = -1;
  for (const el of seq.children) {
    if (el.cls !== DER_CONTEXT || !el.constructed) {
      throw new DecodeError('UnexpectedType', pdu, 'field', el.offset, `expected a constructed context tag, got first octet 0x${el.tlv[0]!.toString(16)}`);
    }
    const field = names[el.tag] ?? `[${el.tag}]`;
    if (el.tag <= last) {
      throw new DecodeError('InvalidField', pdu, field, el.offset, `field [${el.tag}] after [${last}]: fields out of order or repeated`);
    }
    last = el.tag;
    if (el.tag >= names.length && !skipUnknown) {
      throw new DecodeError('UnexpectedType', pdu, field, el.offset, `field [${el.tag}] is not defined in ${pdu}`);
    }
    const inner = explicitInner(el, pdu, field);
    if (el.tag < names.length) fields[el.tag] = inner;
    else unknown.push({ tag: el.tag, inner });
  }
  return { fields, unknown };
}

/** A field that must be there. */
export function required(el: DerElement | undefined, seq: DerElement, pdu: string, field: string, tag: number): DerElement {
  if (!el) throw new DecodeError('InvalidField', pdu, field, seq.offset, `${field} [${tag}] is missing`);
  return el;
}

/** The contents of a (primitive) OCTET STRING. */
export function readOctetString(el: DerElement, pdu: string, field: string): Uint8Array {
  return expectTag(el, DER_UNIVERSAL, false, TAG_OCTET_STRING, pdu, field, 'an OCTET STRING').contents;
}

/**
 * An INTEGER (or ENUMERATED) whose value fits -2^31 .. 2^32-1, both readings of a 32-bit value:
 * at most 5 content octets, minimal (X.690 8.3.2: the first 9 bits are not all 0 or all 1).
 */
export function readInteger32(el: DerElement, pdu: string, field: string, tag = TAG_INTEGER): number {
  const b = expectTag(el, DER_UNIVERSAL, false, tag, pdu, field, tag === TAG_INTEGER ? 'an INTEGER' : 'an ENUMERATED').contents;
  const n = b.length;
  if (n === 0) throw new DecodeError('InvalidField', pdu, field, el.offset, 'integer has no content octets');
  if (n > 1 && ((b[0] === 0x00 && (b[1]! & 0x80) === 0) || (b[0] === 0xff && (b[1]! & 0x80) !== 0))) {
    throw new DecodeError('InvalidField', pdu, field, el.offset, 'integer is not in its minimal form (X.690 8.3.2)');
  }
  if (n > 5) throw new DecodeError('UnsupportedValue', pdu, field, el.offset, `integer of ${n} octets does not fit 32 bits`);
  let v = b[0]! >= 0x80 ? b[0]! - 0x100 : b[0]!;
  for (let i = 1; i < n; i++) v = v * 256 + b[i]!;
  if (v < -0x80000000 || v > 0xffffffff) {
    throw new DecodeError('UnsupportedValue', pdu, field, el.offset, `integer ${v} does not fit 32 bits`);
  }
  return v;
}

/**
 * An OBJECT IDENTIFIER in dotted form (X.690 8.19): content present, every subidentifier
 * minimal (no leading 0x80) and complete, at most 7 octets (so below 2^49, exact in a number).
 */
export function readOid(el: DerElement, pdu: string, field: string): string {
  const b = expectTag(el, DER_UNIVERSAL, false, TAG_OID, pdu, field, 'an OBJECT IDENTIFIER').contents;
  if (b.length === 0) throw new DecodeError('InvalidField', pdu, field, el.offset, 'object identifier has no content octets');
  let size = 0;
  for (let i = 0; i < b.length; i++) {
    if (size === 0 && b[i] === 0x80) throw new DecodeError('InvalidField', pdu, field, el.offset, 'subidentifier is not in its minimal form (X.690 8.19.2)');
    size = b[i]! & 0x80 ? size + 1 : 0;
    if (size >= 7) throw new DecodeError('UnsupportedValue', pdu, field, el.offset, 'subidentifier is too large');
  }
  if (size !== 0) throw new DecodeError('InvalidField', pdu, field, el.offset, 'last subidentifier is incomplete');
  return (el.block as ObjectIdentifier).valueBlock.toString();
}

/** A BIT STRING (X.690 8.6, 11.2): the unused-bit count and the octets; unused bits must be 0. */
export function readBitString(el: DerElement, pdu: string, field: string): { unusedBits: number; bytes: Uint8Array } {
  const b = expectTag(el, DER_UNIVERSAL, false, TAG_BIT_STRING, pdu, field, 'a BIT STRING').contents;
  const unusedBits = b[0];
  if (unusedBits === undefined) throw new DecodeError('InvalidField', pdu, field, el.offset, 'bit string has no content octets');
  const bytes = b.subarray(1);
  if (unusedBits > 7 || (bytes.length === 0 && unusedBits !== 0)) {
    throw new DecodeError('InvalidField', pdu, field, el.offset, `${unusedBits} unused bits in ${bytes.length} octets`);
  }
  if (bytes.length > 0 && (bytes[bytes.length - 1]! & ((1 << unusedBits) - 1)) !== 0) {
    throw new DecodeError('InvalidField', pdu, field, el.offset, 'unused bits are not zero (X.690 11.2.1)');
  }
  return { unusedBits, bytes };
}

/** UTF-16LE text inside an OCTET STRING (MS-CSSP strings): an even number of bytes. */
export function utf16(bytes: Uint8Array, el: DerElement, pdu: string, field: string): string {
  if (bytes.length % 2 !== 0) throw new DecodeError('InvalidField', pdu, field, el.offset, `odd length ${bytes.length} for UTF-16LE text`);
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('utf16le');
}
