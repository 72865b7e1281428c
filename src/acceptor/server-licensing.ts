import { RdpCryptoError } from '../crypto/errors.js';
import {
  deriveLicensingKeys,
  licensingDecrypt,
  licensingEncrypt,
  licensingMacMatches,
  licensingRc4,
  LICENSING_RANDOM_LENGTH,
  PREMASTER_SECRET_LENGTH,
  type LicensingKeys,
} from '../crypto/licensing-keys.js';
import { generateRsaKeyPairLE, rsaDecryptLE, type RsaKeyPairLE } from '../crypto/rsa.js';
import { WriteCursor } from '../pdu/cursor.js';
import { DecodeError } from '../pdu/errors.js';
import {
  decodeClientHardwareId,
  decodePlatformChallengeResponseData,
  encodeNewLicenseInfo,
  PLATFORM_CHALLENGE_RESPONSE_VERSION,
  type ClientHardwareId,
  type NewLicenseInfo,
  type PlatformChallengeResponseData,
} from '../pdu/licensing-data.js';
import {
  BB_ANY_BLOB,
  BB_CERTIFICATE_BLOB,
  BB_ENCRYPTED_DATA_BLOB,
  BB_ERROR_BLOB,
  BB_KEY_EXCHG_ALG_BLOB,
  BB_SCOPE_BLOB,
  decodeLicensingPdu,
  encodeLicensingPdu,
  KEY_EXCHANGE_ALG_RSA,
  PREAMBLE_VERSION_3_0,
  type LicenseBlob,
  type LicensingMessage,
  type ProductInfo,
} from '../pdu/licensing.js';
import { ServerIdentity } from './server-identity.js';

/**
 * The server side of the MS-RDPELE new-license exchange (1.3.3.1, 3.2.5), as a Windows host
 * without a license server does it in its grace period: SERVER_LICENSE_REQUEST, then a
 * SERVER_PLATFORM_CHALLENGE in answer to the client's CLIENT_NEW_LICENSE_REQUEST (or
 * CLIENT_LICENSE_INFO), then the client's CLIENT_PLATFORM_CHALLENGE_RESPONSE is checked; the
 * caller ends licensing with STATUS_VALID_CLIENT (validClientLicensingPdu) or a license
 * (newLicense). Sans-IO: each method takes and returns whole licensing PDU bodies (preamble and
 * message); the security header is the caller's.
 *
 * Errors are typed: DecodeError for a malformed or unexpected client message, RdpCryptoError
 * for a pre-master secret that does not decrypt and a CLIENT_LICENSE_INFO whose MAC does not
 * verify (the acceptor ends the connection on both). A challenge response that fails its checks
 * is an answer, not an exception: { ok: false, reason }.
 */

/** The licensing certificate: a 512-bit RSA key pair (MS-RDPELE 2.2.2.2) and its proprietary certificate. */
export interface LicensingIdentity {
  key: RsaKeyPairLE;
  /** a SERVER_CERTIFICATE (MS-RDPBCGR 2.2.1.4.3.1) carrying the public key */
  certificate: Uint8Array;
}

let defaultIdentity: ServerIdentity | undefined;

/**
 * A licensing identity for this process: a fresh 512-bit key pair in a proprietary
 * certificate signed like ServerIdentity's (with the Terminal Services signing key), made once.
 */
export function licensingIdentity(): LicensingIdentity {
  defaultIdentity ??= new ServerIdentity(generateRsaKeyPairLE(512));
  return defaultIdentity;
}

/** PRODUCT_INFO of Windows Server 2008 and later (IronRDP's capture; xrdp sends 0x00040000, "236"). */
export const WINDOWS_PRODUCT_INFO: Readonly<ProductInfo> = Object.freeze({ dwVersion: 0x00060000, companyName: 'Microsoft Corporation', productId: 'A02' });
/** The scope Windows names in its license request and licenses. */
export const WINDOWS_SCOPE = 'microsoft.com';
/** Length of the random platform challenge we send (Windows sends the 10 bytes of UTF-16 "TEST\0"). */
export const PLATFORM_CHALLENGE_LENGTH = 16;
/**
 * wBlobType of EncryptedPlatformChallenge: 0 (BB_ANY_BLOB), as Windows sends it (IronRDP's
 * server_platform_challenge capture); clients do not check it (FreeRDP reads it as "any").
 */
