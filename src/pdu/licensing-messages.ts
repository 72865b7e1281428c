import { ReadCursor, WriteCursor } from './cursor.js';
import { DecodeError, EncodeError } from './errors.js';

/**
 * The licensing messages of MS-RDPELE 2.2.2 (2.2.2.1 to 2.2.2.7) and the LICENSE_BINARY_BLOB
 * they are made of (MS-RDPBCGR 2.2.1.12.1.2): the bodies after the LICENSE_PREAMBLE, which
 * licensing.ts reads and dispatches on. Encrypted fields stay as the bytes on the wire; the
 * layouts of their decrypted contents are in licensing-data.ts. Integers are little-endian.
 */

const REQUEST = 'SERVER_LICENSE_REQUEST';
const PRODUCT = 'PRODUCT_INFO';
const SCOPE = 'SCOPE_LIST';
const NEW_REQUEST = 'CLIENT_NEW_LICENSE_REQUEST';
const INFO = 'CLIENT_LICENSE_INFO';
const CHALLENGE = 'SERVER_PLATFORM_CHALLENGE';
const RESPONSE = 'CLIENT_PLATFORM_CHALLENGE_RESPONSE';
const NEW_LICENSE = 'SERVER_NEW_LICENSE';
const BLOB = 'LICENSE_BINARY_BLOB';

/** wBlobType (MS-RDPBCGR 2.2.1.12.1.2); BB_ANY_BLOB is FreeRDP's name for "any type". */
export const BB_ANY_BLOB = 0x0000;
export const BB_DATA_BLOB = 0x0001;
export const BB_RANDOM_BLOB = 0x0002;
export const BB_CERTIFICATE_BLOB = 0x0003;
export const BB_ERROR_BLOB = 0x0004;
export const BB_ENCRYPTED_DATA_BLOB = 0x0009;
export const BB_KEY_EXCHG_ALG_BLOB = 0x000d;
export const BB_SCOPE_BLOB = 0x000e;
export const BB_CLIENT_USER_NAME_BLOB = 0x000f;
export const BB_CLIENT_MACHINE_NAME_BLOB = 0x0010;

/** PreferredKeyExchangeAlg (MS-RDPELE 2.2.2.2). */
export const KEY_EXCHANGE_ALG_RSA = 0x00000001;
/** PlatformId = OS id | image id (MS-RDPELE 2.2.2.2). */
export const CLIENT_OS_ID_WINNT_351 = 0x01000000;
export const CLIENT_OS_ID_WINNT_40 = 0x02000000;
export const CLIENT_OS_ID_WINNT_50 = 0x03000000;
export const CLIENT_OS_ID_WINNT_POST_52 = 0x04000000;
export const CLIENT_IMAGE_ID_MICROSOFT = 0x00010000;
export const CLIENT_IMAGE_ID_CITRIX = 0x00020000;

/** ServerRandom and ClientRandom sizes (MS-RDPELE 2.2.2.1, 2.2.2.2). */
export const LICENSE_RANDOM_LENGTH = 32;
/** MACData size (MS-RDPELE 2.2.2.4 and later). */
export const LICENSE_MAC_LENGTH = 16;

/** LICENSE_BINARY_BLOB (MS-RDPBCGR 2.2.1.12.1.2); wBlobLen is blobData.length. */
export interface LicenseBlob {
  wBlobType: number;
  blobData: Uint8Array;
}

/**
 * Read a blob. wBlobType is recorded, not checked: real servers put other values in empty
 * blobs (xrdp sends bbErrorInfo with type 0x1428 and length 0).
 */
export function readLicenseBlob(r: ReadCursor, pdu: string, field: string): LicenseBlob {
  const wBlobType = r.u16le(pdu, `${field}.wBlobType`);
  const wBlobLen = r.u16le(pdu, `${field}.wBlobLen`);
  return { wBlobType, blobData: r.bytes(wBlobLen, pdu, `${field}.blobData`) };
}

export function writeLicenseBlob(w: WriteCursor, b: LicenseBlob, pdu = BLOB, field = 'blobData'): void {
  if (b.blobData.length > 0xffff) throw new EncodeError(pdu, field, `${b.blobData.length} bytes do not fit wBlobLen`);
  w.u16le(b.wBlobType); // wBlobType
  w.u16le(b.blobData.length); // wBlobLen
  w.bytes(b.blobData);
}

