import { DecodeError, EncodeError } from './errors.js';
import {
  parseDer,
  readContextFields,
  readInteger32,
  readOctetString,
  readSequence,
  required,
  utf16,
  type DerElement,
  type DerStep,
} from './der.js';
import {
  derEncode,
  derExplicit,
  derInteger,
  derOctetString,
  derSequence,
  type DerValue,
} from './der-write.js';

/**
 * The credentials a CredSSP client delegates to the server (MS-CSSP 2.2.1.2), sealed into
 * TSRequest.authInfo (MS-CSSP 3.1.5, step 5):
 *
 * ```
 * TSCredentials ::= SEQUENCE { credType [0] INTEGER, credentials [1] OCTET STRING }
 * TSPasswordCreds ::= SEQUENCE {                                    -- 2.2.1.2.1
 *   domainName [0] OCTET STRING, userName [1] OCTET STRING, password [2] OCTET STRING }
 * TSSmartCardCreds ::= SEQUENCE {                                   -- 2.2.1.2.2
 *   pin [0] OCTET STRING, cspData [1] TSCspDataDetail,
 *   userHint [2] OCTET STRING OPTIONAL, domainHint [3] OCTET STRING OPTIONAL }
 * TSCspDataDetail ::= SEQUENCE {                                    -- 2.2.1.2.2.1
 *   keySpec [0] INTEGER, cardName [1] OCTET STRING OPTIONAL, readerName [2] OCTET STRING OPTIONAL,
 *   containerName [3] OCTET STRING OPTIONAL, cspName [4] OCTET STRING OPTIONAL }
 * TSRemoteGuardCreds ::= SEQUENCE {                                 -- 2.2.1.2.3
 *   logonCred [0] TSRemoteGuardPackageCred,
 *   supplementalCreds [1] SEQUENCE OF TSRemoteGuardPackageCred OPTIONAL }
 * TSRemoteGuardPackageCred ::= SEQUENCE { packageName [0] OCTET STRING, credBuffer [1] OCTET STRING }
 * ```
 *
 * Text fields are UTF-16LE inside their OCTET STRINGs (the spec says only OCTET STRING; FreeRDP's
 * nla.c and pyspnego write UTF-16LE, Windows strings are UTF-16) and are exposed as JS strings;
 * odd lengths are errors. Secrets (password, PIN) stay bytes, as views into the decoder's input
 * (asn1js parses without copying), so the caller can zero the decrypted authInfo in one place.
 * Encoders never hand a secret to asn1js (whose writer copies buffers we cannot zero): they
 * encode zeros of the secret's length and write the secret into the output afterwards; zero
 * the returned buffer once it is sealed.
 *
 * Strict DER as in der.ts, no unknown fields. One liberty: a TSPasswordCreds that is an empty
 * SEQUENCE (30 00) decodes as the all-empty (restricted admin) credentials, because FreeRDP's
 * nla_write_ts_password_creds writes no fields when it has no identity. Remote Credential Guard
 * credentials are decoded (package names and raw credential buffers) and encoded, not
 * interpreted: their buffers are Kerberos/NTLM package data (MS-CSSP 2.2.1.2.3.1).
 */

export const CRED_TYPE_PASSWORD = 1;
export const CRED_TYPE_SMARTCARD = 2;
export const CRED_TYPE_REMOTE_GUARD = 6;
const CRED_TYPES = [CRED_TYPE_PASSWORD, CRED_TYPE_SMARTCARD, CRED_TYPE_REMOTE_GUARD];

/** TSCredentials (MS-CSSP 2.2.1.2): the type and the DER of the credentials it names. */
export interface TsCredentials {
  /** CRED_TYPE_PASSWORD, CRED_TYPE_SMARTCARD or CRED_TYPE_REMOTE_GUARD */
  credType: number;
  /** the DER of a TSPasswordCreds, TSSmartCardCreds or TSRemoteGuardCreds (secrets inside; decoded: a view into the input) */
  credentials: Uint8Array;
}

/** TSPasswordCreds (MS-CSSP 2.2.1.2.1). */
export interface TsPasswordCreds {
  domainName: string;
  userName: string;
  /** UTF-16LE bytes, no terminator; zero them after use */
  password: Uint8Array;
}

