import { pubKeyAuthMatches, pubKeyAuthPlaintext, CREDSSP_FIRST_HASHED_VERSION, CREDSSP_NONCE_SIZE } from '../crypto/credssp-binding.js';
import { NtlmError, NtlmServer, type NtlmServerOptions } from '../crypto/ntlm-context.js';
import { decodeTsRequest, encodeTsRequest, type TsRequest } from '../pdu/credssp.js';
import {
  CRED_TYPE_PASSWORD,
  CRED_TYPE_REMOTE_GUARD,
  CRED_TYPE_SMARTCARD,
  decodeTsCredentials,
  decodeTsPasswordCreds,
  isRestrictedAdminCredentials,
} from '../pdu/credssp-credentials.js';
import { DecodeError } from '../pdu/errors.js';
import { NTSTATUS, ntStatusName } from '../pdu/ntstatus.js';
import {
  classifyNegoToken,
  decodeNegTokenInit,
  decodeNegTokenResp,
  encodeNegTokenResp,
  NEG_STATE_ACCEPT_COMPLETED,
  NEG_STATE_ACCEPT_INCOMPLETE,
  NTLMSSP_OID,
} from '../pdu/spnego.js';

/**
 * The server side of CredSSP (MS-CSSP 3.2.5), sans-IO: TSRequests in, TSRequests out, with NTLM
 * (MS-NLMP) as the security package, raw or inside SPNEGO (RFC 4178) as the client chooses.
 *
 * 1. the client's NEGOTIATE -> our CHALLENGE;
 * 2. the client's AUTHENTICATE with pubKeyAuth (and clientNonce from version 5) -> the logon is
 *    checked against the user directory, then the pubKeyAuth against our TLS key; we answer
 *    with our own pubKeyAuth;
 * 3. the client's authInfo (sealed TSCredentials) -> done.
 *
 * With SPNEGO the client's AUTHENTICATE comes in a NegTokenResp that may carry a mechListMIC:
 * an NTLM signature (MS-NLMP 3.4.4.2, `NtlmServer.verify`) over the MechTypeList of its
 * NegTokenInit as received (RFC 4178 5). We verify it, re-key the incoming RC4 handle (MS-SPNG
 * 3.3.5.1; the sequence number goes on, so pubKeyAuth is the client's message 1), then unseal
 * pubKeyAuth; our answer carries a NegTokenResp { accept-completed, mechListMIC: our signature
 * over the same bytes } (signed before our pubKeyAuth is sealed, then the outgoing handle is
 * re-keyed) next to pubKeyAuth, as pyspnego's CredSSP acceptor answers.
 * - A mechListMIC that does not verify is refused with SEC_E_MESSAGE_ALTERED (0x8009030F):
 *   what pyspnego's BadMICError carries as its nt_status and what FreeRDP 3's NTLM
 *   VerifySignature returns; what Windows puts in errorCode here is not verified.
 * - No mechListMIC although the AUTHENTICATE carried an NTLM MIC (MsvAvFlags 0x2) is refused
 *   with SEC_E_INVALID_TOKEN (0x80090308): MS-SPNG's appendix A says that when NTLM is the
 *   most preferred mechanism of both sides and the AUTHENTICATE includes a MIC, "the
 *   mechListMIC field becomes mandatory in order for the authentication to succeed" (quoted by
 *   MIT krb5's RT ticket on SPNEGO/NTLMSSP interop); SEC_E_INVALID_TOKEN is FreeRDP 3's answer
 *   (negotiate.c) to a final token without a required mechListMIC. pyspnego's acceptor,
 *   which always wants one after NTLM, answers accept-incomplete with its own mechListMIC and
 *   waits; CredSSP has no further round for it (pubKeyAuth already came).
 * - Neither an NTLM MIC nor a mechListMIC: RFC 4178 5 leaves the MIC optional when NTLM is
 *   both sides' first choice; we answer accept-completed without one, as FreeRDP 3 does.
 *
 * Which versions the server speaks and whether it refuses clients older than the CVE-2018-0886
 * fix come from the policy (`CredsspServerSettings`); how a failed logon is answered too:
 * Windows (and FreeRDP 3) put the NTSTATUS in a TSRequest.errorCode for client versions 3, 4
 * and 6 and not for 2 and 5 (fact sheet section 4, "errorCode"); FreeRDP 2.11's server sends
 * nothing and closes TLS (capture shadow-nla--xfreerdp-badpw).
 */