/**
 * PRODUCT_INFO (MS-RDPELE 2.2.2.1.1): dwVersion, then cbCompanyName/pbCompanyName and
 * cbProductId/pbProductId, UTF-16LE strings whose u32 lengths include the null terminator.
 */
export interface ProductInfo {
  dwVersion: number;
  companyName: string;
  productId: string;
}

function readProductString(r: ReadCursor, field: string): string {
  const at = r.at;
  const cb = r.u32le(PRODUCT, `cb${field}`);
  if (cb < 2 || cb % 2 !== 0) throw new DecodeError('InvalidField', PRODUCT, `cb${field}`, at, `length ${cb} is not a terminated UTF-16 string`);
  const b = r.bytes(cb, PRODUCT, `pb${field}`);
  if (b[cb - 1] !== 0 || b[cb - 2] !== 0) throw new DecodeError('InvalidField', PRODUCT, `pb${field}`, at + 4, 'missing null terminator');
  return Buffer.from(b.subarray(0, cb - 2)).toString('utf16le');
}
function writeProductString(w: WriteCursor, s: string): void {
  const b = Buffer.from(s + '\0', 'utf16le');
  w.u32le(b.length).bytes(b);
}

/**
 * SERVER_LICENSE_REQUEST (MS-RDPELE 2.2.2.1). serverCertificate is the raw blob data: a
 * proprietary or X.509 chain SERVER_CERTIFICATE (server-certificate.ts), empty under
 * Enhanced RDP Security when the server sends none.
 */
export interface ServerLicenseRequest {
  serverRandom: Uint8Array;
  productInfo: ProductInfo;
  /** BB_KEY_EXCHG_ALG_BLOB holding u32le algorithms (KEY_EXCHANGE_ALG_RSA) */
  keyExchangeList: LicenseBlob;
  serverCertificate: LicenseBlob;
  /** SCOPE_LIST (2.2.2.1.2): BB_SCOPE_BLOB blobs, each an ANSI null-terminated scope name */
  scopeList: LicenseBlob[];
}

export function decodeServerLicenseRequest(r: ReadCursor): ServerLicenseRequest {
  const serverRandom = r.bytes(LICENSE_RANDOM_LENGTH, REQUEST, 'ServerRandom');
  const productInfo: ProductInfo = {
    dwVersion: r.u32le(PRODUCT, 'dwVersion'),
    companyName: readProductString(r, 'CompanyName'),
    productId: readProductString(r, 'ProductId'),
  };
  const keyExchangeList = readLicenseBlob(r, REQUEST, 'KeyExchangeList');
  const serverCertificate = readLicenseBlob(r, REQUEST, 'ServerCertificate');
  const at = r.at;
  const count = r.u32le(SCOPE, 'ScopeCount');
  // each scope is at least a 4-byte blob header: bound the count before looping
  if (count * 4 > r.remaining) throw new DecodeError('InvalidField', SCOPE, 'ScopeCount', at, `${count} scopes cannot fit the ${r.remaining} bytes left`);
  const scopeList: LicenseBlob[] = [];
  for (let i = 0; i < count; i++) scopeList.push(readLicenseBlob(r, SCOPE, `ScopeArray[${i}]`));
  return { serverRandom, productInfo, keyExchangeList, serverCertificate, scopeList };
}

export function encodeServerLicenseRequest(v: ServerLicenseRequest, w: WriteCursor): void {
  fixed(v.serverRandom, LICENSE_RANDOM_LENGTH, REQUEST, 'ServerRandom');
  w.bytes(v.serverRandom);
  w.u32le(v.productInfo.dwVersion);
  writeProductString(w, v.productInfo.companyName);
  writeProductString(w, v.productInfo.productId);
  writeLicenseBlob(w, v.keyExchangeList, REQUEST, 'KeyExchangeList');
  writeLicenseBlob(w, v.serverCertificate, REQUEST, 'ServerCertificate');
  w.u32le(v.scopeList.length); // ScopeCount
  for (const s of v.scopeList) writeLicenseBlob(w, s, SCOPE, 'ScopeArray');
}

function fixed(b: Uint8Array, n: number, pdu: string, field: string): void {
  if (b.length !== n) throw new EncodeError(pdu, field, `${b.length} bytes, must be ${n}`);
}