/** TSCspDataDetail (MS-CSSP 2.2.1.2.2.1): where the smart card's key is. */
export interface TsCspDataDetail {
  /** AT_KEYEXCHANGE (1) or AT_SIGNATURE (2) */
  keySpec: number;
  cardName?: string;
  readerName?: string;
  containerName?: string;
  cspName?: string;
}

/** TSSmartCardCreds (MS-CSSP 2.2.1.2.2). */
export interface TsSmartCardCreds {
  /** UTF-16LE bytes; zero them after use */
  pin: Uint8Array;
  cspData: TsCspDataDetail;
  userHint?: string;
  domainHint?: string;
}

/** TSRemoteGuardPackageCred (MS-CSSP 2.2.1.2.3.1). */
export interface TsRemoteGuardPackageCred {
  /** "Kerberos", "NTLM", ... */
  packageName: string;
  /** the package's credential data, uninterpreted */
  credBuffer: Uint8Array;
}

/** TSRemoteGuardCreds (MS-CSSP 2.2.1.2.3). */
export interface TsRemoteGuardCreds {
  logonCred: TsRemoteGuardPackageCred;
  supplementalCreds?: TsRemoteGuardPackageCred[];
}

// ---------------------------------------------------------------------------------------------
// decode

/** Names DER-layer errors after the top-level field [n] of `pdu`. */
function namer(root: string, names: readonly string[]): (path: readonly DerStep[]) => string {
  return (path) => {
    const top = path[1];
    if (!top) return root;
    return names[top.tag] ?? `[${top.tag}]`;
  };
}

/** Parse a SEQUENCE of EXPLICIT context fields named `names`. */
function fieldsOf(bytes: Uint8Array, pdu: string, names: readonly string[]): { seq: DerElement; f: (DerElement | undefined)[] } {
  const seq = parseDer(bytes, pdu, namer('SEQUENCE', names));
  readSequence(seq, pdu, 'SEQUENCE');
  return { seq, f: readContextFields(seq, pdu, names).fields };
}

function text(el: DerElement | undefined, pdu: string, field: string): string | undefined {
  return el && utf16(readOctetString(el, pdu, field), el, pdu, field);
}

/** Decode a TSCredentials (MS-CSSP 2.2.1.2); credType must be 1, 2 or 6. */
export function decodeTsCredentials(bytes: Uint8Array): TsCredentials {
  const pdu = 'TSCredentials';
  const { seq, f } = fieldsOf(bytes, pdu, ['credType', 'credentials']);
  const typeEl = required(f[0], seq, pdu, 'credType', 0);
  const credType = readInteger32(typeEl, pdu, 'credType');
  if (!CRED_TYPES.includes(credType)) {
    throw new DecodeError('InvalidField', pdu, 'credType', typeEl.offset, `credType ${credType} is not 1, 2 or 6 (MS-CSSP 2.2.1.2)`);
  }
  return { credType, credentials: readOctetString(required(f[1], seq, pdu, 'credentials', 1), pdu, 'credentials') };
}

/** Decode a TSPasswordCreds (MS-CSSP 2.2.1.2.1); an empty SEQUENCE is the all-empty one. */
export function decodeTsPasswordCreds(bytes: Uint8Array): TsPasswordCreds {
  const pdu = 'TSPasswordCreds';
  const { seq, f } = fieldsOf(bytes, pdu, ['domainName', 'userName', 'password']);
  if (seq.children.length === 0) return { domainName: '', userName: '', password: new Uint8Array(0) };
  const password = readOctetString(required(f[2], seq, pdu, 'password', 2), pdu, 'password');
  if (password.length % 2 !== 0) throw new DecodeError('InvalidField', pdu, 'password', f[2]!.offset, `odd length ${password.length} for UTF-16LE text`);
  return {
    domainName: text(required(f[0], seq, pdu, 'domainName', 0), pdu, 'domainName')!,
    userName: text(required(f[1], seq, pdu, 'userName', 1), pdu, 'userName')!,
    password,
  };
}