export interface CredsspServerSettings {
  /** the TSRequest.version we send: the highest we speak (6 patched, 2-4 before the 2018 fix) */
  version: number;
  /**
   * AllowEncryptionOracle=0 "Force Updated Clients" on a patched server: a client below
   * version 5 is refused. Unconfirmed on the wire without a Windows host: we end the exchange
   * after the client's pubKeyAuth, with SEC_E_UNSUPPORTED_FUNCTION in errorCode when the
   * client's version carries one.
   */
  refuseLegacyClients: boolean;
  failureReply: 'error-code' | 'close';
  /** restricted admin mode (empty TSPasswordCreds) accepted (DisableRestrictedAdmin=0) */
  restrictedAdmin: boolean;
  /** redirected authentication (Remote Credential Guard, TSRemoteGuardCreds) accepted */
  redirectedAuthentication: boolean;
  /** the NTLM names and version in our CHALLENGE (what nmap's rdp-ntlm-info prints) */
  ntlm: Pick<NtlmServerOptions, 'targetInfo' | 'version'>;
}

/** What the server knows of an account: its NT hash and how its logon ends once the password checks. */
export interface CredsspAccount {
  ntHash: Uint8Array;
  /** STATUS_SUCCESS, or STATUS_ACCOUNT_LOCKED_OUT, STATUS_PASSWORD_EXPIRED ... */
  status: number;
}

export type CredsspAccountLookup = (user: string, domain: string) => CredsspAccount | undefined;

export interface CredsspServerContext {
  settings: CredsspServerSettings;
  accounts: CredsspAccountLookup;
  /** our TLS certificate's subjectPublicKey (transport/tls-info.ts serverPublicKey) */
  publicKey: Uint8Array;
  /** the client asked for restricted admin mode in its RDP_NEG_REQ (RESTRICTED_ADMIN_MODE_REQUIRED) */
  restrictedAdminRequested: boolean;
  /** ... and REDIRECTED_AUTHENTICATION_MODE_REQUIRED (Remote Credential Guard) */
  redirectedAuthenticationRequested: boolean;
  random?: (n: number) => Buffer;
  now?: () => bigint;
}

export type CredsspServerResult =
  | {
      ok: true;
      user: string;
      domain: string;
      workstation: string;
      clientVersion: number;
      /** what the authInfo carried */
      credentials: 'password' | 'restricted-admin' | 'smartcard' | 'remote-guard';
      spnego: boolean;
    }
  | { ok: false; reason: string; status?: number; clientVersion?: number; user?: string; domain?: string };

export interface CredsspServerStep {
  output: Buffer[];
  /** a one-line account of what the input was and what we answered, for the acceptor's events */
  notes: string[];
  result?: CredsspServerResult;
}

type State = 'WaitNegotiate' | 'WaitAuthenticate' | 'WaitCredentials' | 'Done';

/** Client versions that carry TSRequest.errorCode (3, 4, 6 and later; not 2, not 5). */
function carriesErrorCode(version: number): boolean {
  return version >= 3 && version !== 5;
}

export class CredsspServer {
  private state: State = 'WaitNegotiate';
  private readonly ntlm: NtlmServer;
  private clientVersion = 0;
  private spnego = false;
  /** SPNEGO: the MechTypeList of the client's NegTokenInit as received, and its mechListMIC */
  private mechTypeList?: Uint8Array;
  private clientMechListMic?: Uint8Array;
  private nonce?: Uint8Array;
  private logon?: { user: string; domain: string; workstation: string };
  /** what the client's first message says about it (for the log and the client fingerprint) */
  client?: { credsspVersion: number; spnego: boolean; negotiateFlags: number; ntlmVersion?: string };

  constructor(private readonly ctx: CredsspServerContext) {
    this.ntlm = new NtlmServer({
      ...ctx.settings.ntlm,
      ...(ctx.random ? { random: ctx.random } : {}),
      ...(ctx.now ? { now: ctx.now } : {}),
    });
  }

  get done(): boolean {
    return this.state === 'Done';
  }

  /** The version both sides use from here on: the lower of the two (MS-CSSP 3.1.5). */
  get negotiatedVersion(): number {
    return Math.min(this.clientVersion, this.ctx.settings.version);
  }

