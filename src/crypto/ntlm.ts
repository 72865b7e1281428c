import { createHash, createHmac, timingSafeEqual } from 'node:crypto';
import { rc4 } from './rc4.js';
import { NtlmError } from './ntlm-error.js';
import { certificateParts } from './x509-der.js';
import { DecodeError } from '../pdu/errors.js';
import {
  NTLMV1_RESPONSE_SIZE,
  NTLMV2_CLIENT_CHALLENGE_FIXED,
  NTLMV2_PROOF_SIZE,
  decodeNtlmV2ClientChallenge,
  encodeNtlmV2ClientChallenge,
} from '../pdu/ntlm.js';

/**
 * NTLMv2 cryptography (MS-NLMP 3.3.2, 3.4.5), pure functions over bytes: NTOWFv2, the NTLMv2
 * and LMv2 responses, the session base key, key exchange, the MIC, and the channel binding hash
 * of a TLS server certificate. Session security (SIGNKEY, SEALKEY, sealing) is in
 * `ntlm-seal.ts`, re-exported here; the client and server state machines are in
 * `ntlm-context.ts`. MD4 (for the NT hash) is in `md4.ts`; RC4 is our own (`rc4.ts`); MD5 and
 * HMAC-MD5 come from node:crypto (OpenSSL 3 still has them). Errors are NtlmError and never
 * carry key material.
 */

export * from './ntlm-seal.js';
export { NtlmError, type NtlmErrorKind } from './ntlm-error.js';

const md5 = (...parts: Uint8Array[]): Buffer => parts.reduce((h, p) => h.update(p), createHash('md5')).digest();

/** HMAC_MD5(key, parts...) (MS-NLMP 6, RFC 2104). */
export function hmacMd5(key: Uint8Array, ...parts: Uint8Array[]): Buffer {
  return parts.reduce((h, p) => h.update(p), createHmac('md5', key)).digest();
}

function checkSize(b: Uint8Array, n: number, what: string): void {
  if (b.length !== n) throw new NtlmError('bad-argument', `${what} of ${b.length} bytes, must be ${n}`);
}

/** Equality in constant time for equal lengths (a length difference is not secret). */
export function bytesEqual(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && timingSafeEqual(a, b);
}

/**
 * Upper-case a user name as Windows does for NTOWFv2 (RtlUpcaseUnicodeString): one UTF-16 code
 * unit at a time, each to its simple upper case; a character whose upper case is longer (ß to
 * SS, ŉ to ʼN) stays as it is, and so do surrogates.
 */
export function upcaseUser(user: string): string {
  let out = '';
  for (let i = 0; i < user.length; i++) {
    const c = user[i]!;
    const u = c.toUpperCase();
    out += u.length === 1 ? u : c;
  }
  return out;
}

/**
 * NTOWFv2 (MS-NLMP 3.3.2) from the NT hash (MD4 of the UTF-16LE password, `md4.ts`):
 * HMAC_MD5(ntHash, UTF-16LE(Uppercase(user) || domain)). The domain is not upper-cased. This is
 * ResponseKeyNT and ResponseKeyLM.
 */
export function ntowfv2(ntHash: Uint8Array, user: string, domain: string): Buffer {
  checkSize(ntHash, 16, 'NT hash');
  return hmacMd5(ntHash, Buffer.from(upcaseUser(user) + domain, 'utf16le'));
}

/** LMv2 response (MS-NLMP 3.3.2, 2.2.2.4): HMAC_MD5(ResponseKeyLM, ServerChallenge || ClientChallenge) || ClientChallenge. */
export function lmv2Response(responseKeyLM: Uint8Array, serverChallenge: Uint8Array, clientChallenge: Uint8Array): Buffer {
  checkSize(serverChallenge, 8, 'ServerChallenge');
  checkSize(clientChallenge, 8, 'ClientChallenge');
  return Buffer.concat([hmacMd5(responseKeyLM, serverChallenge, clientChallenge), clientChallenge]);
}

export interface NtlmV2ResponseInput {
  /** NTOWFv2 of the user (`ntowfv2`) */
  responseKeyNT: Uint8Array;
  /** CHALLENGE_MESSAGE.ServerChallenge (8 bytes) */
  serverChallenge: Uint8Array;
  /** 8 random bytes of the client */
  clientChallenge: Uint8Array;
  /** FILETIME: the CHALLENGE's MsvAvTimestamp when it has one, else the client's clock */
  timestamp: bigint;
  /**
   * The client's AV_PAIR list as it goes into the response (encoded, with MsvAvEOL; anything
   * after the EOL, such as FreeRDP's 8 bytes of padding, is kept as given)
   */
  targetInfo: Uint8Array;
}

