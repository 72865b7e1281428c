import { ReadCursor, WriteCursor } from './cursor.js';
import { DecodeError } from './errors.js';

/**
 * TPKT (RFC 1006 section 6; MS-RDPBCGR 2.2.1.1): version 3, reserved 0, then the total length
 * (header included) as 16-bit big-endian.
 */
export const TPKT_VERSION = 3;
export const TPKT_HEADER_SIZE = 4;
/** The smallest length a TPKT may declare: its own header plus a one-byte X.224 LI. */
const TPKT_MIN_LENGTH = TPKT_HEADER_SIZE + 1;

export function encodeTpkt(payload: Uint8Array): Buffer {
  const w = new WriteCursor(TPKT_HEADER_SIZE + payload.length);
  w.u8(TPKT_VERSION); // version
  w.u8(0); // reserved
  w.u16be(TPKT_HEADER_SIZE + payload.length); // length, header included
  w.bytes(payload);
  return w.finish();
}

/** Decode one whole TPKT frame; returns its payload (a view). Strict: no trailing bytes. */
export function decodeTpkt(buf: Uint8Array): Uint8Array {
  const r = new ReadCursor(buf);
  const version = r.u8('TPKT', 'version');
  if (version !== TPKT_VERSION) {
    throw new DecodeError('UnexpectedType', 'TPKT', 'version', 0, `expected 3, got ${version}`);
  }
  r.u8('TPKT', 'reserved');
  const length = r.u16be('TPKT', 'length');
  if (length < TPKT_MIN_LENGTH) {
    throw new DecodeError('InvalidField', 'TPKT', 'length', 2, `length ${length} is below the minimum ${TPKT_MIN_LENGTH}`);
  }
  if (length !== buf.length) {
    throw new DecodeError(
      length > buf.length ? 'NotEnoughBytes' : 'TrailingBytes',
      'TPKT',
      'length',
      2,
      `length ${length} does not match the ${buf.length} bytes framed`,
    );
  }
  return r.rest();
}

/**
 * How to frame the next inbound PDU (IronRDP's PduHint): given the bytes received so far,
 * either the whole PDU size, or `null` when more bytes are needed to know it. Throws a
 * DecodeError when the bytes cannot start a PDU of this kind.
 */
export interface PduHint {
  readonly name: string;
  findSize(bytes: Uint8Array): number | null;
}

/** Slow-path frames: TPKT only (the connection sequence before activation). */
export const TPKT_HINT: PduHint = {
  name: 'TPKT',
  findSize(bytes) {
    if (bytes.length < TPKT_HEADER_SIZE) return null;
    if (bytes[0] !== TPKT_VERSION) {
      throw new DecodeError('UnexpectedType', 'TPKT', 'version', 0, `expected 3, got ${bytes[0]}`);
    }
    const length = (bytes[2]! << 8) | bytes[3]!;
    if (length < TPKT_MIN_LENGTH) {
      throw new DecodeError('InvalidField', 'TPKT', 'length', 2, `length ${length} is below the minimum ${TPKT_MIN_LENGTH}`);
    }
    return length;
  },
};

/**
 * Slow-path (TPKT) or fast-path output frames (MS-RDPBCGR 2.2.9.1.2: fpOutputHeader whose
 * low two bits are FASTPATH_OUTPUT_ACTION_FASTPATH = 0, then a 1- or 2-byte PER length).
 */
export const TPKT_OR_FASTPATH_HINT: PduHint = {
  name: 'TPKT or fast-path',
  findSize(bytes) {
    if (bytes.length < 1) return null;
    if (bytes[0] === TPKT_VERSION) return TPKT_HINT.findSize(bytes);
    if ((bytes[0]! & 0x03) !== 0) {
      throw new DecodeError('UnexpectedType', 'fast-path', 'action', 0, `header byte 0x${bytes[0]!.toString(16)} is neither TPKT nor fast-path`);
    }
    if (bytes.length < 2) return null;
    const b1 = bytes[1]!;
    let length: number;
    if (b1 & 0x80) {
      if (bytes.length < 3) return null;
      length = ((b1 & 0x7f) << 8) | bytes[2]!;
    } else {
      length = b1;
    }
    if (length < 2) {
      throw new DecodeError('InvalidField', 'fast-path', 'length', 1, `length ${length} is below the minimum 2`);
    }
    return length;
  },
};