/**
 * CLIENT_NEW_LICENSE_REQUEST (MS-RDPELE 2.2.2.2). The pre-master secret blob holds the
 * 48-byte secret RSA-encrypted with the server's key (little-endian) plus 8 zero bytes; the
 * user and machine names are ANSI null-terminated strings.
 */
export interface ClientNewLicenseRequest {
  preferredKeyExchangeAlg: number;
  platformId: number;
  clientRandom: Uint8Array;
  encryptedPreMasterSecret: LicenseBlob;
  clientUserName: LicenseBlob;
  clientMachineName: LicenseBlob;
}

export function decodeClientNewLicenseRequest(r: ReadCursor): ClientNewLicenseRequest {
  return {
    preferredKeyExchangeAlg: r.u32le(NEW_REQUEST, 'PreferredKeyExchangeAlg'),
    platformId: r.u32le(NEW_REQUEST, 'PlatformId'),
    clientRandom: r.bytes(LICENSE_RANDOM_LENGTH, NEW_REQUEST, 'ClientRandom'),
    encryptedPreMasterSecret: readLicenseBlob(r, NEW_REQUEST, 'EncryptedPreMasterSecret'),
    clientUserName: readLicenseBlob(r, NEW_REQUEST, 'ClientUserName'),
    clientMachineName: readLicenseBlob(r, NEW_REQUEST, 'ClientMachineName'),
  };
}
export function encodeClientNewLicenseRequest(v: ClientNewLicenseRequest, w: WriteCursor): void {
  fixed(v.clientRandom, LICENSE_RANDOM_LENGTH, NEW_REQUEST, 'ClientRandom');
  w.u32le(v.preferredKeyExchangeAlg).u32le(v.platformId).bytes(v.clientRandom);
  writeLicenseBlob(w, v.encryptedPreMasterSecret, NEW_REQUEST, 'EncryptedPreMasterSecret');
  writeLicenseBlob(w, v.clientUserName, NEW_REQUEST, 'ClientUserName');
  writeLicenseBlob(w, v.clientMachineName, NEW_REQUEST, 'ClientMachineName');
}

/** CLIENT_LICENSE_INFO (MS-RDPELE 2.2.2.3): a client presenting a stored license. */
export interface ClientLicenseInfo {
  preferredKeyExchangeAlg: number;
  platformId: number;
  clientRandom: Uint8Array;
  encryptedPreMasterSecret: LicenseBlob;
  /** BB_DATA_BLOB: the stored license (an X.509 certificate chain) */
  licenseInfo: LicenseBlob;
  /** BB_ENCRYPTED_DATA_BLOB: CLIENT_HARDWARE_ID under RC4 (licensing-data.ts) */
  encryptedHWID: LicenseBlob;
  macData: Uint8Array;
}

export function decodeClientLicenseInfo(r: ReadCursor): ClientLicenseInfo {
  return {
    preferredKeyExchangeAlg: r.u32le(INFO, 'PreferredKeyExchangeAlg'),
    platformId: r.u32le(INFO, 'PlatformId'),
    clientRandom: r.bytes(LICENSE_RANDOM_LENGTH, INFO, 'ClientRandom'),
    encryptedPreMasterSecret: readLicenseBlob(r, INFO, 'EncryptedPreMasterSecret'),
    licenseInfo: readLicenseBlob(r, INFO, 'LicenseInfo'),
    encryptedHWID: readLicenseBlob(r, INFO, 'EncryptedHWID'),
    macData: r.bytes(LICENSE_MAC_LENGTH, INFO, 'MACData'),
  };
}
export function encodeClientLicenseInfo(v: ClientLicenseInfo, w: WriteCursor): void {
  fixed(v.clientRandom, LICENSE_RANDOM_LENGTH, INFO, 'ClientRandom');
  fixed(v.macData, LICENSE_MAC_LENGTH, INFO, 'MACData');
  w.u32le(v.preferredKeyExchangeAlg).u32le(v.platformId).bytes(v.clientRandom);
  writeLicenseBlob(w, v.encryptedPreMasterSecret, INFO, 'EncryptedPreMasterSecret');
  writeLicenseBlob(w, v.licenseInfo, INFO, 'LicenseInfo');
  writeLicenseBlob(w, v.encryptedHWID, INFO, 'EncryptedHWID');
  w.bytes(v.macData);
}

