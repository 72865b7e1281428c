import { createHash } from 'node:crypto';
import { RdpCryptoError } from '../crypto/errors.js';
import {
  deriveLicensingKeys,
  licensingDecrypt,
  licensingMac,
  licensingRc4,
  PREMASTER_SECRET_LENGTH,
  type LicensingKeys,
} from '../crypto/licensing-keys.js';
import { WriteCursor } from '../pdu/cursor.js';
import {
  CLIENT_HARDWARE_ID_SIZE,
  decodeNewLicenseInfo,
  encodeClientHardwareId,
  encodePlatformChallengeResponseData,
  LICENSE_DETAIL_DETAIL,
  OTHER_PLATFORMCHALLENGE_TYPE,
  PLATFORM_CHALLENGE_RESPONSE_VERSION,
  type ClientHardwareId,
  type NewLicenseInfo,
} from '../pdu/licensing-data.js';
import {
  BB_ENCRYPTED_DATA_BLOB,
  CLIENT_IMAGE_ID_MICROSOFT,
  CLIENT_OS_ID_WINNT_POST_52,
  decodeLicensingPdu,
  encodeLicensingPdu,
  type ServerLicenseRequest,
  type ServerNewLicense,
  type ServerPlatformChallenge,
} from '../pdu/licensing.js';
import { newLicenseRequest } from './client-licensing.js';
import { ConnectorError } from './errors.js';

/**
 * The client side of the MS-RDPELE new-license exchange (1.3.3.1, 3.1.5), sans-IO: the
 * activation hands each decoded server licensing message to one of these methods and sends what
 * comes back (a whole licensing PDU: preamble and message; the security header is the caller's).
 *
 *   SERVER_LICENSE_REQUEST    -> onLicenseRequest    -> CLIENT_NEW_LICENSE_REQUEST
 *   SERVER_PLATFORM_CHALLENGE -> onPlatformChallenge -> CLIENT_PLATFORM_CHALLENGE_RESPONSE
 *   SERVER_NEW_LICENSE / SERVER_UPGRADE_LICENSE -> onNewLicense (nothing to send; the license
 *   is checked and summarised, not stored)
 *
 * A Windows host without a license server answers the new license request with a platform
 * challenge during its grace period, then ends licensing with STATUS_VALID_CLIENT (or issues
 * a temporary license). The licensing keys (MS-RDPELE 5.1.2) come from the client random and
 * the pre-master secret sent in the request, and the server random of the license request.
 *
 * Errors are typed: DecodeError for a malformed field, ConnectorError MAC_MISMATCH for a
 * MACData that does not verify, UNEXPECTED_PDU for a message out of order, LICENSING_ERROR for
 * a request the client cannot answer.
 */

/** CLIENT_OS_ID_WINNT_POST_52 | CLIENT_IMAGE_ID_MICROSOFT (MS-RDPELE 2.2.2.2), as client-licensing.ts and xfreerdp send. */
export const CLIENT_PLATFORM_ID = CLIENT_OS_ID_WINNT_POST_52 | CLIENT_IMAGE_ID_MICROSOFT;

/**
 * The largest platform challenge we answer: the response carries it with 8 bytes of
 * PLATFORM_CHALLENGE_RESPONSE_DATA header, a 20-byte CLIENT_HARDWARE_ID, two blob headers, the
 * MACData and the preamble, and wMsgSize is 16 bits (MS-RDPBCGR 2.2.1.12.1.1).
 */
export const MAX_PLATFORM_CHALLENGE_LENGTH = 0xffff - (4 + 4 + 8 + 4 + CLIENT_HARDWARE_ID_SIZE + 16);

/** The names a CLIENT_NEW_LICENSE_REQUEST carries (ANSI, MS-RDPELE 2.2.2.2). */
export interface LicensingNames {
  user: string;
  machine: string;
}

/** What a SERVER_NEW_LICENSE / SERVER_UPGRADE_LICENSE held, decrypted and checked. */
export interface ReceivedLicense {
  licenseInfo: NewLicenseInfo;
  /** one line for the transcript: scope, company, product, version, license size */
  summary: string;
}

