import { decryptClientRandom, generateRsaKeyPairLE, signProprietaryCertificate, type RsaKeyPairLE } from '../crypto/rsa.js';
import { WriteCursor } from '../pdu/cursor.js';
import {
  KEY_EXCHANGE_ALG_RSA,
  SIGNATURE_ALG_RSA,
  encodeServerCertificate,
  rsaPublicKeyBlob,
  type ProprietaryServerCertificate,
} from '../pdu/server-certificate.js';

/**
 * The server's Standard RDP Security identity (MS-RDPBCGR 5.3.3): an RSA key pair of its own
 * and the proprietary certificate carrying the public half, signed (as the spec wants) with the
 * published Terminal Services signing key. Made once per process: a 2048-bit key, as xrdp's.
 */
export class ServerIdentity {
  readonly certificate: Buffer;

  constructor(readonly key: RsaKeyPairLE = generateRsaKeyPairLE(2048)) {
    const unsigned: Omit<ProprietaryServerCertificate, 'signatureBlob'> = {
      kind: 'proprietary',
      temporary: false,
      dwSigAlgId: SIGNATURE_ALG_RSA,
      dwKeyAlgId: KEY_EXCHANGE_ALG_RSA,
      publicKey: rsaPublicKeyBlob(key.modulusLE, Number(key.exponent)),
    };
    const w = new WriteCursor();
    encodeServerCertificate({ ...unsigned, signatureBlob: signProprietaryCertificate(unsigned) }, w);
    this.certificate = w.finish();
  }

  /** The client random of a Security Exchange PDU (encrypted random without its 8 zero bytes). */
  clientRandom(encryptedClientRandom: Uint8Array): Buffer {
    return decryptClientRandom(Buffer.concat([encryptedClientRandom, Buffer.alloc(8)]), this.key);
  }
}