export interface NtlmV2Response {
  /** NTProofStr || temp (MS-NLMP 2.2.2.8) */
  ntChallengeResponse: Buffer;
  /** LMv2, or Z(24) when targetInfo carries MsvAvTimestamp (MS-NLMP 3.1.5.1.2) */
  lmChallengeResponse: Buffer;
  ntProofStr: Buffer;
  /** HMAC_MD5(ResponseKeyNT, NTProofStr) */
  sessionBaseKey: Buffer;
}

/**
 * The NTLMv2 response (MS-NLMP 3.3.2):
 * ```
 * temp             = 01 01 Z(6) Time ClientChallenge Z(4) TargetInfo Z(4)
 * NTProofStr       = HMAC_MD5(ResponseKeyNT, ServerChallenge || temp)
 * NtChallengeResponse = NTProofStr || temp
 * SessionBaseKey   = HMAC_MD5(ResponseKeyNT, NTProofStr)
 * ```
 * The LmChallengeResponse is Z(24) when the target info holds an MsvAvTimestamp, as a client
 * SHOULD send it then (MS-NLMP 3.1.5.1.2; Windows and FreeRDP do), else LMv2 (ResponseKeyLM =
 * ResponseKeyNT in NTLMv2).
 */
export function computeNtlmV2Response(i: NtlmV2ResponseInput): NtlmV2Response {
  checkSize(i.serverChallenge, 8, 'ServerChallenge');
  checkSize(i.clientChallenge, 8, 'ClientChallenge');
  const temp = encodeNtlmV2ClientChallenge({ timestamp: i.timestamp, challengeFromClient: i.clientChallenge, avPairs: i.targetInfo });
  let hasTimestamp: boolean;
  try {
    hasTimestamp = decodeNtlmV2ClientChallenge(temp).avPairs.timestamp !== undefined;
  } catch (err) {
    if (err instanceof DecodeError) throw new NtlmError('bad-argument', 'targetInfo is not an AV_PAIR list', { cause: err });
    throw err;
  }
  const ntProofStr = hmacMd5(i.responseKeyNT, i.serverChallenge, temp);
  return {
    ntChallengeResponse: Buffer.concat([ntProofStr, temp]),
    lmChallengeResponse: hasTimestamp ? Buffer.alloc(24) : lmv2Response(i.responseKeyNT, i.serverChallenge, i.clientChallenge),
    ntProofStr,
    sessionBaseKey: hmacMd5(i.responseKeyNT, ntProofStr),
  };
}

/**
 * The server's check of an NTLMv2 NtChallengeResponse (MS-NLMP 3.3.2 run by the server,
 * 3.2.5.1.2): recompute NTProofStr over the response's own `temp` as received and compare in
 * constant time. Returns the SessionBaseKey when it matches, undefined when it does not or when
 * the response is too short to be NTLMv2.
 */
export function checkNtlmV2Response(responseKeyNT: Uint8Array, serverChallenge: Uint8Array, ntChallengeResponse: Uint8Array): Buffer | undefined {
  checkSize(serverChallenge, 8, 'ServerChallenge');
  if (ntChallengeResponse.length < NTLMV2_PROOF_SIZE + NTLMV2_CLIENT_CHALLENGE_FIXED || ntChallengeResponse.length <= NTLMV1_RESPONSE_SIZE) return undefined;
  const proof = ntChallengeResponse.subarray(0, NTLMV2_PROOF_SIZE);
  const expected = hmacMd5(responseKeyNT, serverChallenge, ntChallengeResponse.subarray(NTLMV2_PROOF_SIZE));
  return bytesEqual(expected, proof) ? hmacMd5(responseKeyNT, proof) : undefined;
}

/** KXKEY (MS-NLMP 3.4.5.1) for NTLMv2: the KeyExchangeKey is the SessionBaseKey. */
export function keyExchangeKey(sessionBaseKey: Uint8Array): Buffer {
  checkSize(sessionBaseKey, 16, 'SessionBaseKey');
  return Buffer.from(sessionBaseKey);
}

/** With NTLMSSP_NEGOTIATE_KEY_EXCH: EncryptedRandomSessionKey = RC4K(KeyExchangeKey, ExportedSessionKey) (MS-NLMP 3.1.5.1.2). */
export function encryptRandomSessionKey(keyExchangeKey: Uint8Array, exportedSessionKey: Uint8Array): Buffer {
  checkSize(keyExchangeKey, 16, 'KeyExchangeKey');
  checkSize(exportedSessionKey, 16, 'ExportedSessionKey');
  return rc4(keyExchangeKey, exportedSessionKey);
}

