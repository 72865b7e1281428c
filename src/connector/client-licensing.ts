import { createPublicKey, type KeyObject } from 'node:crypto';
import { bigintToLE, rsaEncryptLE, type RsaPublicKeyLE } from '../crypto/rsa.js';
import { WriteCursor } from '../pdu/cursor.js';
import {
  BB_CLIENT_MACHINE_NAME_BLOB,
  BB_CLIENT_USER_NAME_BLOB,
  BB_RANDOM_BLOB,
  KEY_EXCHANGE_ALG_RSA,
  LICENSE_RANDOM_LENGTH,
  type ServerLicenseRequest,
} from '../pdu/licensing-messages.js';
import { encodeLicensingPdu } from '../pdu/licensing.js';
import { ConnectorError } from './errors.js';
import { serverPublicKey } from './client-security.js';

/**
 * The client's answer to a SERVER_LICENSE_REQUEST (MS-RDPELE 3.3.5.2, 2.2.2.2): a
 * CLIENT_NEW_LICENSE_REQUEST whose pre-master secret is encrypted with the licensing
 * certificate's key. xrdp asks for it even under TLS and then sends STATUS_VALID_CLIENT.
 */
/** CLIENT_OS_ID_WINNT_POST_52 | CLIENT_IMAGE_ID_MICROSOFT (MS-RDPELE 2.2.2.2), what xfreerdp sends. */
const PLATFORM_ID = 0x04010000;
const PREMASTER_SECRET_LENGTH = 48;

export function newLicenseRequest(
  req: ServerLicenseRequest,
  preambleFlags: number,
  random: (n: number) => Uint8Array,
  names: { user: string; machine: string },
  tlsServerPublicKey?: Uint8Array,
): Buffer {
  const key = licensingKey(req, tlsServerPublicKey);
  const preMaster = random(PREMASTER_SECRET_LENGTH);
  const encrypted = Buffer.concat([rsaEncryptLE(preMaster, key.modulusLE, key.exponent), Buffer.alloc(8)]);
  const ansi = (s: string) => Buffer.from(`${s}\0`, 'latin1');
  const w = new WriteCursor();
  encodeLicensingPdu(
    {
      flags: preambleFlags,
      message: {
        kind: 'newLicenseRequest',
        value: {
          preferredKeyExchangeAlg: KEY_EXCHANGE_ALG_RSA,
          platformId: PLATFORM_ID,
          clientRandom: random(LICENSE_RANDOM_LENGTH),
          encryptedPreMasterSecret: { wBlobType: BB_RANDOM_BLOB, blobData: encrypted },
          clientUserName: { wBlobType: BB_CLIENT_USER_NAME_BLOB, blobData: ansi(names.user) },
          clientMachineName: { wBlobType: BB_CLIENT_MACHINE_NAME_BLOB, blobData: ansi(names.machine) },
        },
      },
    },
    w,
  );
  return w.finish();
}

/**
 * The key for the pre-master secret: the licensing certificate in the request, or, when the
 * server sends none under Enhanced RDP Security, the TLS server's RSA key (MS-RDPELE 2.2.2.1).
 */
function licensingKey(req: ServerLicenseRequest, tlsServerPublicKey?: Uint8Array): RsaPublicKeyLE {
  if (req.serverCertificate.blobData.length > 0) return serverPublicKey(req.serverCertificate.blobData);
  if (!tlsServerPublicKey) throw new ConnectorError('LICENSING_ERROR', 'licensing', 'the license request carries no certificate to encrypt the pre-master secret with');
  let key: KeyObject;
  try {
    key = createPublicKey({ key: Buffer.from(tlsServerPublicKey), format: 'der', type: 'pkcs1' });
  } catch {
    throw new ConnectorError('LICENSING_ERROR', 'licensing', 'the license request carries no certificate and the TLS server key is not an RSA key');
  }
  const jwk = key.export({ format: 'jwk' });
  if (!jwk.n || !jwk.e) throw new ConnectorError('LICENSING_ERROR', 'licensing', 'the TLS server key is not an RSA key');
  const n = Buffer.from(jwk.n, 'base64url');
  return { modulusLE: bigintToLE(BigInt(`0x${n.toString('hex')}`), n.length), exponent: BigInt(`0x${Buffer.from(jwk.e, 'base64url').toString('hex')}`) };
}
