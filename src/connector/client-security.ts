import { RdpCryptoError } from '../crypto/errors.js';
import { deriveFipsKeys, FipsSession } from '../crypto/fips.js';
import { encryptClientRandom, type RsaPublicKeyLE } from '../crypto/rsa.js';
import { rsaPublicKeyFromX509 } from '../crypto/certificate-summary.js';
import { deriveSessionKeys, isRc4Method, Rc4Session, type MacForm } from '../crypto/session-keys.js';
import { ENCRYPTION_METHOD_FIPS, ENCRYPTION_METHOD_NONE } from '../pdu/client-data.js';
import { WriteCursor } from '../pdu/cursor.js';
import { FASTPATH_OUTPUT_ENCRYPTED, FASTPATH_OUTPUT_SECURE_CHECKSUM, decodeFastPathOutput } from '../pdu/fastpath.js';
import {
  SEC_ENCRYPT,
  SEC_EXCHANGE_PKT,
  SEC_SECURE_CHECKSUM,
  encodeSecurityExchangePdu,
  joinSecurityHeader,
  securityHeaderForm,
  splitSecurityHeader,
  type SecurityHeader,
} from '../pdu/security-header.js';
import { ENCRYPTION_LEVEL_NONE, type ServerSecurityData } from '../pdu/server-data.js';
import { decodeServerCertificate, proprietaryRsaKey, x509LeafCertificate } from '../pdu/server-certificate.js';
import { bigintToLE } from '../crypto/rsa.js';
import { ConnectorError } from './errors.js';

/**
 * Standard RDP Security as the client applies it to the PDUs it sends and receives on the MCS
 * I/O channel (MS-RDPBCGR 5.3): the security header of each PDU, RC4 or FIPS encryption, and
 * the MAC, in the form (plain or salted) the connector was told to use. With Enhanced RDP
 * Security (TLS) or encryption level NONE this only adds the basic headers the spec asks for.
 */
export type PduClass = 'clientInfo' | 'licensing' | 'other';

export class ClientSecurity {
  private readonly rc4?: Rc4Session;
  private readonly fips?: FipsSession;
  /** the Security Exchange PDU to send first, when encryption is on */
  readonly exchangePdu?: Buffer;

  constructor(
    private readonly sec: ServerSecurityData | undefined,
    clientRandom: Uint8Array,
    readonly macForm: MacForm,
  ) {
    const method = sec?.encryptionMethod ?? ENCRYPTION_METHOD_NONE;
    if (!sec || method === ENCRYPTION_METHOD_NONE) return;
    if (!sec.serverRandom || !sec.serverCertificate) {
      throw new ConnectorError('DECODE_ERROR', 'security', 'the server chose encryption but sent no server random or certificate');
    }
    const key = serverPublicKey(sec.serverCertificate);
    const encrypted = encryptClientRandom(clientRandom, key);
    const w = new WriteCursor();
    // encryptClientRandom returns the ciphertext and its 8 zero bytes; the codec adds those itself
    encodeSecurityExchangePdu({ flags: SEC_EXCHANGE_PKT, flagsHi: 0, packet: { encryptedClientRandom: encrypted.subarray(0, encrypted.length - 8) } }, w);
    this.exchangePdu = w.finish();
    if (method === ENCRYPTION_METHOD_FIPS) {
      this.fips = new FipsSession(deriveFipsKeys({ clientRandom, serverRandom: sec.serverRandom }));
    } else if (isRc4Method(method)) {
      this.rc4 = new Rc4Session(deriveSessionKeys({ clientRandom, serverRandom: sec.serverRandom, method }));
    } else {
      throw new ConnectorError('UNEXPECTED_PDU', 'security', `the server chose an unknown encryption method 0x${method.toString(16)}`);
    }
  }

  /** the MAC form in use with RC4 (FIPS has its own HMAC) */
  get rc4MacForm(): MacForm | undefined {
    return this.rc4 ? this.macForm : undefined;
  }

  get encrypting(): boolean {
    return Boolean(this.rc4 || this.fips);
  }

  private form(pdu: PduClass, dir: 'c2s' | 's2c') {
    return securityHeaderForm(this.sec?.encryptionMethod ?? ENCRYPTION_METHOD_NONE, this.sec?.encryptionLevel ?? ENCRYPTION_LEVEL_NONE, pdu, dir);
  }