  step(input: Uint8Array): CredsspServerStep {
    const s: CredsspServerStep = { output: [], notes: [] };
    if (this.state === 'Done') return s;
    try {
      const ts = decodeTsRequest(input);
      this.onRequest(ts, s);
    } catch (err) {
      if (err instanceof DecodeError || err instanceof NtlmError) {
        this.fail(s, `${this.state}: ${err.message}`);
      } else if (err instanceof CredsspRefusal) {
        this.fail(s, err.message, err.status);
      } else {
        throw err;
      }
    }
    return s;
  }

  private onRequest(ts: TsRequest, s: CredsspServerStep): void {
    switch (this.state) {
      case 'WaitNegotiate': {
        // the client's version is fixed by its first TSRequest; FreeRDP aborts on a change
        this.clientVersion = ts.version;
        const challenge = this.ntlm.challenge(this.innerToken(ts, true));
        const neg = this.ntlm.negotiateMessage!;
        this.client = {
          credsspVersion: ts.version,
          spnego: this.spnego,
          negotiateFlags: neg.flags,
          ...(neg.version ? { ntlmVersion: `${neg.version.major}.${neg.version.minor}.${neg.version.build}` } : {}),
        };
        s.notes.push(`client CredSSP version ${ts.version}${this.spnego ? ' (SPNEGO)' : ''}: NTLM NEGOTIATE -> CHALLENGE, our version ${this.ctx.settings.version}`);
        this.send(s, { negoTokens: [this.wrapToken(challenge)] });
        this.state = 'WaitAuthenticate';
        return;
      }
      case 'WaitAuthenticate':
        return this.onAuthenticate(ts, s);
      case 'WaitCredentials':
        return this.onCredentials(ts, s);
    }
  }

  private onAuthenticate(ts: TsRequest, s: CredsspServerStep): void {
    this.checkVersion(ts);
    const token = this.innerToken(ts, false);
    let account: CredsspAccount | undefined;
    const r = this.ntlm.authenticate(token, (user, domain) => (account = this.ctx.accounts(user, domain))?.ntHash);
    if (!r.ok) {
      throw new CredsspRefusal(`logon of ${quoteUser(r.user, r.domain)} failed: ${r.reason}`, r.status);
    }
    this.logon = { user: r.user, domain: r.domain, workstation: r.workstation };
    if (account && account.status !== NTSTATUS.STATUS_SUCCESS) {
      // Windows checks the password first, then the account's state (MS-APDS 3.1.5)
      throw new CredsspRefusal(`logon of ${quoteUser(r.user, r.domain)}: password right, account state ${ntStatusName(account.status)}`, account.status);
    }
    s.notes.push(`NTLM AUTHENTICATE: ${quoteUser(r.user, r.domain)} from "${r.workstation}" authenticated`);
    if (this.spnego) this.checkMechListMic(s);
    const version = this.negotiatedVersion;
    if (this.clientVersion < CREDSSP_FIRST_HASHED_VERSION && this.ctx.settings.refuseLegacyClients) {
      throw new CredsspRefusal(
        `client speaks CredSSP version ${this.clientVersion}, without the CVE-2018-0886 fix; AllowEncryptionOracle=0 (Force Updated Clients) refuses it`,
        NTSTATUS.SEC_E_UNSUPPORTED_FUNCTION,
      );
    }
    if (!ts.pubKeyAuth) throw new CredsspRefusal('the AUTHENTICATE came without pubKeyAuth', NTSTATUS.STATUS_LOGON_FAILURE);
    if (version >= CREDSSP_FIRST_HASHED_VERSION) {
      if (!ts.clientNonce || ts.clientNonce.length !== CREDSSP_NONCE_SIZE) {
        throw new CredsspRefusal(`CredSSP version ${version} without a ${CREDSSP_NONCE_SIZE}-byte clientNonce`, NTSTATUS.STATUS_LOGON_FAILURE);
      }
      this.nonce = Buffer.from(ts.clientNonce);
    }
    const plain = this.ntlm.unseal(ts.pubKeyAuth);
    if (!pubKeyAuthMatches(plain, 'client-to-server', version, this.ctx.publicKey, this.nonce)) {
      // the man-in-the-middle check of MS-CSSP 3.1.5: the client saw another TLS key than ours
      throw new CredsspRefusal('pubKeyAuth does not match our TLS public key (a man in the middle, or a broken client)', NTSTATUS.STATUS_LOGON_FAILURE);
    }
    s.notes.push(`pubKeyAuth checked (version ${version} ${version >= CREDSSP_FIRST_HASHED_VERSION ? 'nonce and hash' : 'public key'} binding)`);
    // our mechListMIC first: it takes the server-to-client sequence number 0
    const negoTokens = this.spnego ? [this.finalSpnegoToken(s)] : undefined;
    const answer = this.ntlm.seal(pubKeyAuthPlaintext('server-to-client', version, this.ctx.publicKey, this.nonce));
    this.send(s, { ...(negoTokens ? { negoTokens } : {}), pubKeyAuth: answer });
    this.state = 'WaitCredentials';
  }

