import { ReadCursor, WriteCursor } from './cursor.js';
import { DecodeError } from './errors.js';
import {
  BB_ERROR_BLOB,
  decodeClientLicenseInfo,
  decodeClientNewLicenseRequest,
  decodeClientPlatformChallengeResponse,
  decodeServerLicenseRequest,
  decodeServerNewLicense,
  decodeServerPlatformChallenge,
  encodeClientLicenseInfo,
  encodeClientNewLicenseRequest,
  encodeClientPlatformChallengeResponse,
  encodeServerLicenseRequest,
  encodeServerNewLicense,
  encodeServerPlatformChallenge,
  readLicenseBlob,
  writeLicenseBlob,
  type ClientLicenseInfo,
  type ClientNewLicenseRequest,
  type ClientPlatformChallengeResponse,
  type LicenseBlob,
  type ServerLicenseRequest,
  type ServerNewLicense,
  type ServerPlatformChallenge,
} from './licensing-messages.js';

export * from './licensing-messages.js';

/**
 * Licensing PDUs (MS-RDPBCGR 2.2.1.12; MS-RDPELE 2.2.2): the preamble (2.2.1.12.1.1), the
 * error message (2.2.1.12.1.3) and the dispatch to the messages of MS-RDPELE 2.2.2.1 to
 * 2.2.2.7 (licensing-messages.ts, re-exported here with the binary blob codec).
 *
 * Pure byte layouts: the licensing crypto (MS-RDPELE 5.1: master secret, session key blob,
 * RC4 of the encrypted fields, MACData) is not here; encrypted fields are kept as the bytes
 * on the wire, and the layouts of their decrypted contents are in licensing-data.ts. The
 * security header in front (SEC_LICENSE_PKT) belongs to the caller. Integers little-endian.
 */

const PREAMBLE = 'LICENSE_PREAMBLE';
const ERROR = 'LICENSE_ERROR_MESSAGE';

/** bMsgType (MS-RDPBCGR 2.2.1.12.1.1). */
export const LICENSE_REQUEST = 0x01;
export const PLATFORM_CHALLENGE = 0x02;
export const NEW_LICENSE = 0x03;
export const UPGRADE_LICENSE = 0x04;
export const LICENSE_INFO = 0x12;
export const NEW_LICENSE_REQUEST = 0x13;
export const PLATFORM_CHALLENGE_RESPONSE = 0x15;
export const ERROR_ALERT = 0xff;
export const LICENSE_MSG_TYPE_NAMES: Readonly<Record<number, string>> = Object.freeze({
  [LICENSE_REQUEST]: 'LICENSE_REQUEST',
  [PLATFORM_CHALLENGE]: 'PLATFORM_CHALLENGE',
  [NEW_LICENSE]: 'NEW_LICENSE',
  [UPGRADE_LICENSE]: 'UPGRADE_LICENSE',
  [LICENSE_INFO]: 'LICENSE_INFO',
  [NEW_LICENSE_REQUEST]: 'NEW_LICENSE_REQUEST',
  [PLATFORM_CHALLENGE_RESPONSE]: 'PLATFORM_CHALLENGE_RESPONSE',
  [ERROR_ALERT]: 'ERROR_ALERT',
});

/** Preamble flags: the version in the low nibble, and the extended-error bit. */
export const PREAMBLE_VERSION_2_0 = 0x02;
export const PREAMBLE_VERSION_3_0 = 0x03;
export const LICENSE_PROTOCOL_VERSION_MASK = 0x0f;
export const EXTENDED_ERROR_MSG_SUPPORTED = 0x80;

/** dwErrorCode (MS-RDPBCGR 2.2.1.12.1.3). */
export const ERR_INVALID_SERVER_CERTIFICATE = 0x00000001;
export const ERR_NO_LICENSE = 0x00000002;
export const ERR_INVALID_MAC = 0x00000003;
export const ERR_INVALID_SCOPE = 0x00000004;
export const ERR_NO_LICENSE_SERVER = 0x00000006;
export const STATUS_VALID_CLIENT = 0x00000007;
export const ERR_INVALID_CLIENT = 0x00000008;
export const ERR_INVALID_PRODUCTID = 0x0000000b;
export const ERR_INVALID_MESSAGE_LEN = 0x0000000c;
export const LICENSE_ERROR_CODE_NAMES: Readonly<Record<number, string>> = Object.freeze({
  [ERR_INVALID_SERVER_CERTIFICATE]: 'ERR_INVALID_SERVER_CERTIFICATE',
  [ERR_NO_LICENSE]: 'ERR_NO_LICENSE',
  [ERR_INVALID_MAC]: 'ERR_INVALID_MAC',
  [ERR_INVALID_SCOPE]: 'ERR_INVALID_SCOPE',
  [ERR_NO_LICENSE_SERVER]: 'ERR_NO_LICENSE_SERVER',
  [STATUS_VALID_CLIENT]: 'STATUS_VALID_CLIENT',
  [ERR_INVALID_CLIENT]: 'ERR_INVALID_CLIENT',
  [ERR_INVALID_PRODUCTID]: 'ERR_INVALID_PRODUCTID',
  [ERR_INVALID_MESSAGE_LEN]: 'ERR_INVALID_MESSAGE_LEN',
});

