import { rsaPublicKeyFromX509 } from '../crypto/certificate-summary.js';
import { deriveFipsKeys, FipsSession } from '../crypto/fips.js';
import { bigintToLE, encryptClientRandom, type RsaPublicKeyLE } from '../crypto/rsa.js';
import { SecurityLayer } from '../crypto/security-layer.js';
import { deriveSessionKeys, isRc4Method, Rc4Session, type MacForm } from '../crypto/session-keys.js';
import { ENCRYPTION_METHOD_FIPS, ENCRYPTION_METHOD_NONE } from '../pdu/client-data.js';
import { WriteCursor } from '../pdu/cursor.js';
import { SEC_EXCHANGE_PKT, encodeSecurityExchangePdu } from '../pdu/security-header.js';
import { ENCRYPTION_LEVEL_NONE, type ServerSecurityData } from '../pdu/server-data.js';
import { decodeServerCertificate, proprietaryRsaKey, x509LeafCertificate } from '../pdu/server-certificate.js';
import { DecodeError } from '../pdu/errors.js';
import { ConnectorError } from './errors.js';

/**
 * The client's side of the Security Exchange (MS-RDPBCGR 5.3.4): the client random encrypted
 * with the server's key, the session keys (5.3.5), and the security layer that applies them.
 */
export function clientSecurity(
  sec: ServerSecurityData | undefined,
  clientRandom: Uint8Array,
  macForm: MacForm,
): { layer: SecurityLayer; exchangePdu?: Buffer } {
  const method = sec?.encryptionMethod ?? ENCRYPTION_METHOD_NONE;
  if (!sec || method === ENCRYPTION_METHOD_NONE) {
    return { layer: new SecurityLayer('client', method, sec?.encryptionLevel ?? ENCRYPTION_LEVEL_NONE, undefined, undefined, macForm) };
  }
  if (!sec.serverRandom || !sec.serverCertificate) {
    throw new ConnectorError('DECODE_ERROR', 'security', 'the server chose encryption but sent no server random or certificate');
  }
  const encrypted = encryptClientRandom(clientRandom, serverPublicKey(sec.serverCertificate));
  const w = new WriteCursor();
  // encryptClientRandom returns the ciphertext and its 8 zero bytes; the codec adds those itself
  encodeSecurityExchangePdu({ flags: SEC_EXCHANGE_PKT, flagsHi: 0, packet: { encryptedClientRandom: encrypted.subarray(0, encrypted.length - 8) } }, w);
  const inputs = { clientRandom, serverRandom: sec.serverRandom };
  let layer: SecurityLayer;
  if (method === ENCRYPTION_METHOD_FIPS) {
    layer = new SecurityLayer('client', method, sec.encryptionLevel, undefined, new FipsSession(deriveFipsKeys(inputs)), macForm);
  } else if (isRc4Method(method)) {
    layer = new SecurityLayer('client', method, sec.encryptionLevel, new Rc4Session(deriveSessionKeys({ ...inputs, method })), undefined, macForm);
  } else {
    throw new ConnectorError('UNEXPECTED_PDU', 'security', `the server chose an unknown encryption method 0x${method.toString(16)}`);
  }
  return { layer, exchangePdu: w.finish() };
}

/** The smallest RSA modulus we encrypt the client random with: it must hold 32 bytes (MS-RDPBCGR 5.3.4.1). */
const MIN_MODULUS_BYTES = 64;

/** The RSA key of a TS_UD_SC_SEC1 certificate: proprietary, or the leaf of an X.509 chain. */
export function serverPublicKey(certificate: Uint8Array): RsaPublicKeyLE {
  const key = certificateKey(certificate);
  const significant = key.modulusLE.length - [...key.modulusLE].reverse().findIndex((b) => b !== 0);
  if (key.modulusLE.every((b) => b === 0) || significant < MIN_MODULUS_BYTES) {
    throw new DecodeError('InvalidField', 'RSA_PUBLIC_KEY', 'modulus', 0, `a ${Math.max(0, significant) * 8}-bit modulus cannot carry a 32-byte client random (minimum 512 bits)`);
  }
  return key;
}

function certificateKey(certificate: Uint8Array): RsaPublicKeyLE {
  const cert = decodeServerCertificate(certificate);
  if (cert.kind === 'proprietary') {
    const k = proprietaryRsaKey(cert);
    return { modulusLE: k.modulusLE, exponent: k.exponent };
  }
  const k = rsaPublicKeyFromX509(x509LeafCertificate(cert));
  return { modulusLE: bigintToLE(k.modulus, Math.ceil(k.bits / 8)), exponent: k.exponent };
}