/** Decode a TSSmartCardCreds with its TSCspDataDetail (MS-CSSP 2.2.1.2.2). */
export function decodeTsSmartCardCreds(bytes: Uint8Array): TsSmartCardCreds {
  const pdu = 'TSSmartCardCreds';
  const { seq, f } = fieldsOf(bytes, pdu, ['pin', 'cspData', 'userHint', 'domainHint']);
  const pin = readOctetString(required(f[0], seq, pdu, 'pin', 0), pdu, 'pin');
  const csp = required(f[1], seq, pdu, 'cspData', 1);
  readSequence(csp, pdu, 'cspData');
  const c = readContextFields(csp, pdu, ['cspData.keySpec', 'cspData.cardName', 'cspData.readerName', 'cspData.containerName', 'cspData.cspName']).fields;
  const cspData: TsCspDataDetail = { keySpec: readInteger32(required(c[0], csp, pdu, 'cspData.keySpec', 0), pdu, 'cspData.keySpec') };
  const names = ['keySpec', 'cardName', 'readerName', 'containerName', 'cspName'] as const;
  for (let i = 1; i < names.length; i++) {
    const v = text(c[i], pdu, `cspData.${names[i]}`);
    if (v !== undefined) cspData[names[i] as Exclude<(typeof names)[number], 'keySpec'>] = v;
  }
  const out: TsSmartCardCreds = { pin, cspData };
  const userHint = text(f[2], pdu, 'userHint');
  const domainHint = text(f[3], pdu, 'domainHint');
  if (userHint !== undefined) out.userHint = userHint;
  if (domainHint !== undefined) out.domainHint = domainHint;
  return out;
}

function packageCred(el: DerElement, pdu: string, field: string): TsRemoteGuardPackageCred {
  readSequence(el, pdu, field);
  const f = readContextFields(el, pdu, [`${field}.packageName`, `${field}.credBuffer`]).fields;
  return {
    packageName: text(required(f[0], el, pdu, `${field}.packageName`, 0), pdu, `${field}.packageName`)!,
    credBuffer: readOctetString(required(f[1], el, pdu, `${field}.credBuffer`, 1), pdu, `${field}.credBuffer`),
  };
}

/** Decode a TSRemoteGuardCreds (MS-CSSP 2.2.1.2.3): package names and raw credential buffers. */
export function decodeTsRemoteGuardCreds(bytes: Uint8Array): TsRemoteGuardCreds {
  const pdu = 'TSRemoteGuardCreds';
  const { seq, f } = fieldsOf(bytes, pdu, ['logonCred', 'supplementalCreds']);
  const out: TsRemoteGuardCreds = { logonCred: packageCred(required(f[0], seq, pdu, 'logonCred', 0), pdu, 'logonCred') };
  if (f[1]) out.supplementalCreds = readSequence(f[1], pdu, 'supplementalCreds').map((el, i) => packageCred(el, pdu, `supplementalCreds[${i}]`));
  return out;
}

// ---------------------------------------------------------------------------------------------
// encode

function utf16Bytes(s: string): Buffer {
  return Buffer.from(s, 'utf16le');
}

/**
 * Encode with the secret replaced by zeros of its length, then write the secret into the
 * output where `pick` finds its OCTET STRING: asn1js (whose writer copies) never holds it.
 */
function withSecret(secret: Uint8Array, build: (placeholder: Uint8Array) => DerValue, pick: (root: DerElement) => DerElement, pdu: string): Buffer {
  const out = derEncode(build(new Uint8Array(secret.length)), pdu);
  pick(parseDer(out, pdu, () => pdu)).contents.set(secret);
  return out;
}

/** The OCTET STRING inside the [n] that is child `i` of a SEQUENCE. */
const nth = (i: number) => (root: DerElement): DerElement => root.children[i]!.children[0]!;

/** Encode a TSCredentials (MS-CSSP 2.2.1.2); `credentials` is handled as a secret. */
export function encodeTsCredentials(v: TsCredentials): Buffer {
  const pdu = 'TSCredentials';
  if (!CRED_TYPES.includes(v.credType)) throw new EncodeError(pdu, 'credType', `${v.credType} is not 1, 2 or 6`);
  const build = (c: Uint8Array): DerValue => derSequence([derExplicit(0, derInteger(v.credType, pdu, 'credType')), derExplicit(1, derOctetString(c))]);
  return withSecret(v.credentials, build, nth(1), pdu);
}