/** SERVER_PLATFORM_CHALLENGE (MS-RDPELE 2.2.2.4). */
export interface ServerPlatformChallenge {
  connectFlags: number;
  /** the RC4-encrypted challenge (wBlobType is ignored by clients) */
  encryptedPlatformChallenge: LicenseBlob;
  macData: Uint8Array;
}

/** CLIENT_PLATFORM_CHALLENGE_RESPONSE (MS-RDPELE 2.2.2.5). */
export interface ClientPlatformChallengeResponse {
  /** BB_ENCRYPTED_DATA_BLOB: PLATFORM_CHALLENGE_RESPONSE_DATA under RC4 (licensing-data.ts) */
  encryptedPlatformChallengeResponse: LicenseBlob;
  /** BB_ENCRYPTED_DATA_BLOB: CLIENT_HARDWARE_ID under RC4 */
  encryptedHWID: LicenseBlob;
  macData: Uint8Array;
}

/** SERVER_NEW_LICENSE and SERVER_UPGRADE_LICENSE (MS-RDPELE 2.2.2.7, 2.2.2.6): same layout. */
export interface ServerNewLicense {
  /** BB_ENCRYPTED_DATA_BLOB: NEW_LICENSE_INFO under RC4 (licensing-data.ts) */
  encryptedLicenseInfo: LicenseBlob;
  macData: Uint8Array;
}

/** The SERVER_PLATFORM_CHALLENGE body. */
export function decodeServerPlatformChallenge(r: ReadCursor): ServerPlatformChallenge {
  return {
    connectFlags: r.u32le(CHALLENGE, 'ConnectFlags'),
    encryptedPlatformChallenge: readLicenseBlob(r, CHALLENGE, 'EncryptedPlatformChallenge'),
    macData: r.bytes(LICENSE_MAC_LENGTH, CHALLENGE, 'MACData'),
  };
}
export function encodeServerPlatformChallenge(v: ServerPlatformChallenge, w: WriteCursor): void {
  fixed(v.macData, LICENSE_MAC_LENGTH, CHALLENGE, 'MACData');
  w.u32le(v.connectFlags);
  writeLicenseBlob(w, v.encryptedPlatformChallenge, CHALLENGE, 'EncryptedPlatformChallenge');
  w.bytes(v.macData);
}

/** The CLIENT_PLATFORM_CHALLENGE_RESPONSE body. */
export function decodeClientPlatformChallengeResponse(r: ReadCursor): ClientPlatformChallengeResponse {
  return {
    encryptedPlatformChallengeResponse: readLicenseBlob(r, RESPONSE, 'EncryptedPlatformChallengeResponse'),
    encryptedHWID: readLicenseBlob(r, RESPONSE, 'EncryptedHWID'),
    macData: r.bytes(LICENSE_MAC_LENGTH, RESPONSE, 'MACData'),
  };
}
export function encodeClientPlatformChallengeResponse(v: ClientPlatformChallengeResponse, w: WriteCursor): void {
  fixed(v.macData, LICENSE_MAC_LENGTH, RESPONSE, 'MACData');
  writeLicenseBlob(w, v.encryptedPlatformChallengeResponse, RESPONSE, 'EncryptedPlatformChallengeResponse');
  writeLicenseBlob(w, v.encryptedHWID, RESPONSE, 'EncryptedHWID');
  w.bytes(v.macData);
}

/** The SERVER_NEW_LICENSE / SERVER_UPGRADE_LICENSE body. */
export function decodeServerNewLicense(r: ReadCursor): ServerNewLicense {
  return { encryptedLicenseInfo: readLicenseBlob(r, NEW_LICENSE, 'EncryptedLicenseInfo'), macData: r.bytes(LICENSE_MAC_LENGTH, NEW_LICENSE, 'MACData') };
}
export function encodeServerNewLicense(v: ServerNewLicense, w: WriteCursor): void {
  fixed(v.macData, LICENSE_MAC_LENGTH, NEW_LICENSE, 'MACData');
  writeLicenseBlob(w, v.encryptedLicenseInfo, NEW_LICENSE, 'EncryptedLicenseInfo');
  w.bytes(v.macData);
}
