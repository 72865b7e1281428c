import { ENCRYPTION_METHOD_NONE } from '../pdu/client-data.js';
import { FASTPATH_OUTPUT_ENCRYPTED, FASTPATH_OUTPUT_SECURE_CHECKSUM, decodeFastPathOutput, decodeFastPathInput } from '../pdu/fastpath.js';
import {
  SEC_ENCRYPT,
  SEC_SECURE_CHECKSUM,
  joinSecurityHeader,
  securityHeaderForm,
  splitSecurityHeader,
  type SecurityHeader,
} from '../pdu/security-header.js';
import { ENCRYPTION_LEVEL_NONE } from '../pdu/server-data.js';
import { RdpCryptoError } from './errors.js';
import type { FipsSession } from './fips.js';
import type { MacForm, Rc4Session } from './session-keys.js';

/**
 * Standard RDP Security applied to the PDUs of the MCS I/O channel (MS-RDPBCGR 5.3), for
 * either end: the security header each PDU carries for the server's encryption level and
 * method (2.2.8.1.1.2), RC4 or FIPS encryption, and the MAC (plain 5.3.6.1 or salted
 * 5.3.6.1.1; incoming PDUs are checked in the form their SEC_SECURE_CHECKSUM flag says).
 * With Enhanced RDP Security (TLS) or level NONE it only adds the basic headers the spec asks for.
 */
export type PduClass = 'clientInfo' | 'licensing' | 'other';

export class SecurityLayer {
  constructor(
    readonly role: 'client' | 'server',
    private readonly method: number,
    private readonly level: number,
    private readonly rc4: Rc4Session | undefined,
    private readonly fips: FipsSession | undefined,
    readonly macForm: MacForm,
  ) {}

  /** No encryption: Enhanced RDP Security, or level NONE. */
  static plain(role: 'client' | 'server'): SecurityLayer {
    return new SecurityLayer(role, ENCRYPTION_METHOD_NONE, ENCRYPTION_LEVEL_NONE, undefined, undefined, 'unsalted');
  }

  /** the MAC form in use with RC4 (FIPS has its own HMAC) */
  get rc4MacForm(): MacForm | undefined {
    return this.rc4 ? this.macForm : undefined;
  }

  get encrypting(): boolean {
    return Boolean(this.rc4 || this.fips);
  }

  private form(pdu: PduClass, dir: 'c2s' | 's2c') {
    return securityHeaderForm(this.method, this.level, pdu, dir);
  }
  private get outDir(): 'c2s' | 's2c' {
    return this.role === 'client' ? 'c2s' : 's2c';
  }
  private get inDir(): 'c2s' | 's2c' {
    return this.role === 'client' ? 's2c' : 'c2s';
  }

  /** Protect an outgoing PDU body with `flags` (SEC_INFO_PKT, SEC_LICENSE_PKT, ...). */
  wrap(body: Uint8Array, pdu: PduClass, flags = 0): Buffer {
    const form = this.form(pdu, this.outDir);
    if (form === 'none') return Buffer.from(body);
    // licensing PDUs may go unencrypted (MS-RDPBCGR 2.2.1.12: SEC_ENCRYPT is optional there)
    if (form === 'basic' || pdu === 'licensing') return joinSecurityHeader({ form: 'basic', flags, flagsHi: 0 }, body);
    if (this.rc4) {
      const p = this.rc4.encrypt(body, this.macForm);
      const f = flags | SEC_ENCRYPT | (this.macForm === 'salted' ? SEC_SECURE_CHECKSUM : 0);
      return joinSecurityHeader({ form: 'rc4', flags: f, flagsHi: 0, dataSignature: p.dataSignature }, p.data);
    }
    const p = this.fips!.encrypt(body);
    return joinSecurityHeader({ form: 'fips', flags: flags | SEC_ENCRYPT, flagsHi: 0, length: 0x10, version: 1, padlen: p.padlen, dataSignature: p.dataSignature }, p.data);
  }

  /** Remove the security header of an incoming PDU and decrypt it; the header flags and the body. */
  unwrap(bytes: Uint8Array, pdu: PduClass): { flags: number; body: Uint8Array } {
    const { header, body } = splitSecurityHeader(bytes, this.form(pdu, this.inDir));
    if (header.form === 'none') return { flags: 0, body };
    if (header.form === 'basic') return { flags: header.flags, body };
    return { flags: header.flags, body: this.decrypt(header, body) };
  }

  /** The data of an incoming fast-path PDU (server output or client input), decrypted when it is encrypted. */
  unwrapFastPath(frame: Uint8Array): Uint8Array {
    const form = !this.encrypting ? 'none' : this.fips ? 'fips' : 'rc4';
    const fp = this.role === 'client' ? decodeFastPathOutput(frame, form) : decodeFastPathInput(frame, form);
    if (!(fp.flags & FASTPATH_OUTPUT_ENCRYPTED)) return fp.data;
    const salted = (fp.flags & FASTPATH_OUTPUT_SECURE_CHECKSUM) !== 0;
    if (!fp.dataSignature) throw new RdpCryptoError('BadLength', 'fast-path dataSignature', 'an encrypted fast-path PDU without a signature');
    const header: SecurityHeader = this.fips
      ? { form: 'fips', flags: SEC_ENCRYPT, flagsHi: 0, length: 0x10, version: 1, padlen: fp.fipsInformation?.padlen ?? 0, dataSignature: fp.dataSignature }
      : { form: 'rc4', flags: SEC_ENCRYPT | (salted ? SEC_SECURE_CHECKSUM : 0), flagsHi: 0, dataSignature: fp.dataSignature };
    return this.decrypt(header, fp.data);
  }

  private decrypt(header: Extract<SecurityHeader, { form: 'rc4' | 'fips' }>, body: Uint8Array): Buffer {
    if (header.form === 'fips') {
      if (!this.fips) throw new RdpCryptoError('UnsupportedMethod', 'TS_SECURITY_HEADER2', 'a FIPS-encrypted PDU on a connection without FIPS');
      return this.fips.decrypt(header.dataSignature, body, header.padlen);
    }
    if (!this.rc4) throw new RdpCryptoError('UnsupportedMethod', 'TS_SECURITY_HEADER1', 'an encrypted PDU on a connection without encryption');
    return this.rc4.decrypt(header.dataSignature, body, header.flags & SEC_SECURE_CHECKSUM ? 'salted' : 'unsalted');
  }
}