/** Encode a TSPasswordCreds (MS-CSSP 2.2.1.2.1); the password is handled as a secret. */
export function encodeTsPasswordCreds(v: TsPasswordCreds): Buffer {
  const pdu = 'TSPasswordCreds';
  if (v.password.length % 2 !== 0) throw new EncodeError(pdu, 'password', 'UTF-16LE bytes must be of even length');
  const head = [derExplicit(0, derOctetString(utf16Bytes(v.domainName))), derExplicit(1, derOctetString(utf16Bytes(v.userName)))];
  return withSecret(v.password, (p) => derSequence([...head, derExplicit(2, derOctetString(p))]), nth(2), pdu);
}

/** A TSCredentials of type password around `v` (what the client seals into authInfo). */
export function encodePasswordCredentials(v: TsPasswordCreds): Buffer {
  const inner = encodeTsPasswordCreds(v);
  try {
    return encodeTsCredentials({ credType: CRED_TYPE_PASSWORD, credentials: inner });
  } finally {
    inner.fill(0);
  }
}

/** Encode a TSSmartCardCreds (MS-CSSP 2.2.1.2.2); the PIN is handled as a secret. */
export function encodeTsSmartCardCreds(v: TsSmartCardCreds): Buffer {
  const pdu = 'TSSmartCardCreds';
  const c = v.cspData;
  const csp: DerValue[] = [derExplicit(0, derInteger(c.keySpec, pdu, 'cspData.keySpec'))];
  [c.cardName, c.readerName, c.containerName, c.cspName].forEach((s, i) => {
    if (s !== undefined) csp.push(derExplicit(i + 1, derOctetString(utf16Bytes(s))));
  });
  const rest = [derExplicit(1, derSequence(csp))];
  if (v.userHint !== undefined) rest.push(derExplicit(2, derOctetString(utf16Bytes(v.userHint))));
  if (v.domainHint !== undefined) rest.push(derExplicit(3, derOctetString(utf16Bytes(v.domainHint))));
  return withSecret(v.pin, (p) => derSequence([derExplicit(0, derOctetString(p)), ...rest]), nth(0), pdu);
}

function packageCredValue(p: TsRemoteGuardPackageCred): DerValue {
  return derSequence([derExplicit(0, derOctetString(utf16Bytes(p.packageName))), derExplicit(1, derOctetString(p.credBuffer))]);
}

/** Encode a TSRemoteGuardCreds (MS-CSSP 2.2.1.2.3). */
export function encodeTsRemoteGuardCreds(v: TsRemoteGuardCreds): Buffer {
  const fields = [derExplicit(0, packageCredValue(v.logonCred))];
  if (v.supplementalCreds) fields.push(derExplicit(1, derSequence(v.supplementalCreds.map(packageCredValue))));
  return derEncode(derSequence(fields), 'TSRemoteGuardCreds');
}

// ---------------------------------------------------------------------------------------------
// restricted admin

/**
 * Restricted admin mode (MS-RDPBCGR 2.2.1.1.1 RESTRICTED_ADMIN_MODE_REQUIRED, MS-CSSP 3.1.5):
 * the client proves who it is with SPNEGO but delegates no credentials, sending a
 * TSPasswordCreds whose three fields are empty. Given TSCredentials, its credentials are decoded
 * (a DecodeError if they are not a TSPasswordCreds); any other credType is not restricted admin.
 */
export function isRestrictedAdminCredentials(creds: TsPasswordCreds | TsCredentials): boolean {
  if ('credType' in creds) {
    if (creds.credType !== CRED_TYPE_PASSWORD) return false;
    return isRestrictedAdminCredentials(decodeTsPasswordCreds(creds.credentials));
  }
  return creds.domainName === '' && creds.userName === '' && creds.password.length === 0;
}

/**
 * The TSCredentials a restricted admin client sends: credType 1 around a TSPasswordCreds of
 * three empty OCTET STRINGs, as FreeRDP writes it (30 17 a0 03 02 01 01 a1 10 04 0e 30 0c
 * a0 02 04 00 a1 02 04 00 a2 02 04 00).
 */
export function encodeRestrictedAdminCredentials(): Buffer {
  return encodePasswordCredentials({ domainName: '', userName: '', password: new Uint8Array(0) });
}