const CHALLENGE_BLOB_TYPE = BB_ANY_BLOB;

/** What the server learnt from a good challenge response. */
export interface ChallengeResponseResult {
  ok: boolean;
  /** why not, or what was checked */
  reason: string;
  response?: PlatformChallengeResponseData;
  hardwareId?: ClientHardwareId;
}

type State =
  | { phase: 'Start' }
  | { phase: 'WaitClientRequest'; serverRandom: Uint8Array }
  | { phase: 'WaitChallengeResponse'; keys: LicensingKeys; challenge: Buffer; request: 'newLicenseRequest' | 'licenseInfo' }
  | { phase: 'Done'; keys: LicensingKeys; request: 'newLicenseRequest' | 'licenseInfo' };

const u32le = (n: number): Buffer => {
  const b = Buffer.alloc(4);
  b.writeUInt32LE(n >>> 0, 0);
  return b;
};

function unexpected(expected: string, m: LicensingMessage, at = 0): DecodeError {
  return new DecodeError('UnexpectedType', 'LICENSE_PREAMBLE', 'bMsgType', at, `expected ${expected}, got ${m.kind}`);
}

export class ServerLicensing {
  private st: State = { phase: 'Start' };
  /** preamble flags of what we send: version 3, no EXTENDED_ERROR_MSG_SUPPORTED (FreeRDP: mstsc crashes on it from a server) */
  readonly flags = PREAMBLE_VERSION_3_0;

  constructor(
    private readonly identity: LicensingIdentity,
    private readonly random: (n: number) => Uint8Array,
  ) {}

  get phase(): State['phase'] {
    return this.st.phase;
  }

  /** The licensing keys once the client's request is read (diagnostics and tests). */
  get keys(): LicensingKeys | undefined {
    return this.st.phase === 'WaitChallengeResponse' || this.st.phase === 'Done' ? this.st.keys : undefined;
  }

  /**
   * SERVER_LICENSE_REQUEST (MS-RDPELE 2.2.2.1, 3.2.5.1): a fresh server random, Windows' product
   * info, KEY_EXCHANGE_ALG_RSA, our licensing certificate, the scope "microsoft.com".
   */
  licenseRequest(): Buffer {
    const serverRandom = Buffer.from(this.random(LICENSING_RANDOM_LENGTH));
    const w = new WriteCursor();
    encodeLicensingPdu(
      {
        flags: this.flags,
        message: {
          kind: 'licenseRequest',
          value: {
            serverRandom,
            productInfo: { ...WINDOWS_PRODUCT_INFO },
            keyExchangeList: { wBlobType: BB_KEY_EXCHG_ALG_BLOB, blobData: u32le(KEY_EXCHANGE_ALG_RSA) },
            serverCertificate: { wBlobType: BB_CERTIFICATE_BLOB, blobData: this.identity.certificate },
            scopeList: [{ wBlobType: BB_SCOPE_BLOB, blobData: Buffer.from(`${WINDOWS_SCOPE}\0`, 'latin1') }],
          },
        },
      },
      w,
    );
    this.st = { phase: 'WaitClientRequest', serverRandom };
    return w.finish();
  }