type State =
  | { phase: 'WaitLicenseRequest' }
  | { phase: 'WaitPlatformChallenge'; keys: LicensingKeys; flags: number; hardwareId: ClientHardwareId }
  | { phase: 'WaitLicense'; keys: LicensingKeys }
  | { phase: 'Done'; keys: LicensingKeys };

/**
 * CLIENT_HARDWARE_ID (MS-RDPELE 2.2.2.3.1): the PlatformId, then MD5 of the client's machine
 * name as Data1..Data4 (FreeRDP's license_generate_hwid, IronRDP does the same): stable for one
 * machine name, nothing else about the host.
 */
export function clientHardwareId(machineName: string, platformId = CLIENT_PLATFORM_ID): ClientHardwareId {
  const d = createHash('md5').update(Buffer.from(machineName, 'utf8')).digest();
  return { platformId, data1: d.readUInt32LE(0), data2: d.readUInt32LE(4), data3: d.readUInt32LE(8), data4: d.readUInt32LE(12) };
}

export class ClientLicensing {
  private st: State = { phase: 'WaitLicenseRequest' };

  constructor(private readonly random: (n: number) => Uint8Array) {}

  /** where the exchange is */
  get phase(): State['phase'] {
    return this.st.phase;
  }

  /** The licensing keys once the request is sent (diagnostics and tests). */
  get keys(): LicensingKeys | undefined {
    return this.st.phase === 'WaitLicenseRequest' ? undefined : this.st.keys;
  }

  /**
   * SERVER_LICENSE_REQUEST (MS-RDPELE 3.1.5.1, 3.1.5.2): answer with a CLIENT_NEW_LICENSE_REQUEST
   * (client-licensing.ts builds it) and keep the client random, the pre-master secret and the
   * server random for the keys. `preambleFlags` are those of our licensing PDUs (the activation
   * echoes the server's). The pre-master secret is encrypted with the certificate in the request
   * or, when it carries none under TLS, with `tlsServerPublicKey` (PKCS#1 DER).
   */
  onLicenseRequest(req: ServerLicenseRequest, preambleFlags: number, names: LicensingNames, tlsServerPublicKey?: Uint8Array): Buffer {
    // newLicenseRequest draws the pre-master secret (48 bytes) and the client random (32
    // bytes) from `random`: keep the secret as it is drawn, read the random back from the PDU
    const drawn: Uint8Array[] = [];
    const body = newLicenseRequest(
      req,
      preambleFlags,
      (n) => {
        const b = this.random(n);
        if (n === PREMASTER_SECRET_LENGTH) drawn.push(b);
        return b;
      },
      names,
      tlsServerPublicKey,
    );
    const sent = decodeLicensingPdu(body).message;
    if (sent.kind !== 'newLicenseRequest' || drawn.length !== 1) throw new Error('client-licensing.ts no longer draws one 48-byte pre-master secret');
    const keys = deriveLicensingKeys({ clientRandom: sent.value.clientRandom, serverRandom: req.serverRandom, preMasterSecret: drawn[0]! });
    this.st = { phase: 'WaitPlatformChallenge', keys, flags: preambleFlags, hardwareId: clientHardwareId(names.machine, sent.value.platformId) };
    return body;
  }

