import { randomBytes } from 'node:crypto';
import { CREDSSP_FIRST_HASHED_VERSION, CREDSSP_NONCE_SIZE, pubKeyAuthMatches, pubKeyAuthPlaintext } from '../crypto/credssp-binding.js';
import { DEFAULT_NTLM_VERSION, NtlmClient, XFREERDP_NEGOTIATE_FLAGS, type NtlmCredentials } from '../crypto/ntlm-context.js';
import { decodeTsRequest, encodeTsRequest, type TsRequest } from '../pdu/credssp.js';
import {
  CRED_TYPE_REMOTE_GUARD,
  encodePasswordCredentials,
  encodeRestrictedAdminCredentials,
  encodeTsCredentials,
  encodeTsRemoteGuardCreds,
} from '../pdu/credssp-credentials.js';
import { NTSTATUS, ntStatusName } from '../pdu/ntstatus.js';
import {
  NTLM_CHALLENGE,
  decodeChallengeMessage,
  encodeNegotiateMessage,
  ntlmMessageType,
  type ChallengeMessage,
} from '../pdu/ntlm.js';
import {
  NEG_STATE_ACCEPT_COMPLETED,
  NEG_STATE_ACCEPT_INCOMPLETE,
  NEG_STATE_REQUEST_MIC,
  NTLMSSP_OID,
  classifyNegoToken,
  decodeNegTokenResp,
  encodeMechTypeList,
  encodeNegTokenInit,
  encodeNegTokenResp,
} from '../pdu/spnego.js';
import { NtlmError } from '../crypto/ntlm-error.js';
import { ConnectorError } from './errors.js';

/**
 * The client side of CredSSP (MS-CSSP 3.1.5), sans-IO, with raw NTLM in negoTokens as mstsc,
 * FreeRDP 2 and impacket send it:
 *
 * 1. TSRequest { negoTokens: NEGOTIATE } -> the server's CHALLENGE (and its version);
 * 2. TSRequest { negoTokens: AUTHENTICATE, pubKeyAuth, clientNonce (v5+) } -> the server's
 *    pubKeyAuth, which must bind the same TLS key (the man-in-the-middle check), or an
 *    errorCode (a failed logon: STATUS_LOGON_FAILURE ...);
 * 3. TSRequest { authInfo: sealed TSCredentials } (the password, or the empty credentials of
 *    restricted admin mode); the server says nothing more (HYBRID_EX: the Early User
 *    Authorization Result follows, read by the connector).
 *
 * Without credentials the machine stops after step 1 (what probe asks by default).
 *
 * With `spnego` the NTLM messages travel in SPNEGO (RFC 4178), as mstsc and FreeRDP 3 send
 * them: the NEGOTIATE in a NegTokenInit { mechTypes: [NTLM], mechToken }, the CHALLENGE back in
 * a NegTokenResp, the AUTHENTICATE in a NegTokenResp { responseToken, mechListMIC }. Our
 * AUTHENTICATE always carries an NTLM MIC, which makes the mechListMIC exchange mandatory
 * (MS-SPNG appendix A): we sign the MechTypeList we sent (`NtlmClient.sign`, sequence number
 * 0), re-key the outgoing RC4 handle (MS-SPNG 3.3.5.1), then seal pubKeyAuth (sequence 1) and
 * later authInfo (2); the server's answer must carry a NegTokenResp with its own mechListMIC,
 * which we verify (then re-key the incoming handle) before unsealing its pubKeyAuth. A missing
 * or bad one is CREDSSP_ERROR. See crypto/ntlm-seal.ts for why the sequence numbers go on.
 *
 * The CVE-2018-0886 client policy (AllowEncryptionOracle on the client, KB4295591): a patched
 * client (version 5 or 6) that meets a server answering with a version below 5 goes on only
 * with 2 "Vulnerable"; with 0 "Force Updated Clients" or 1 "Mitigated" it stops with
 * SEC_E_UNSUPPORTED_FUNCTION, "An authentication error has occurred. The function requested is
 * not supported ... CredSSP encryption oracle remediation".
 */