  /**
   * The client's CLIENT_NEW_LICENSE_REQUEST (MS-RDPELE 3.2.5.2) or CLIENT_LICENSE_INFO (3.2.5.3,
   * a client presenting a license it stored, which xfreerdp does once it has one): decrypt the
   * pre-master secret with the licensing key, derive the keys (5.1.2) (for CLIENT_LICENSE_INFO,
   * check the MAC of its hardware id), and answer with a SERVER_PLATFORM_CHALLENGE: a random
   * challenge, RC4-encrypted, and the MACData over it.
   */
  onNewLicenseRequest(body: Uint8Array): Buffer {
    if (this.st.phase !== 'WaitClientRequest') throw new Error(`onNewLicenseRequest in ${this.st.phase}: send the license request first`);
    const m = decodeLicensingPdu(body).message;
    if (m.kind !== 'newLicenseRequest' && m.kind !== 'licenseInfo') throw unexpected('a CLIENT_NEW_LICENSE_REQUEST or CLIENT_LICENSE_INFO', m);
    const name = m.kind === 'newLicenseRequest' ? 'CLIENT_NEW_LICENSE_REQUEST' : 'CLIENT_LICENSE_INFO';
    if (m.value.preferredKeyExchangeAlg !== KEY_EXCHANGE_ALG_RSA) {
      throw new DecodeError('UnsupportedValue', name, 'PreferredKeyExchangeAlg', 4, `key exchange 0x${m.value.preferredKeyExchangeAlg.toString(16)} is not KEY_EXCHANGE_ALG_RSA`);
    }
    const preMasterSecret = this.decryptPreMasterSecret(m.value.encryptedPreMasterSecret);
    const keys = deriveLicensingKeys({ clientRandom: m.value.clientRandom, serverRandom: this.st.serverRandom, preMasterSecret });
    if (m.kind === 'licenseInfo') {
      // the HWID is MACed alone (MS-RDPELE 3.2.5.3); the stored license itself is not checked
      const hwid = licensingDecrypt(keys, m.value.encryptedHWID.blobData, m.value.macData, 'CLIENT_LICENSE_INFO.EncryptedHWID');
      decodeClientHardwareId(hwid);
    }
    const challenge = Buffer.from(this.random(PLATFORM_CHALLENGE_LENGTH));
    const p = licensingEncrypt(keys, challenge);
    const w = new WriteCursor();
    encodeLicensingPdu(
      {
        flags: this.flags,
        message: { kind: 'platformChallenge', value: { connectFlags: 0, encryptedPlatformChallenge: { wBlobType: CHALLENGE_BLOB_TYPE, blobData: p.data }, macData: p.mac } },
      },
      w,
    );
    this.st = { phase: 'WaitChallengeResponse', keys, challenge, request: m.kind };
    return w.finish();
  }

  /**
   * The client's CLIENT_PLATFORM_CHALLENGE_RESPONSE (MS-RDPELE 3.2.5.5): decrypt the response
   * data and the hardware id (each its own RC4 stream), check the MACData over both plaintexts
   * concatenated, then that the response echoes our challenge in a version 0x0100 structure.
   * Then the caller ends licensing: STATUS_VALID_CLIENT (a grace-period Windows host), a license
   * (newLicense), or, when !ok, an error (errorAlert ERR_INVALID_MAC / ERR_INVALID_CLIENT).
   */
  onPlatformChallengeResponse(body: Uint8Array): ChallengeResponseResult {
    if (this.st.phase !== 'WaitChallengeResponse') throw new Error(`onPlatformChallengeResponse in ${this.st.phase}: no challenge sent`);
    const m = decodeLicensingPdu(body).message;
    if (m.kind !== 'platformChallengeResponse') throw unexpected('a CLIENT_PLATFORM_CHALLENGE_RESPONSE', m);
    const { keys, challenge, request } = this.st;
    this.st = { phase: 'Done', keys, request };
    const responseData = licensingRc4(keys.encryptionKey, m.value.encryptedPlatformChallengeResponse.blobData);
    const hwid = licensingRc4(keys.encryptionKey, m.value.encryptedHWID.blobData);
    if (!licensingMacMatches(keys.macSaltKey, Buffer.concat([responseData, hwid]), m.value.macData)) {
      return { ok: false, reason: 'the MACData of the platform challenge response does not match its decrypted data (wrong keys or tampered)' };
    }
    // past the MAC, the client knows the keys: a malformed structure is its bug, reported as such
    const response = decodePlatformChallengeResponseData(responseData);
    const hardwareId = decodeClientHardwareId(hwid);
    if (response.wVersion !== PLATFORM_CHALLENGE_RESPONSE_VERSION) {
      return { ok: false, reason: `PLATFORM_CHALLENGE_RESPONSE_DATA.wVersion is 0x${response.wVersion.toString(16)}, not 0x0100`, response, hardwareId };
    }
    if (!Buffer.from(response.pbChallenge).equals(challenge)) {
      return { ok: false, reason: 'the response does not echo the platform challenge', response, hardwareId };
    }
    return {
      ok: true,
      reason: `challenge answered (wClientType 0x${response.wClientType.toString(16)}, wLicenseDetailLevel ${response.wLicenseDetailLevel}, PlatformId 0x${hardwareId.platformId.toString(16)})`,
      response,
      hardwareId,
    };
  }