  private onCredentials(ts: TsRequest, s: CredsspServerStep): void {
    this.checkVersion(ts);
    if (!ts.authInfo) throw new CredsspRefusal('expected authInfo (the sealed TSCredentials)', NTSTATUS.STATUS_LOGON_FAILURE);
    const plain = this.ntlm.unseal(ts.authInfo);
    let kind: 'password' | 'restricted-admin' | 'smartcard' | 'remote-guard';
    try {
      const creds = decodeTsCredentials(plain);
      if (creds.credType === CRED_TYPE_PASSWORD) {
        const pw = decodeTsPasswordCreds(creds.credentials);
        kind = isRestrictedAdminCredentials(pw) ? 'restricted-admin' : 'password';
        pw.password.fill(0);
      } else if (creds.credType === CRED_TYPE_SMARTCARD) kind = 'smartcard';
      else if (creds.credType === CRED_TYPE_REMOTE_GUARD) kind = 'remote-guard';
      else throw new CredsspRefusal(`TSCredentials.credType ${creds.credType} is not one MS-CSSP defines`, NTSTATUS.STATUS_LOGON_FAILURE);
    } finally {
      plain.fill(0);
    }
    if (kind === 'restricted-admin') {
      if (!this.ctx.settings.restrictedAdmin) throw new CredsspRefusal('restricted admin mode (empty credentials), which this server does not allow', NTSTATUS.STATUS_LOGON_FAILURE);
      if (!this.ctx.restrictedAdminRequested) throw new CredsspRefusal('empty credentials without RESTRICTED_ADMIN_MODE_REQUIRED in the RDP_NEG_REQ', NTSTATUS.STATUS_LOGON_FAILURE);
    }
    if (kind === 'remote-guard') {
      // MS-RDPBCGR 2.2.1.1.1: only after REDIRECTED_AUTHENTICATION_MODE_REQUIRED, and only if we said we support it
      if (!this.ctx.settings.redirectedAuthentication) throw new CredsspRefusal('Remote Credential Guard credentials (TSRemoteGuardCreds), which this server does not allow', NTSTATUS.STATUS_LOGON_FAILURE);
      if (!this.ctx.redirectedAuthenticationRequested) throw new CredsspRefusal('TSRemoteGuardCreds without REDIRECTED_AUTHENTICATION_MODE_REQUIRED in the RDP_NEG_REQ', NTSTATUS.STATUS_LOGON_FAILURE);
    }
    s.notes.push(`authInfo: ${kind} credentials`);
    this.state = 'Done';
    const l = this.logon!;
    s.result = { ok: true, ...l, clientVersion: this.clientVersion, credentials: kind, spnego: this.spnego };
  }

  private checkVersion(ts: TsRequest): void {
    if (ts.version !== this.clientVersion) {
      throw new CredsspRefusal(`the client changed its CredSSP version from ${this.clientVersion} to ${ts.version}`);
    }
    if (ts.errorCode !== undefined) throw new CredsspRefusal(`the client ended the exchange with errorCode ${ntStatusName(ts.errorCode)}`);
  }