export interface CredsspClientConfig {
  /** the TSRequest.version we send: 6 patched (default), 2, 3 or 4 as a client before March 2018 */
  version?: number;
  /** the client's AllowEncryptionOracle (default 1, Mitigated, the default since May 2018) */
  allowEncryptionOracle?: 0 | 1 | 2;
  /** wrap NTLM in SPNEGO (mstsc, FreeRDP 3); default raw NTLM (FreeRDP 2, impacket, nmap) */
  spnego?: boolean;
  /** absent: stop after the server's CHALLENGE */
  credentials?: CredsspCredentials;
  random?: (n: number) => Buffer;
  now?: () => bigint;
}

export interface CredsspCredentials extends NtlmCredentials {
  /**
   * The password as UTF-16LE bytes, delegated in TSPasswordCreds (MS-CSSP 2.2.1.2.1). Zeroed
   * once sealed. Absent with `restrictedAdmin`.
   */
  password?: Uint8Array;
  /** send the empty credentials of restricted admin mode instead of the password */
  restrictedAdmin?: boolean;
  /**
   * send TSRemoteGuardCreds (Remote Credential Guard, MS-CSSP 2.2.1.2.3) instead: the logon
   * credential of a package (Kerberos in practice), passed through as given
   */
  remoteGuard?: { packageName: string; credBuffer: Uint8Array };
}

export interface CredsspClientOutcome {
  clientVersion: number;
  /** the version field of the server's first TSRequest */
  serverVersion: number;
  /** the NTLM CHALLENGE_MESSAGE of the server's first TSRequest */
  challenge?: ChallengeMessage;
  /** the server's first answer held a token that is not an NTLM CHALLENGE (SPNEGO, Kerberos) */
  otherToken?: boolean;
  /** errorCode of a server TSRequest (an NTSTATUS), when it sent one */
  errorCode?: number;
  /** how far it got: the CHALLENGE only, or the whole exchange with credentials delegated */
  stage: 'challenge' | 'authenticate-sent' | 'authenticated';
}

type State = 'WaitChallenge' | 'WaitPubKeyAuth' | 'Done';

export class CredsspClient {
  private state: State = 'WaitChallenge';
  private readonly version: number;
  private readonly ntlm?: NtlmClient;
  private nonce?: Buffer;
  /** SPNEGO: the MechTypeList DER of our NegTokenInit, which both mechListMICs sign */
  private readonly mechTypeList?: Buffer;
  readonly outcome: CredsspClientOutcome;

  constructor(
    private readonly config: CredsspClientConfig,
    /** the TLS server's subjectPublicKey (transport/tls-info.ts serverPublicKey) */
    private readonly publicKey: Uint8Array,
  ) {
    this.version = config.version ?? 6;
    this.outcome = { clientVersion: this.version, serverVersion: 0, stage: 'challenge' };
    if (config.spnego) this.mechTypeList = encodeMechTypeList([NTLMSSP_OID]);
    if (config.credentials) {
      this.ntlm = new NtlmClient({
        credentials: config.credentials,
        ...(config.random ? { random: config.random } : {}),
        ...(config.now ? { now: config.now } : {}),
      });
    }
  }

  get done(): boolean {
    return this.state === 'Done';
  }

  /** The first TSRequest: NTLM NEGOTIATE_MESSAGE, raw or in a NegTokenInit. */
  start(): Buffer {
    // without credentials, the NEGOTIATE an NtlmClient would send, for the CHALLENGE alone
    const negotiate = this.ntlm ? this.ntlm.negotiate() : encodeNegotiateMessage({ flags: XFREERDP_NEGOTIATE_FLAGS, version: DEFAULT_NTLM_VERSION });
    const token = this.mechTypeList ? encodeNegTokenInit({ mechTypes: [NTLMSSP_OID], mechToken: negotiate }) : negotiate;
    return encodeTsRequest({ version: this.version, negoTokens: [token] });
  }