  /**
   * SERVER_NEW_LICENSE (MS-RDPELE 2.2.2.7), or SERVER_UPGRADE_LICENSE (2.2.2.6, 3.2.5.5 case 1)
   * when the client presented a license (CLIENT_LICENSE_INFO): NEW_LICENSE_INFO encrypted, with
   * the MACData over its plaintext. For tests and experiments: real licenses are X.509 chains
   * signed by a license server, and a client stores what it gets (xfreerdp under
   * ~/.config/freerdp/licenses, then presents it on its next connections).
   */
  newLicense(info: NewLicenseInfo): Buffer {
    if (this.st.phase !== 'Done') throw new Error(`newLicense in ${this.st.phase}: check the challenge response first`);
    const plain = new WriteCursor();
    encodeNewLicenseInfo(info, plain);
    const p = licensingEncrypt(this.st.keys, plain.finish());
    const w = new WriteCursor();
    const value = { encryptedLicenseInfo: { wBlobType: BB_ENCRYPTED_DATA_BLOB, blobData: p.data }, macData: p.mac };
    encodeLicensingPdu({ flags: this.flags, message: { kind: this.st.request === 'licenseInfo' ? 'upgradeLicense' : 'newLicense', value } }, w);
    return w.finish();
  }

  /** A LICENSE_ERROR_MESSAGE (MS-RDPBCGR 2.2.1.12.1.3) with an empty BB_ERROR_BLOB, e.g. ERR_INVALID_MAC / ST_TOTAL_ABORT. */
  errorAlert(dwErrorCode: number, dwStateTransition: number): Buffer {
    const w = new WriteCursor();
    const bbErrorInfo: LicenseBlob = { wBlobType: BB_ERROR_BLOB, blobData: new Uint8Array(0) };
    encodeLicensingPdu({ flags: this.flags, message: { kind: 'errorAlert', value: { dwErrorCode, dwStateTransition, bbErrorInfo } } }, w);
    return w.finish();
  }

  /**
   * EncryptedPreMasterSecret (MS-RDPELE 2.2.2.2): the modulus-length RSA ciphertext, usually
   * followed by 8 zero bytes; the plaintext must fit in 48 bytes.
   */
  private decryptPreMasterSecret(blob: LicenseBlob): Buffer {
    const { key } = this.identity;
    const k = key.modulusLE.length;
    const c = blob.blobData;
    if (c.length !== k && c.length !== k + 8) {
      throw new RdpCryptoError('BadLength', 'EncryptedPreMasterSecret', `${c.length} bytes is neither ${k} nor ${k + 8}`);
    }
    if (c.subarray(k).some((b) => b !== 0)) throw new RdpCryptoError('BadLength', 'EncryptedPreMasterSecret', 'the 8 bytes after the ciphertext are not zero');
    const m = rsaDecryptLE(c.subarray(0, k), key.modulusLE, key.privateExponentLE);
    if (m.subarray(PREMASTER_SECRET_LENGTH).some((b) => b !== 0)) {
      throw new RdpCryptoError('BadRsaValue', 'EncryptedPreMasterSecret', 'decrypted value does not fit in 48 bytes (encrypted with another key?)');
    }
    return Buffer.from(m.subarray(0, PREMASTER_SECRET_LENGTH));
  }
}