  /** The NTLM message in negoTokens[0], unwrapped from SPNEGO when the client used it. */
  private innerToken(ts: TsRequest, first: boolean): Uint8Array {
    const token = ts.negoTokens?.[0];
    if (!token) throw new CredsspRefusal(`expected a negoToken (NTLM ${first ? 'NEGOTIATE' : 'AUTHENTICATE'})`, NTSTATUS.STATUS_LOGON_FAILURE);
    const kind = classifyNegoToken(token);
    if (first) this.spnego = kind === 'spnego-init';
    if (kind === 'ntlm' && !this.spnego) return token;
    if (first && kind === 'spnego-init') {
      const init = decodeNegTokenInit(token);
      if (!init.mechTypes.includes(NTLMSSP_OID)) throw new CredsspRefusal(`SPNEGO offers no NTLM (${init.mechTypes.join(', ')}); only NTLM is implemented`, NTSTATUS.STATUS_LOGON_FAILURE);
      if (!init.mechToken || init.mechTypes[0] !== NTLMSSP_OID) {
        throw new CredsspRefusal('SPNEGO without an optimistic NTLM token is not implemented', NTSTATUS.STATUS_LOGON_FAILURE);
      }
      this.mechTypeList = init.mechTypeListBytes;
      return init.mechToken;
    }
    if (!first && this.spnego && kind === 'spnego-resp') {
      const resp = decodeNegTokenResp(token);
      if (!resp.responseToken) throw new CredsspRefusal('SPNEGO NegTokenResp without a responseToken', NTSTATUS.STATUS_LOGON_FAILURE);
      if (resp.mechListMIC) this.clientMechListMic = resp.mechListMIC;
      return resp.responseToken;
    }
    throw new CredsspRefusal(`unexpected negoToken (${kind}${this.spnego ? ', SPNEGO' : ''})`, NTSTATUS.STATUS_LOGON_FAILURE);
  }

  /**
   * The client's mechListMIC (see the module comment), once the AUTHENTICATE has verified: it
   * must sign the MechTypeList it sent; then the incoming RC4 handle starts again.
   */
  private checkMechListMic(s: CredsspServerStep): void {
    const mic = this.clientMechListMic;
    if (!mic) {
      if (this.ntlm.micPresent) {
        throw new CredsspRefusal('SPNEGO without a mechListMIC although the NTLM AUTHENTICATE carries a MIC (MS-SPNG makes it mandatory)', NTSTATUS.SEC_E_INVALID_TOKEN);
      }
      return;
    }
    try {
      this.ntlm.verify(this.mechTypeList!, mic);
    } catch (err) {
      if (err instanceof NtlmError) throw new CredsspRefusal(`the client's SPNEGO mechListMIC does not verify (${err.kind})`, NTSTATUS.SEC_E_MESSAGE_ALTERED);
      throw err;
    }
    this.ntlm.resetRc4('incoming');
    s.notes.push('SPNEGO mechListMIC of the client verified');
  }

  /** Our last SPNEGO token: accept-completed, with our mechListMIC when the client sent one (RFC 4178 5 (c)). */
  private finalSpnegoToken(s: CredsspServerStep): Buffer {
    if (!this.clientMechListMic) return encodeNegTokenResp({ negState: NEG_STATE_ACCEPT_COMPLETED });
    const mechListMIC = this.ntlm.sign(this.mechTypeList!);
    this.ntlm.resetRc4('outgoing');
    s.notes.push('SPNEGO accept-completed with our mechListMIC');
    return encodeNegTokenResp({ negState: NEG_STATE_ACCEPT_COMPLETED, mechListMIC });
  }

  /** Our CHALLENGE, raw or in a NegTokenResp (RFC 4178 4.2.2: accept-incomplete, NTLM chosen). */
  private wrapToken(token: Buffer): Buffer {
    if (!this.spnego) return token;
    return encodeNegTokenResp({ negState: NEG_STATE_ACCEPT_INCOMPLETE, supportedMech: NTLMSSP_OID, responseToken: token });
  }

  private send(s: CredsspServerStep, fields: Omit<TsRequest, 'version'>): void {
    s.output.push(encodeTsRequest({ version: this.ctx.settings.version, ...fields }));
  }

  private fail(s: CredsspServerStep, reason: string, status?: number): void {
    const v = this.clientVersion;
    if (status !== undefined && v !== 0 && this.ctx.settings.failureReply === 'error-code' && carriesErrorCode(v)) {
      this.send(s, { errorCode: status });
      s.notes.push(`sent errorCode ${ntStatusName(status)}`);
    }
    this.state = 'Done';
    s.result = {
      ok: false,
      reason,
      ...(status !== undefined ? { status } : {}),
      ...(v ? { clientVersion: v } : {}),
      ...(this.logon ? { user: this.logon.user, domain: this.logon.domain } : {}),
    };
  }
}

class CredsspRefusal extends Error {
  constructor(message: string, readonly status?: number) {
    super(message);
  }
}

/** DOMAIN\user for logs, escaped: a user name is client input. */
function quoteUser(user?: string, domain?: string): string {
  return JSON.stringify(domain ? `${domain}\\${user ?? ''}` : user ?? '');
}
