import { ReadCursor, WriteCursor } from './cursor.js';
import { DecodeError, EncodeError } from './errors.js';

/**
 * Layouts of the licensing fields that travel RC4-encrypted with the licensing encryption key
 * (MS-RDPELE 5.1.3): what the licensing crypto decrypts or is to encrypt. Pure codecs; the
 * keys and the RC4 are elsewhere. Integers are little-endian.
 *
 * - CLIENT_HARDWARE_ID (MS-RDPELE 2.2.2.3.1): EncryptedHWID of CLIENT_LICENSE_INFO and
 *   CLIENT_PLATFORM_CHALLENGE_RESPONSE;
 * - PLATFORM_CHALLENGE_RESPONSE_DATA (2.2.2.5.1): EncryptedPlatformChallengeResponse;
 * - NEW_LICENSE_INFO (2.2.2.6.1): EncryptedLicenseInfo of SERVER_NEW_LICENSE /
 *   SERVER_UPGRADE_LICENSE.
 */

const HWID = 'CLIENT_HARDWARE_ID';
const RESPONSE_DATA = 'PLATFORM_CHALLENGE_RESPONSE_DATA';
const LICENSE_INFO = 'NEW_LICENSE_INFO';

function cursorOf(input: ReadCursor | Uint8Array): { r: ReadCursor; whole: boolean } {
  return input instanceof ReadCursor ? { r: input, whole: false } : { r: new ReadCursor(input), whole: true };
}

/** CLIENT_HARDWARE_ID (MS-RDPELE 2.2.2.3.1): PlatformId then 16 bytes of unique data. */
export interface ClientHardwareId {
  platformId: number;
  data1: number;
  data2: number;
  data3: number;
  data4: number;
}
export const CLIENT_HARDWARE_ID_SIZE = 20;

export function decodeClientHardwareId(input: ReadCursor | Uint8Array): ClientHardwareId {
  const { r, whole } = cursorOf(input);
  r.ensure(CLIENT_HARDWARE_ID_SIZE, HWID, 'PlatformId');
  const v: ClientHardwareId = {
    platformId: r.u32le(HWID, 'PlatformId'),
    data1: r.u32le(HWID, 'Data1'),
    data2: r.u32le(HWID, 'Data2'),
    data3: r.u32le(HWID, 'Data3'),
    data4: r.u32le(HWID, 'Data4'),
  };
  if (whole) r.expectEnd(HWID);
  return v;
}

export function encodeClientHardwareId(v: ClientHardwareId, w: WriteCursor): void {
  w.u32le(v.platformId).u32le(v.data1).u32le(v.data2).u32le(v.data3).u32le(v.data4);
}

/** wVersion of PLATFORM_CHALLENGE_RESPONSE_DATA. */
export const PLATFORM_CHALLENGE_RESPONSE_VERSION = 0x0100;
/** wClientType (MS-RDPELE 2.2.2.5.1). */
export const WIN32_PLATFORMCHALLENGE_TYPE = 0x0100;
export const WIN16_PLATFORMCHALLENGE_TYPE = 0x0200;
export const WINCE_PLATFORMCHALLENGE_TYPE = 0x0300;
export const OTHER_PLATFORMCHALLENGE_TYPE = 0xff00;
/** wLicenseDetailLevel (MS-RDPELE 2.2.2.5.1). */
export const LICENSE_DETAIL_SIMPLE = 0x0001;
export const LICENSE_DETAIL_MODERATE = 0x0002;
export const LICENSE_DETAIL_DETAIL = 0x0003;

/** PLATFORM_CHALLENGE_RESPONSE_DATA (MS-RDPELE 2.2.2.5.1). */
export interface PlatformChallengeResponseData {
  wVersion: number;
  wClientType: number;
  wLicenseDetailLevel: number;
  /** the decrypted platform challenge, echoed (cbChallenge bytes) */
  pbChallenge: Uint8Array;
}

export function decodePlatformChallengeResponseData(input: ReadCursor | Uint8Array): PlatformChallengeResponseData {
  const { r, whole } = cursorOf(input);
  const wVersion = r.u16le(RESPONSE_DATA, 'wVersion');
  const wClientType = r.u16le(RESPONSE_DATA, 'wClientType');
  const wLicenseDetailLevel = r.u16le(RESPONSE_DATA, 'wLicenseDetailLevel');
  const cbChallenge = r.u16le(RESPONSE_DATA, 'cbChallenge');
  const v = { wVersion, wClientType, wLicenseDetailLevel, pbChallenge: r.bytes(cbChallenge, RESPONSE_DATA, 'pbChallenge') };
  if (whole) r.expectEnd(RESPONSE_DATA);
  return v;
}

export function encodePlatformChallengeResponseData(v: PlatformChallengeResponseData, w: WriteCursor): void {
  if (v.pbChallenge.length > 0xffff) throw new EncodeError(RESPONSE_DATA, 'pbChallenge', `${v.pbChallenge.length} bytes do not fit cbChallenge`);
  w.u16le(v.wVersion).u16le(v.wClientType).u16le(v.wLicenseDetailLevel);
  w.u16le(v.pbChallenge.length); // cbChallenge
  w.bytes(v.pbChallenge);
}

/**
 * NEW_LICENSE_INFO (MS-RDPELE 2.2.2.6.1): four u32-length-prefixed byte strings after
 * dwVersion. Scope, company name and product id are null-terminated strings (ANSI for the
 * scope, UTF-16LE for the others); pbLicenseInfo is the license (an X.509 certificate chain).
 * They are kept as bytes: the client stores them as they came.
 */
export interface NewLicenseInfo {
  dwVersion: number;
  pbScope: Uint8Array;
  pbCompanyName: Uint8Array;
  pbProductId: Uint8Array;
  pbLicenseInfo: Uint8Array;
}

const LICENSE_INFO_FIELDS = ['Scope', 'CompanyName', 'ProductId', 'LicenseInfo'] as const;

export function decodeNewLicenseInfo(input: ReadCursor | Uint8Array): NewLicenseInfo {
  const { r, whole } = cursorOf(input);
  const dwVersion = r.u32le(LICENSE_INFO, 'dwVersion');
  const parts: Uint8Array[] = [];
  for (const name of LICENSE_INFO_FIELDS) {
    const at = r.at;
    const cb = r.u32le(LICENSE_INFO, `cb${name}`);
    if (cb > r.remaining) throw new DecodeError('InvalidField', LICENSE_INFO, `cb${name}`, at, `length ${cb} exceeds the ${r.remaining} bytes left`);
    parts.push(r.bytes(cb, LICENSE_INFO, `pb${name}`));
  }
  if (whole) r.expectEnd(LICENSE_INFO);
  return { dwVersion, pbScope: parts[0]!, pbCompanyName: parts[1]!, pbProductId: parts[2]!, pbLicenseInfo: parts[3]! };
}

export function encodeNewLicenseInfo(v: NewLicenseInfo, w: WriteCursor): void {
  w.u32le(v.dwVersion);
  for (const b of [v.pbScope, v.pbCompanyName, v.pbProductId, v.pbLicenseInfo]) w.u32le(b.length).bytes(b);
}