/** dwStateTransition (MS-RDPBCGR 2.2.1.12.1.3). */
export const ST_TOTAL_ABORT = 0x00000001;
export const ST_NO_TRANSITION = 0x00000002;
export const ST_RESET_PHASE_TO_START = 0x00000003;
export const ST_RESEND_LAST_MESSAGE = 0x00000004;
export const LICENSE_STATE_TRANSITION_NAMES: Readonly<Record<number, string>> = Object.freeze({
  [ST_TOTAL_ABORT]: 'ST_TOTAL_ABORT',
  [ST_NO_TRANSITION]: 'ST_NO_TRANSITION',
  [ST_RESET_PHASE_TO_START]: 'ST_RESET_PHASE_TO_START',
  [ST_RESEND_LAST_MESSAGE]: 'ST_RESEND_LAST_MESSAGE',
});

export function licenseErrorCodeName(code: number): string {
  return LICENSE_ERROR_CODE_NAMES[code] ?? `unknown (0x${code.toString(16)})`;
}
export function licenseStateTransitionName(st: number): string {
  return LICENSE_STATE_TRANSITION_NAMES[st] ?? `unknown (0x${st.toString(16)})`;
}

/** LICENSE_PREAMBLE (MS-RDPBCGR 2.2.1.12.1.1); wMsgSize counts the preamble. */
export interface LicensePreamble {
  bMsgType: number;
  flags: number;
  wMsgSize: number;
}
export const LICENSE_PREAMBLE_SIZE = 4;

/** Read the preamble (the caller checks wMsgSize against what it framed). */
export function decodeLicensePreamble(r: ReadCursor): LicensePreamble {
  return { bMsgType: r.u8(PREAMBLE, 'bMsgType'), flags: r.u8(PREAMBLE, 'flags'), wMsgSize: r.u16le(PREAMBLE, 'wMsgSize') };
}

/** LICENSE_ERROR_MESSAGE (MS-RDPBCGR 2.2.1.12.1.3). */
export interface LicenseErrorMessage {
  dwErrorCode: number;
  dwStateTransition: number;
  bbErrorInfo: LicenseBlob;
}

function decodeErrorMessage(r: ReadCursor): LicenseErrorMessage {
  return {
    dwErrorCode: r.u32le(ERROR, 'dwErrorCode'),
    dwStateTransition: r.u32le(ERROR, 'dwStateTransition'),
    bbErrorInfo: readLicenseBlob(r, ERROR, 'bbErrorInfo'),
  };
}
function encodeErrorMessage(v: LicenseErrorMessage, w: WriteCursor): void {
  w.u32le(v.dwErrorCode).u32le(v.dwStateTransition);
  writeLicenseBlob(w, v.bbErrorInfo, ERROR, 'bbErrorInfo');
}

/** One licensing message after its preamble, by bMsgType. */
export type LicensingMessage =
  | { kind: 'licenseRequest'; value: ServerLicenseRequest }
  | { kind: 'platformChallenge'; value: ServerPlatformChallenge }
  | { kind: 'newLicense'; value: ServerNewLicense }
  | { kind: 'upgradeLicense'; value: ServerNewLicense }
  | { kind: 'licenseInfo'; value: ClientLicenseInfo }
  | { kind: 'newLicenseRequest'; value: ClientNewLicenseRequest }
  | { kind: 'platformChallengeResponse'; value: ClientPlatformChallengeResponse }
  | { kind: 'errorAlert'; value: LicenseErrorMessage };

/** A licensing PDU: the preamble's flags (version, extended errors) and the message. */
export interface LicensingPdu {
  /** PREAMBLE_VERSION_* | EXTENDED_ERROR_MSG_SUPPORTED */
  flags: number;
  message: LicensingMessage;
}

