import { DecodeError } from './errors.js';
import type { PduHint } from './tpkt.js';

/**
 * The framing of CredSSP's TSRequests (MS-CSSP 2.2.1), apart from their codec (credssp.ts, on an
 * ASN.1 library): the connector and the acceptor need the hint before they need the codec, and a
 * probe of a server without NLA should not load the library at all.
 */
const PDU = 'TSRequest';

/** Frames larger than this are refused by TSREQUEST_HINT (Kerberos MaxTokenSize defaults to 48000). */
export const TSREQUEST_MAX_SIZE = 64 * 1024;
/** The smallest TSRequest: 30 05 a0 03 02 01 vv (a version and nothing else). */
const TSREQUEST_MIN_SIZE = 7;

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