  /** One server TSRequest in; the TSRequest to send back, if any. Throws ConnectorError. */
  step(input: Uint8Array): Buffer | null {
    const ts = decodeTsRequest(input);
    if (this.state === 'WaitChallenge') return this.onChallenge(ts);
    if (this.state === 'WaitPubKeyAuth') return this.onPubKeyAuth(ts);
    return null;
  }

  private onChallenge(ts: TsRequest): Buffer | null {
    this.outcome.serverVersion = ts.version;
    this.serverError(ts, 'answered the NEGOTIATE');
    const token = this.mechTypeList ? this.unwrapChallenge(ts.negoTokens?.[0]) : ts.negoTokens?.[0];
    let isChallenge = false;
    if (token) {
      try {
        isChallenge = ntlmMessageType(token) === NTLM_CHALLENGE;
      } catch {
        isChallenge = false;
      }
    }
    if (!token || !isChallenge) {
      this.outcome.otherToken = token !== undefined;
      this.state = 'Done';
      if (!this.ntlm) return null;
      throw new ConnectorError('CREDSSP_ERROR', 'credssp', token ? 'the server answered with a token that is not an NTLM CHALLENGE (SPNEGO or Kerberos only)' : 'the server answered the NEGOTIATE without a negoToken');
    }
    this.outcome.challenge = decodeChallengeMessage(token);
    if (!this.ntlm) {
      this.state = 'Done';
      return null;
    }
    const negotiated = Math.min(this.version, ts.version);
    if (this.version >= CREDSSP_FIRST_HASHED_VERSION && ts.version < CREDSSP_FIRST_HASHED_VERSION && (this.config.allowEncryptionOracle ?? 1) !== 2) {
      this.state = 'Done';
      throw new ConnectorError(
        'CREDSSP_ORACLE_REMEDIATION',
        'credssp',
        `the server speaks CredSSP version ${ts.version}, without the CVE-2018-0886 fix; a patched client with AllowEncryptionOracle=${this.config.allowEncryptionOracle ?? 1} refuses it (SEC_E_UNSUPPORTED_FUNCTION)`,
        undefined,
        NTSTATUS.SEC_E_UNSUPPORTED_FUNCTION,
      );
    }
    const authenticate = this.ntlm.authenticate(token);
    const fields: Omit<TsRequest, 'version'> = { negoTokens: [authenticate] };
    if (this.mechTypeList) {
      // the mechListMIC takes client-to-server sequence number 0; pubKeyAuth then starts a fresh keystream
      const mechListMIC = this.ntlm.sign(this.mechTypeList);
      this.ntlm.resetRc4('outgoing');
      fields.negoTokens = [encodeNegTokenResp({ responseToken: authenticate, mechListMIC })];
    }
    if (negotiated >= CREDSSP_FIRST_HASHED_VERSION) {
      this.nonce = (this.config.random ?? randomBytes)(CREDSSP_NONCE_SIZE);
      fields.clientNonce = this.nonce;
    }
    fields.pubKeyAuth = this.ntlm.seal(pubKeyAuthPlaintext('client-to-server', negotiated, this.publicKey, this.nonce));
    this.outcome.stage = 'authenticate-sent';
    this.state = 'WaitPubKeyAuth';
    return encodeTsRequest({ version: this.version, ...fields });
  }