  /** Protect an outgoing PDU body with `flags` (SEC_INFO_PKT, SEC_LICENSE_PKT, ...). */
  wrap(body: Uint8Array, pdu: PduClass, flags = 0): Buffer {
    const form = this.form(pdu, 'c2s');
    // licensing PDUs may go unencrypted (MS-RDPBCGR 2.2.1.12: SEC_ENCRYPT is optional there)
    if (form === 'none') return Buffer.from(body);
    if (form === 'basic' || pdu === 'licensing') return joinSecurityHeader({ form: 'basic', flags, flagsHi: 0 }, body);
    if (this.rc4) {
      const p = this.rc4.encrypt(body, this.macForm);
      const f = flags | SEC_ENCRYPT | (this.macForm === 'salted' ? SEC_SECURE_CHECKSUM : 0);
      return joinSecurityHeader({ form: 'rc4', flags: f, flagsHi: 0, dataSignature: p.dataSignature }, p.data);
    }
    const p = this.fips!.encrypt(body);
    const header: SecurityHeader = { form: 'fips', flags: flags | SEC_ENCRYPT, flagsHi: 0, length: 0x10, version: 1, padlen: p.padlen, dataSignature: p.dataSignature };
    return joinSecurityHeader(header, p.data);
  }

  /** Remove the security header of an incoming PDU and decrypt it; returns the header flags and body. */
  unwrap(bytes: Uint8Array, pdu: PduClass): { flags: number; body: Uint8Array } {
    const { header, body } = splitSecurityHeader(bytes, this.form(pdu, 's2c'));
    if (header.form === 'none') return { flags: 0, body };
    if (header.form === 'basic') return { flags: header.flags, body };
    return { flags: header.flags, body: this.decrypt(header, body) };
  }

  /** Decrypt a fast-path output PDU's data when it is encrypted. */
  unwrapFastPath(frame: Uint8Array): Uint8Array {
    const form = !this.encrypting ? 'none' : this.fips ? 'fips' : 'rc4';
    const fp = decodeFastPathOutput(frame, form);
    if (!(fp.flags & FASTPATH_OUTPUT_ENCRYPTED)) return fp.data;
    const salted = (fp.flags & FASTPATH_OUTPUT_SECURE_CHECKSUM) !== 0;
    const header: SecurityHeader = this.fips
      ? { form: 'fips', flags: SEC_ENCRYPT, flagsHi: 0, length: 0x10, version: 1, padlen: fp.fipsInformation?.padlen ?? 0, dataSignature: fp.dataSignature! }
      : { form: 'rc4', flags: SEC_ENCRYPT | (salted ? SEC_SECURE_CHECKSUM : 0), flagsHi: 0, dataSignature: fp.dataSignature! };
    return this.decrypt(header, fp.data);
  }

  private decrypt(header: Extract<SecurityHeader, { form: 'rc4' | 'fips' }>, body: Uint8Array): Buffer {
    try {
      if (header.form === 'fips') {
        if (!this.fips) throw new ConnectorError('UNEXPECTED_PDU', 'security', 'a FIPS-encrypted PDU on a connection without FIPS');
        return this.fips.decrypt(header.dataSignature, body, header.padlen);
      }
      if (!this.rc4) throw new ConnectorError('UNEXPECTED_PDU', 'security', 'an encrypted PDU on a connection without encryption');
      return this.rc4.decrypt(header.dataSignature, body, header.flags & SEC_SECURE_CHECKSUM ? 'salted' : 'unsalted');
    } catch (err) {
      if (err instanceof RdpCryptoError) throw new ConnectorError('MAC_MISMATCH', 'security', `a server PDU failed its check: ${err.message}`);
      throw err;
    }
  }
}

/** The RSA key of a TS_UD_SC_SEC1 certificate: proprietary, or the leaf of an X.509 chain. */
export function serverPublicKey(certificate: Uint8Array): RsaPublicKeyLE {
  const cert = decodeServerCertificate(certificate);
  if (cert.kind === 'proprietary') {
    const k = proprietaryRsaKey(cert);
    return { modulusLE: k.modulusLE, exponent: k.exponent };
  }
  const k = rsaPublicKeyFromX509(x509LeafCertificate(cert));
  return { modulusLE: bigintToLE(k.modulus, Math.ceil(k.bits / 8)), exponent: k.exponent };
}
