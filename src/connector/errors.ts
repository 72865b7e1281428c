import type { DecodeError } from '../pdu/errors.js';

/**
 * Why a connection attempt stopped short. `code` is stable (reports, tests and the error
 * catalogue key on it); for an RDP_NEG_FAILURE it is the spec's failureCode name.
 */
export const CONNECTOR_ERROR_CODES = [
  /** RDP_NEG_FAILURE codes (MS-RDPBCGR 2.2.1.2.2) */
  'SSL_REQUIRED_BY_SERVER',
  'SSL_NOT_ALLOWED_BY_SERVER',
  'SSL_CERT_NOT_ON_SERVER',
  'INCONSISTENT_FLAGS',
  'HYBRID_REQUIRED_BY_SERVER',
  'SSL_WITH_USER_AUTH_REQUIRED_BY_SERVER',
  'UNKNOWN_FAILURE_CODE',
  /** the server answered the Connection Request with an X.224 Disconnect Request */
  'X224_DISCONNECT',
  /** the server sent an MCS Disconnect Provider Ultimatum instead of the expected PDU */
  'MCS_DISCONNECT_PROVIDER_ULTIMATUM',
  /** the MCS Connect Response carried a result other than rt-successful */
  'MCS_CONNECT_REFUSED',
  /** the server selected a protocol we did not request, or that we cannot continue with */
  'UNEXPECTED_PROTOCOL',
  /** a PDU that is well formed but not what this phase expects */
  'UNEXPECTED_PDU',
  /** a PDU that is not well formed */
  'DECODE_ERROR',
  /** a server PDU whose MAC does not verify */
  'MAC_MISMATCH',
  /** the Attach User Confirm or a Channel Join Confirm carried a result other than rt-successful */
  'MCS_REFUSED',
  /** the server ended licensing with an error (LICENSE_ERROR_MESSAGE other than STATUS_VALID_CLIENT) */
  'LICENSING_ERROR',
  /** the server disconnected during activation (Disconnect Provider Ultimatum, maybe after a Set Error Info PDU) */
  'SERVER_DISCONNECTED',
  /** CredSSP: the server answered with a TSRequest errorCode (an NTSTATUS such as STATUS_LOGON_FAILURE) */
  'CREDSSP_LOGON_FAILED',
  /**
   * CredSSP: we (as a patched client with AllowEncryptionOracle 0 or 1) refuse a server below
   * version 5, the CVE-2018-0886 "encryption oracle remediation" error
   */
  'CREDSSP_ORACLE_REMEDIATION',
  /** CredSSP: the server's pubKeyAuth binds another TLS key (the man-in-the-middle check, MS-CSSP 3.1.5) */
  'CREDSSP_PUBKEY_MISMATCH',
  /** CredSSP: any other failure of the exchange (an unexpected token, a version change, a bad seal) */
  'CREDSSP_ERROR',
  /** HYBRID_EX: the Early User Authorization Result was AUTHZ_ACCESS_DENIED (MS-RDPBCGR 2.2.10.2) */
  'ACCESS_DENIED',
  /**
   * Standard RDP Security: the server selected an encryption method this client did not offer
   * (NONE included) and the client, configured to (rdesktop), does not go on with it
   */
  'ENCRYPTION_METHOD_NOT_OFFERED',
] as const;
export type ConnectorErrorCode = (typeof CONNECTOR_ERROR_CODES)[number];

export class ConnectorError extends Error {
  override readonly name = 'ConnectorError';
  constructor(
    readonly code: ConnectorErrorCode,
    /** the phase that failed: 'x224', 'tls', 'mcs' */
    readonly phase: string,
    message: string,
    readonly decodeError?: DecodeError,
    /** numeric detail: the failureCode, the MCS result or reason */
    readonly value?: number,
  ) {
    super(message);
  }
  toJSON(): Record<string, unknown> {
    return {
      code: this.code,
      phase: this.phase,
      message: this.message,
      ...(this.value !== undefined ? { value: this.value } : {}),
      ...(this.decodeError ? { decode: this.decodeError.toJSON() } : {}),
    };
  }
}
