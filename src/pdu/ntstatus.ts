/**
 * The NTSTATUS values that travel in a CredSSP TSRequest.errorCode (MS-CSSP 2.2.1, version 3+)
 * and that NTLM/Kerberos logons end with (MS-ERREF 2.3.1). Only the ones an RDP logon can
 * produce are named; the fact sheet's section 7 ("CredSSP errorCode values") lists them with
 * FreeRDP's ERRCONNECT_ mapping (winpr/include/winpr/nt.h, libfreerdp/core/nla.c).
 */
export const NTSTATUS = {
  STATUS_SUCCESS: 0x00000000,
  STATUS_ACCESS_DENIED: 0xc0000022,
  STATUS_NO_LOGON_SERVERS: 0xc000005e,
  STATUS_NO_SUCH_USER: 0xc0000064,
  STATUS_WRONG_PASSWORD: 0xc000006a,
  STATUS_LOGON_FAILURE: 0xc000006d,
  STATUS_ACCOUNT_RESTRICTION: 0xc000006e,
  STATUS_INVALID_LOGON_HOURS: 0xc000006f,
  STATUS_INVALID_WORKSTATION: 0xc0000070,
  STATUS_PASSWORD_EXPIRED: 0xc0000071,
  STATUS_ACCOUNT_DISABLED: 0xc0000072,
  STATUS_LOGON_TYPE_NOT_GRANTED: 0xc000015b,
  STATUS_ACCOUNT_EXPIRED: 0xc0000193,
  STATUS_PASSWORD_MUST_CHANGE: 0xc0000224,
  STATUS_ACCOUNT_LOCKED_OUT: 0xc0000234,
  STATUS_BAD_BINDINGS: 0xc000035b,
  /** SEC_E_UNSUPPORTED_FUNCTION (an HRESULT, not an NTSTATUS): "The function requested is not supported" */
  SEC_E_UNSUPPORTED_FUNCTION: 0x80090302,
  /** SEC_E_LOGON_DENIED (HRESULT): what SSPI callers see for a failed NTLM logon */
  SEC_E_LOGON_DENIED: 0x8009030c,
  /** SEC_E_INVALID_TOKEN (HRESULT): a token that is missing or malformed (a required SPNEGO mechListMIC) */
  SEC_E_INVALID_TOKEN: 0x80090308,
  /** SEC_E_MESSAGE_ALTERED (HRESULT): a signature that does not verify (a bad SPNEGO mechListMIC) */
  SEC_E_MESSAGE_ALTERED: 0x8009030f,
} as const;

export type NtStatusName = keyof typeof NTSTATUS;

/** The name of an NTSTATUS value, or 0xXXXXXXXX for one we do not name. */
export function ntStatusName(value: number): string {
  const v = value >>> 0;
  const e = Object.entries(NTSTATUS).find(([, n]) => n === v);
  return e ? e[0] : `0x${v.toString(16).toUpperCase().padStart(8, '0')}`;
}