  private onPubKeyAuth(ts: TsRequest): Buffer {
    this.serverError(ts, 'answered the AUTHENTICATE');
    if (ts.version !== this.outcome.serverVersion) {
      throw new ConnectorError('CREDSSP_ERROR', 'credssp', `the server changed its CredSSP version from ${this.outcome.serverVersion} to ${ts.version}`);
    }
    if (!ts.pubKeyAuth) throw new ConnectorError('CREDSSP_ERROR', 'credssp', 'the server answered the AUTHENTICATE without pubKeyAuth');
    if (this.mechTypeList) this.checkServerMechListMic(ts.negoTokens?.[0]);
    const negotiated = Math.min(this.version, ts.version);
    const plain = this.ntlm!.unseal(ts.pubKeyAuth);
    if (!pubKeyAuthMatches(plain, 'server-to-client', negotiated, this.publicKey, this.nonce)) {
      throw new ConnectorError('CREDSSP_PUBKEY_MISMATCH', 'credssp', 'the server\'s pubKeyAuth does not bind the TLS key we saw: a man in the middle, or a broken server');
    }
    const creds = this.config.credentials!;
    // TSCredentials (MS-CSSP 2.2.1.2) of type password; restricted admin sends its three fields empty
    const tsCredentials = creds.remoteGuard
      ? encodeTsCredentials({ credType: CRED_TYPE_REMOTE_GUARD, credentials: encodeTsRemoteGuardCreds({ logonCred: creds.remoteGuard }) })
      : creds.restrictedAdmin
        ? encodeRestrictedAdminCredentials()
        : encodePasswordCredentials({ domainName: creds.domain, userName: creds.user, password: creds.password ?? new Uint8Array(0) });
    const authInfo = this.ntlm!.seal(tsCredentials);
    tsCredentials.fill(0);
    creds.password?.fill(0);
    this.outcome.stage = 'authenticated';
    this.state = 'Done';
    return encodeTsRequest({ version: this.version, authInfo });
  }

  /**
   * SPNEGO: the NTLM CHALLENGE inside the server's NegTokenResp (accept-incomplete or
   * request-mic, NTLM chosen); anything else is handed on as is, to end as a token that is not a
   * CHALLENGE.
   */
  private unwrapChallenge(token: Uint8Array | undefined): Uint8Array | undefined {
    if (!token || classifyNegoToken(token) !== 'spnego-resp') return token;
    const resp = decodeNegTokenResp(token);
    if (resp.negState !== undefined && resp.negState !== NEG_STATE_ACCEPT_INCOMPLETE && resp.negState !== NEG_STATE_REQUEST_MIC) {
      this.state = 'Done';
      throw new ConnectorError('CREDSSP_ERROR', 'credssp', `the server answered our SPNEGO NegTokenInit with negState ${resp.negState}${resp.negState === 2 ? ' (reject)' : ''}`);
    }
    if (resp.supportedMech !== undefined && resp.supportedMech !== NTLMSSP_OID) {
      this.state = 'Done';
      throw new ConnectorError('CREDSSP_ERROR', 'credssp', `the server chose SPNEGO mechanism ${resp.supportedMech}, not the NTLM we offered`);
    }
    return resp.responseToken ?? token;
  }

  /** SPNEGO: the server's final NegTokenResp must be accept-completed with a mechListMIC that verifies. */
  private checkServerMechListMic(token: Uint8Array | undefined): void {
    const fail = (why: string): never => {
      throw new ConnectorError('CREDSSP_ERROR', 'credssp', `SPNEGO: ${why}`);
    };
    if (!token) return fail('the server\'s pubKeyAuth came without its final NegTokenResp (and mechListMIC)');
    if (classifyNegoToken(token) !== 'spnego-resp') return fail('the server\'s final token is not a NegTokenResp');
    const resp = decodeNegTokenResp(token);
    if (resp.negState !== undefined && resp.negState !== NEG_STATE_ACCEPT_COMPLETED) fail(`the server's final negState is ${resp.negState}, not accept-completed`);
    if (!resp.mechListMIC) return fail('the server sent no mechListMIC, which our NTLM MIC makes mandatory (MS-SPNG)');
    try {
      this.ntlm!.verify(this.mechTypeList!, resp.mechListMIC);
    } catch (err) {
      if (err instanceof NtlmError) fail(`the server's mechListMIC does not verify (${err.kind})`);
      throw err;
    }
    this.ntlm!.resetRc4('incoming');
  }

  private serverError(ts: TsRequest, when: string): void {
    if (ts.errorCode === undefined) return;
    this.outcome.errorCode = ts.errorCode;
    this.state = 'Done';
    throw new ConnectorError('CREDSSP_LOGON_FAILED', 'credssp', `the server ${when} with errorCode ${ntStatusName(ts.errorCode)}`, undefined, ts.errorCode);
  }
}