const MSG_TYPES: Record<LicensingMessage['kind'], number> = {
  licenseRequest: LICENSE_REQUEST,
  platformChallenge: PLATFORM_CHALLENGE,
  newLicense: NEW_LICENSE,
  upgradeLicense: UPGRADE_LICENSE,
  licenseInfo: LICENSE_INFO,
  newLicenseRequest: NEW_LICENSE_REQUEST,
  platformChallengeResponse: PLATFORM_CHALLENGE_RESPONSE,
  errorAlert: ERROR_ALERT,
};

function decodeMessage(bMsgType: number, r: ReadCursor, at: number): LicensingMessage {
  switch (bMsgType) {
    case LICENSE_REQUEST:
      return { kind: 'licenseRequest', value: decodeServerLicenseRequest(r) };
    case PLATFORM_CHALLENGE:
      return { kind: 'platformChallenge', value: decodeServerPlatformChallenge(r) };
    case NEW_LICENSE:
      return { kind: 'newLicense', value: decodeServerNewLicense(r) };
    case UPGRADE_LICENSE:
      return { kind: 'upgradeLicense', value: decodeServerNewLicense(r) };
    case LICENSE_INFO:
      return { kind: 'licenseInfo', value: decodeClientLicenseInfo(r) };
    case NEW_LICENSE_REQUEST:
      return { kind: 'newLicenseRequest', value: decodeClientNewLicenseRequest(r) };
    case PLATFORM_CHALLENGE_RESPONSE:
      return { kind: 'platformChallengeResponse', value: decodeClientPlatformChallengeResponse(r) };
    case ERROR_ALERT:
      return { kind: 'errorAlert', value: decodeErrorMessage(r) };
    default:
      throw new DecodeError('UnsupportedValue', PREAMBLE, 'bMsgType', at, `unknown licensing message type 0x${bMsgType.toString(16)}`);
  }
}

/**
 * Decode a licensing PDU (preamble and message; the security header already removed).
 * Strict: wMsgSize must equal the input length and the message must fill it.
 */
export function decodeLicensingPdu(bytes: Uint8Array): LicensingPdu {
  const r = new ReadCursor(bytes);
  const { bMsgType, flags, wMsgSize } = decodeLicensePreamble(r);
  if (wMsgSize !== bytes.length) {
    throw new DecodeError(wMsgSize > bytes.length ? 'NotEnoughBytes' : 'InvalidField', PREAMBLE, 'wMsgSize', 2, `wMsgSize ${wMsgSize} does not match the ${bytes.length} bytes`);
  }
  const message = decodeMessage(bMsgType, r, 0);
  r.expectEnd(LICENSE_MSG_TYPE_NAMES[bMsgType] ?? PREAMBLE);
  return { flags, message };
}

export function encodeLicensingPdu(v: LicensingPdu, w: WriteCursor): void {
  const start = w.offset;
  w.u8(MSG_TYPES[v.message.kind]); // bMsgType
  w.u8(v.flags); // flags
  const sizeAt = w.reserve(2); // wMsgSize, patched below
  const m = v.message;
  switch (m.kind) {
    case 'licenseRequest':
      encodeServerLicenseRequest(m.value, w);
      break;
    case 'platformChallenge':
      encodeServerPlatformChallenge(m.value, w);
      break;
    case 'newLicense':
    case 'upgradeLicense':
      encodeServerNewLicense(m.value, w);
      break;
    case 'licenseInfo':
      encodeClientLicenseInfo(m.value, w);
      break;
    case 'newLicenseRequest':
      encodeClientNewLicenseRequest(m.value, w);
      break;
    case 'platformChallengeResponse':
      encodeClientPlatformChallengeResponse(m.value, w);
      break;
    case 'errorAlert':
      encodeErrorMessage(m.value, w);
      break;
  }
  w.patchU16le(sizeAt, w.offset - start, PREAMBLE, 'wMsgSize');
}

/**
 * The licensing message that ends licensing when no license is exchanged (MS-RDPBCGR
 * 2.2.1.12.1.3, the "valid client" status): ERROR_ALERT, STATUS_VALID_CLIENT, ST_NO_TRANSITION, an empty
 * BB_ERROR_BLOB. Servers send it with PREAMBLE_VERSION_3_0 (FreeRDP) or 2_0 (xrdp).
 */
export function validClientLicensingPdu(flags = PREAMBLE_VERSION_3_0): LicensingPdu {
  return {
    flags,
    message: {
      kind: 'errorAlert',
      value: { dwErrorCode: STATUS_VALID_CLIENT, dwStateTransition: ST_NO_TRANSITION, bbErrorInfo: { wBlobType: BB_ERROR_BLOB, blobData: new Uint8Array(0) } },
    },
  };
}
