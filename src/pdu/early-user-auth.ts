import { ReadCursor, WriteCursor } from './cursor.js';
import { DecodeError, EncodeError } from './errors.js';
import type { PduHint } from './tpkt.js';

/**
 * Early User Authorization Result PDU (MS-RDPBCGR 2.2.10.2): sent by the server only when the
 * client requested PROTOCOL_HYBRID_EX, immediately after the CredSSP handshake (MS-RDPBCGR
 * 5.4.5.2), over TLS, to say whether the authenticated user may log on at all:
 *
 * ```
 * authorizationResult (4 bytes): 32-bit unsigned, little-endian
 *   AUTHZ_SUCCESS        0x00000000  the user has permission to access the server
 *   AUTHZ_ACCESS_DENIED  0x00000005  the user does not
 * ```
 * No header and no length: exactly 4 bytes. Strict: any other value is an InvalidField, so
 * bytes that are really the start of something else (a TPKT, 03 00 ..) are not taken for a
 * verdict.
 */

const PDU = 'EarlyUserAuthorizationResult';

export const AUTHZ_SUCCESS = 0x00000000;
export const AUTHZ_ACCESS_DENIED = 0x00000005;
/** The PDU's size: the authorizationResult field alone. */
export const EARLY_USER_AUTH_RESULT_SIZE = 4;

export interface EarlyUserAuthResult {
  /** AUTHZ_SUCCESS or AUTHZ_ACCESS_DENIED */
  authorizationResult: number;
}

/** Decode the 4-byte PDU (MS-RDPBCGR 2.2.10.2). */
export function decodeEarlyUserAuthResult(bytes: Uint8Array): EarlyUserAuthResult {
  const r = new ReadCursor(bytes);
  const authorizationResult = r.u32le(PDU, 'authorizationResult');
  if (authorizationResult !== AUTHZ_SUCCESS && authorizationResult !== AUTHZ_ACCESS_DENIED) {
    const hex = authorizationResult.toString(16).padStart(8, '0');
    throw new DecodeError('InvalidField', PDU, 'authorizationResult', 0, `0x${hex} is neither AUTHZ_SUCCESS (0) nor AUTHZ_ACCESS_DENIED (5)`);
  }
  r.expectEnd(PDU);
  return { authorizationResult };
}

export function encodeEarlyUserAuthResult(v: EarlyUserAuthResult): Buffer {
  if (v.authorizationResult !== AUTHZ_SUCCESS && v.authorizationResult !== AUTHZ_ACCESS_DENIED) {
    throw new EncodeError(PDU, 'authorizationResult', `${v.authorizationResult} is neither AUTHZ_SUCCESS nor AUTHZ_ACCESS_DENIED`);
  }
  const w = new WriteCursor(EARLY_USER_AUTH_RESULT_SIZE);
  w.u32le(v.authorizationResult); // authorizationResult
  return w.finish();
}

/** Frames the PDU in the TLS stream: 4 bytes once they are there (nothing says more). */
export const EARLY_USER_AUTH_RESULT_HINT: PduHint = {
  name: PDU,
  findSize(bytes) {
    return bytes.length < EARLY_USER_AUTH_RESULT_SIZE ? null : EARLY_USER_AUTH_RESULT_SIZE;
  },
};