/** The server's side (MS-NLMP 3.2.5.1.2): ExportedSessionKey = RC4K(KeyExchangeKey, EncryptedRandomSessionKey). */
export function decryptRandomSessionKey(keyExchangeKey: Uint8Array, encryptedRandomSessionKey: Uint8Array): Buffer {
  checkSize(keyExchangeKey, 16, 'KeyExchangeKey');
  checkSize(encryptedRandomSessionKey, 16, 'EncryptedRandomSessionKey');
  return rc4(keyExchangeKey, encryptedRandomSessionKey);
}

/**
 * MIC (MS-NLMP 3.1.5.1.2, 3.2.5.1.2): HMAC_MD5(ExportedSessionKey, NEGOTIATE_MESSAGE ||
 * CHALLENGE_MESSAGE || AUTHENTICATE_MESSAGE), the three messages as sent, the last with its MIC
 * field zeroed (`withMicZeroed` in pdu/ntlm.ts).
 */
export function computeMic(exportedSessionKey: Uint8Array, negotiate: Uint8Array, challenge: Uint8Array, authenticateWithMicZeroed: Uint8Array): Buffer {
  checkSize(exportedSessionKey, 16, 'ExportedSessionKey');
  return hmacMd5(exportedSessionKey, negotiate, challenge, authenticateWithMicZeroed);
}

// ---------------------------------------------------------------------------------------------
// channel bindings (MsvAvChannelBindings)

/** The application data prefix of the "tls-server-end-point" channel binding (RFC 5929 4). */
export const TLS_SERVER_END_POINT = 'tls-server-end-point:';

/**
 * MD5 of a gss_channel_bindings_struct (RFC 2744 3.11, as hashed for Kerberos in RFC 4121
 * 4.1.1.2 and for NTLM in MS-NLMP 2.2.2.1/3.1.5.1.2): initiator_addrtype (4),
 * initiator_address.length (4), acceptor_addrtype (4), acceptor_address.length (4),
 * application_data.length (4), each little-endian, then application_data. TLS bindings have no
 * addresses (type 0, length 0), so 16 zero bytes come first.
 */
export function gssChannelBindingsMd5(applicationData: Uint8Array): Buffer {
  const header = Buffer.alloc(20);
  header.writeUInt32LE(applicationData.length, 16);
  return md5(header, applicationData);
}

/**
 * The MsvAvChannelBindings value for a TLS channel: the MD5 of the channel bindings whose
 * application data is "tls-server-end-point:" || `tlsServerEndPointHash` (`tlsServerEndPoint`).
 */
export function channelBindingsHash(tlsServerEndPointHash: Uint8Array): Buffer {
  return gssChannelBindingsMd5(Buffer.concat([Buffer.from(TLS_SERVER_END_POINT, 'latin1'), tlsServerEndPointHash]));
}

/** signatureAlgorithm OIDs whose hash RFC 5929 4.1 keeps (MD5 and SHA-1 are upgraded to SHA-256). */
const END_POINT_HASH: Record<string, 'sha224' | 'sha384' | 'sha512'> = {
  '1.2.840.113549.1.1.14': 'sha224', // sha224WithRSAEncryption
  '1.2.840.10045.4.3.1': 'sha224', // ecdsa-with-SHA224
  '2.16.840.1.101.3.4.3.1': 'sha224', // dsa-with-sha224
  '1.2.840.113549.1.1.12': 'sha384', // sha384WithRSAEncryption
  '1.2.840.10045.4.3.3': 'sha384', // ecdsa-with-SHA384
  '1.2.840.113549.1.1.13': 'sha512', // sha512WithRSAEncryption
  '1.2.840.10045.4.3.4': 'sha512', // ecdsa-with-SHA512
};

/**
 * The hash RFC 5929 4.1 uses for a certificate signed with `signatureAlgorithm`: the
 * signature's hash, except MD5 and SHA-1 become SHA-256. Algorithms without a hash of their own
 * in the OID (RSASSA-PSS, whose hash is in the parameters, Ed25519, anything unknown) get
 * SHA-256, as pyspnego and Windows' most common case do.
 */
export function tlsServerEndPointHashAlgorithm(signatureAlgorithm: string): 'sha224' | 'sha256' | 'sha384' | 'sha512' {
  return END_POINT_HASH[signatureAlgorithm] ?? 'sha256';
}

/** The tls-server-end-point binding value of a DER certificate (RFC 5929 4.1): its hash. */
export function tlsServerEndPoint(certDer: Uint8Array): Buffer {
  const { signatureAlgorithm } = certificateParts(certDer);
  return createHash(tlsServerEndPointHashAlgorithm(signatureAlgorithm)).update(certDer).digest();
}