  /**
   * SERVER_PLATFORM_CHALLENGE (MS-RDPELE 3.1.5.3, 3.1.5.4): decrypt the challenge and check its
   * MACData, then answer with a CLIENT_PLATFORM_CHALLENGE_RESPONSE: PLATFORM_CHALLENGE_RESPONSE_DATA
   * (version 0x0100, OTHER_PLATFORMCHALLENGE_TYPE, LICENSE_DETAIL_DETAIL, the challenge) and the
   * CLIENT_HARDWARE_ID, each RC4-encrypted with its own key schedule, and one MACData over the
   * two plaintexts concatenated, response data first (FreeRDP
   * license_send_platform_challenge_response; 2.2.2.5 "over the Platform Challenge Response
   * Data and decrypted Client Hardware Identification"). The wBlobType of the challenge is not
   * checked: Windows sends 0 (IronRDP's capture), Windows 2003 other values (FreeRDP).
   */
  onPlatformChallenge(challenge: ServerPlatformChallenge): Buffer {
    if (this.st.phase !== 'WaitPlatformChallenge') {
      throw new ConnectorError('UNEXPECTED_PDU', 'licensing', `a platform challenge in ${this.st.phase}: the client has sent no new license request to answer`);
    }
    const { keys, flags, hardwareId } = this.st;
    const pbChallenge = decryptChecked(keys, challenge.encryptedPlatformChallenge.blobData, challenge.macData, 'SERVER_PLATFORM_CHALLENGE.EncryptedPlatformChallenge');
    if (pbChallenge.length > MAX_PLATFORM_CHALLENGE_LENGTH) {
      throw new ConnectorError('LICENSING_ERROR', 'licensing', `a platform challenge of ${pbChallenge.length} bytes does not fit a response`);
    }
    const data = new WriteCursor();
    encodePlatformChallengeResponseData(
      { wVersion: PLATFORM_CHALLENGE_RESPONSE_VERSION, wClientType: OTHER_PLATFORMCHALLENGE_TYPE, wLicenseDetailLevel: LICENSE_DETAIL_DETAIL, pbChallenge },
      data,
    );
    const responseData = data.finish();
    const hw = new WriteCursor(CLIENT_HARDWARE_ID_SIZE);
    encodeClientHardwareId(hardwareId, hw);
    const hwid = hw.finish();
    const w = new WriteCursor();
    encodeLicensingPdu(
      {
        flags,
        message: {
          kind: 'platformChallengeResponse',
          value: {
            encryptedPlatformChallengeResponse: { wBlobType: BB_ENCRYPTED_DATA_BLOB, blobData: licensingRc4(keys.encryptionKey, responseData) },
            encryptedHWID: { wBlobType: BB_ENCRYPTED_DATA_BLOB, blobData: licensingRc4(keys.encryptionKey, hwid) },
            macData: licensingMac(keys.macSaltKey, Buffer.concat([responseData, hwid])),
          },
        },
      },
      w,
    );
    this.st = { phase: 'WaitLicense', keys };
    return w.finish();
  }

  /**
   * SERVER_NEW_LICENSE or SERVER_UPGRADE_LICENSE (MS-RDPELE 3.1.5.5, 3.1.5.6): decrypt
   * EncryptedLicenseInfo, check its MACData (over the plaintext) and decode NEW_LICENSE_INFO.
   * Licensing is then over; the license is not stored.
   */
  onNewLicense(msg: ServerNewLicense): ReceivedLicense {
    if (this.st.phase !== 'WaitLicense') {
      throw new ConnectorError('UNEXPECTED_PDU', 'licensing', `a new license in ${this.st.phase}: the client has answered no platform challenge`);
    }
    const { keys } = this.st;
    const plain = decryptChecked(keys, msg.encryptedLicenseInfo.blobData, msg.macData, 'SERVER_NEW_LICENSE.EncryptedLicenseInfo');
    const licenseInfo = decodeNewLicenseInfo(plain);
    this.st = { phase: 'Done', keys };
    return { licenseInfo, summary: licenseSummary(licenseInfo) };
  }
}

function decryptChecked(keys: LicensingKeys, ciphertext: Uint8Array, mac: Uint8Array, what: string): Buffer {
  try {
    return licensingDecrypt(keys, ciphertext, mac, what);
  } catch (err) {
    if (err instanceof RdpCryptoError && err.kind === 'MacMismatch') {
      throw new ConnectorError('MAC_MISMATCH', 'licensing', `the server's ${what} failed its MAC check (MS-RDPELE 5.1.5): ${err.detail}`);
    }
    throw err;
  }
}

/** NUL-terminated text of the given encoding, without the terminator, printable. */
function text(b: Uint8Array, encoding: 'latin1' | 'utf16le'): string {
  const s = Buffer.from(b).toString(encoding).replace(/\0+$/, '');
  return JSON.stringify(s);
}

/** "microsoft.com / Microsoft Corporation / A02, version 6.0, a 1945-byte license" */
export function licenseSummary(info: NewLicenseInfo): string {
  const version = `${info.dwVersion >>> 16}.${info.dwVersion & 0xffff}`;
  return `${text(info.pbScope, 'latin1')} / ${text(info.pbCompanyName, 'utf16le')} / ${text(info.pbProductId, 'utf16le')}, version ${version}, a ${info.pbLicenseInfo.length}-byte license`;
}
