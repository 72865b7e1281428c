import { DecodeError } from '../pdu/errors.js';
import {
  FAILURE_CODE,
  PROTOCOL,
  failureCodeName,
  protocolName,
  type RdpNegFailure,
  type RdpNegRsp,
} from '../pdu/nego.js';
import { TPKT_HINT, type PduHint } from '../pdu/tpkt.js';
import { encryptionMethodName } from '../pdu/server-data.js';
import { randomBytes } from 'node:crypto';
import { RdpCryptoError } from '../crypto/errors.js';
import { NtlmError } from '../crypto/ntlm-error.js';
import { WriteCursor } from '../pdu/cursor.js';
import { decodeMcsDisconnectProviderUltimatum, encodeMcsDisconnectProviderUltimatum, mcsReasonName, RN_USER_REQUESTED } from '../pdu/mcs.js';
import { ClientActivation, type ActivationConfig, type ActivationResult } from './activation.js';
import {
  X224_DT,
  decodeServerConnectionAnswer,
  decodeX224Data,
  encodeConnectionRequest,
  encodeX224Data,
  x224Code,
  type ConnectionConfirm,
} from '../pdu/x224.js';
import { ConnectorError, type ConnectorErrorCode } from './errors.js';
import { TSREQUEST_HINT } from '../pdu/credssp-hint.js';
import type { CredsspClient, CredsspClientConfig, CredsspClientOutcome } from './credssp-client.js';
import { credsspClientModule } from './credssp-loader.js';
import { EARLY_USER_AUTH_RESULT_HINT, AUTHZ_SUCCESS, decodeEarlyUserAuthResult } from '../pdu/early-user-auth.js';
import { buildMcsConnectInitial, readMcsConnectResponse, type ClientDataConfig, type McsConnectOutcome } from './mcs-connect.js';
import type { Pause, Sequence, StepResult } from './sequence.js';

/**
 * The client side of the RDP connection sequence (MS-RDPBCGR 1.3.1.1), sans-IO, from the X.224
 * Connection Request to the MCS Connect Response. The TLS upgrade is a pause that the driver
 * fills in (`markSecurityUpgradeDone`). The same machine serves `probe` (one attempt per
 * question) and, later, `simulate` (over the in-memory pair).
 */
export interface ConnectorConfig {
  /**
   * requestedProtocols of the RDP_NEG_REQ; `null` sends no RDP_NEG_REQ at all, as a legacy
   * (pre-RDP 5.2) client does, and as xfreerdp does with /sec:rdp.
   */
  requestedProtocols: number | null;
  /** RDP_NEG_REQ flags (RESTRICTED_ADMIN_MODE_REQUIRED ...) */
  negReqFlags?: number;
  /**
   * The selectedProtocol values this client goes on with (PROTOCOL.*); any other selection ends
   * the attempt with UNEXPECTED_PROTOCOL, as xfreerdp /sec:nla does when a server picks TLS
   * (capture xrdp-negotiate-high--xfreerdp-sec-nla). Absent: any protocol it can continue with.
   */
  acceptedProtocols?: readonly number[];
  /** mstshash cookie; probes use a random one per connection */
  cookie?: string;
  /**
   * how far to go: the Connection Confirm; the TLS upgrade when one was selected; the first
   * CredSSP round trip (NTLM NEGOTIATE -> CHALLENGE) when HYBRID or HYBRID_EX was selected; or
   * the whole CredSSP exchange (with `credssp.credentials`; for HYBRID_EX up to the Early User
   * Authorization Result); or the MCS Connect Response; or activation
   */
  stopAfter: 'negotiation' | 'security-upgrade' | 'credssp-challenge' | 'credssp' | 'mcs-connect' | 'activation';
  /**
   * CredSSP (MS-CSSP) after a HYBRID / HYBRID_EX selection: our version and AllowEncryptionOracle,
   * and the credentials. Without credentials, stopAfter 'credssp-challenge' and 'credssp' stop
   * after the server's CHALLENGE, and 'mcs-connect' and 'activation' end the attempt right
   * after TLS (the server would want a logon).
   */
  credssp?: CredsspClientConfig;
  /** GCC client data (CS_CORE, CS_SECURITY, CS_NET, CS_CLUSTER) for the MCS Connect Initial */
  clientData: ClientDataConfig;
  /**
   * End the attempt when the server selects a Standard RDP Security method that the MCS Connect
   * Initial did not offer, NONE included, as rdesktop 1.9 does in effect: its sec.c fails on
   * encryption level NONE and runs a FIPS selection as RC4, which the server then drops
   * (captures xrdp-rdp-fips--rdesktop, exit 76). Absent: go on with it, as FreeRDP does.
   */
  refuseUnofferedMethod?: boolean;
  /** for stopAfter 'activation': MAC form, credentials; randomness is injected for tests */
  activation?: Partial<Pick<ActivationConfig, 'macForm' | 'credentials' | 'random'>>;
}

/** What the driver hands back after the TLS handshake; transport's TlsInfo has at least this. */
export interface SecurityUpgradeInfo {
  version: string;
  serverPublicKey: Uint8Array;
}

export type ConnectorEvent =
  | { type: 'sent'; pdu: string; summary: string }
  | { type: 'received'; pdu: string; summary: string }
  | { type: 'security-upgrade'; protocol: string; version: string };

export interface ConnectorResult {
  requestedProtocols: number | null;
  /** the Connection Confirm as decoded */
  confirm: ConnectionConfirm;
  /** the protocol in force: the RDP_NEG_RSP's, or RDP when the server sent no negotiation data */
  selectedProtocol: number;
  /** true when the Confirm carried no RDP_NEG_RSP (legacy answer) */
  legacyConfirm: boolean;
  security?: SecurityUpgradeInfo;
  credssp?: CredsspClientOutcome;
  mcs?: McsConnectOutcome;
  activation?: ActivationResult;
}

type State =
  | { kind: 'SendConnectionRequest' }
  | { kind: 'WaitConnectionConfirm' }
  | { kind: 'SecurityUpgrade'; partial: ConnectorResult }
  | { kind: 'Credssp'; partial: ConnectorResult; client: CredsspClient }
  | { kind: 'WaitEarlyUserAuth'; partial: ConnectorResult }
  | { kind: 'SendMcsConnectInitial'; partial: ConnectorResult }
  | { kind: 'WaitMcsConnectResponse'; partial: ConnectorResult }
  | { kind: 'Activating'; partial: ConnectorResult; activation: ClientActivation }
  | { kind: 'Connected'; result: ConnectorResult }
  | { kind: 'Failed'; error: ConnectorError; partial?: ConnectorResult };

/** Protocols after which the connection continues inside TLS (MS-RDPBCGR 5.4.5). */
const TLS_PROTOCOLS = PROTOCOL.SSL | PROTOCOL.HYBRID | PROTOCOL.HYBRID_EX | PROTOCOL.RDSTLS | PROTOCOL.RDSAAD;
/** Protocols whose next step after TLS is RDSTLS/AAD authentication, which this machine does not do yet. */
const AUTH_AFTER_TLS = PROTOCOL.RDSTLS | PROTOCOL.RDSAAD;
/** Protocols that run CredSSP after TLS (MS-RDPBCGR 5.4.5.2). */
const CREDSSP_PROTOCOLS = PROTOCOL.HYBRID | PROTOCOL.HYBRID_EX;

export class ClientConnector implements Sequence<ConnectorEvent> {
  private st: State = { kind: 'SendConnectionRequest' };

  constructor(readonly config: ConnectorConfig) {}

  get state(): Readonly<State> {
    return this.st;
  }
  get stateName(): State['kind'] {
    return this.st.kind;
  }
  get done(): boolean {
    return this.st.kind === 'Connected' || this.st.kind === 'Failed';
  }
  get pause(): Pause | null {
    return this.st.kind === 'SecurityUpgrade' ? { kind: 'tls-upgrade', role: 'client' } : null;
  }
  /**
   * The result once Connected; otherwise what is known so far (a failed attempt, or one that
   * the network cut short), with how far the activation got.
   */
  get result(): ConnectorResult | undefined {
    const st = this.st;
    if (st.kind === 'Connected') return st.result;
    if (st.kind === 'Activating') return { ...st.partial, activation: st.activation.result };
    return 'partial' in st ? st.partial : undefined;
  }
  get error(): ConnectorError | undefined {
    return this.st.kind === 'Failed' ? this.st.error : undefined;
  }

  nextPduHint(): PduHint | null {
    switch (this.st.kind) {
      case 'WaitConnectionConfirm':
      case 'WaitMcsConnectResponse':
        return TPKT_HINT;
      case 'Credssp':
        return TSREQUEST_HINT;
      case 'WaitEarlyUserAuth':
        return EARLY_USER_AUTH_RESULT_HINT;
      case 'Activating':
        return this.st.activation.hint();
      default:
        return null;
    }
  }

  step(input: Uint8Array | null): StepResult<ConnectorEvent> {
    const out: StepResult<ConnectorEvent> = { output: [], events: [] };
    try {
      this.advance(input, out);
    } catch (err) {
      if (err instanceof DecodeError) {
        this.fail(new ConnectorError('DECODE_ERROR', this.phase, `malformed PDU: ${err.message}`, err));
      } else if (err instanceof ConnectorError) {
        this.fail(err);
      } else if (err instanceof NtlmError) {
        this.fail(new ConnectorError('CREDSSP_ERROR', this.phase, `NTLM: ${err.message}`));
      } else if (err instanceof RdpCryptoError) {
        const code = err.kind === 'MacMismatch' ? 'MAC_MISMATCH' : 'DECODE_ERROR';
        this.fail(new ConnectorError(code, this.phase, `a server PDU failed its check: ${err.message}`));
      } else {
        throw err;
      }
    }
    return out;
  }

  /** Resume after the driver's TLS handshake. */
  markSecurityUpgradeDone(info: SecurityUpgradeInfo): StepResult<ConnectorEvent> {
    if (this.st.kind !== 'SecurityUpgrade') {
      throw new Error(`markSecurityUpgradeDone in state ${this.st.kind}`);
    }
    const partial: ConnectorResult = { ...this.st.partial, security: info };
    const out: StepResult<ConnectorEvent> = {
      output: [],
      events: [{ type: 'security-upgrade', protocol: protocolName(partial.selectedProtocol), version: info.version }],
    };
    const stop = this.config.stopAfter;
    if (partial.selectedProtocol & CREDSSP_PROTOCOLS && (stop === 'credssp-challenge' || stop === 'credssp' || (this.goesToMcs() && this.config.credssp?.credentials))) {
      const cfg = this.config.credssp ?? {};
      const mod = credsspClientModule();
      if (!mod) {
        const error = new ConnectorError('CREDSSP_ERROR', 'credssp', 'CredSSP support is not loaded: await loadCredsspClient() (connector/credssp-loader.ts) before running a connector that may reach it');
        this.st = { kind: 'Failed', error, partial };
        return out;
      }
      const client = new mod.CredsspClient(stop === 'credssp-challenge' ? { ...cfg, credentials: undefined } : cfg, info.serverPublicKey);
      partial.credssp = client.outcome;
      out.output.push(client.start());
      out.events.push({ type: 'sent', pdu: 'TSRequest', summary: `CredSSP version ${client.outcome.clientVersion}, NTLM NEGOTIATE_MESSAGE` });
      this.st = { kind: 'Credssp', partial, client };
    } else if (!this.goesToMcs()) {
      this.st = { kind: 'Connected', result: partial };
    } else if (partial.selectedProtocol & (AUTH_AFTER_TLS | CREDSSP_PROTOCOLS)) {
      // RDSTLS / AAD (not implemented), or CredSSP without credentials to log on with, come
      // before the MCS exchange: the attempt ends here, honestly, with what was learned.
      this.st = { kind: 'Connected', result: partial };
    } else {
      this.st = { kind: 'SendMcsConnectInitial', partial };
      this.advance(null, out);
    }
    return out;
  }

  /** CredSSP done: stop (stopAfter 'credssp') or go on with the MCS Connect Initial inside TLS. */
  private afterAuthentication(partial: ConnectorResult, out: StepResult<ConnectorEvent>): void {
    if (!this.goesToMcs()) {
      this.st = { kind: 'Connected', result: partial };
      return;
    }
    this.st = { kind: 'SendMcsConnectInitial', partial };
    this.advance(null, out);
  }

  private goesToMcs(): boolean {
    return this.config.stopAfter === 'mcs-connect' || this.config.stopAfter === 'activation';
  }

  /** The phase the machine is in, as reports name it: 'x224', 'tls', 'credssp', 'mcs'. */
  get phase(): string {
    switch (this.st.kind) {
      case 'SendConnectionRequest':
      case 'WaitConnectionConfirm':
        return 'x224';
      case 'SecurityUpgrade':
        return 'tls';
      case 'Credssp':
      case 'WaitEarlyUserAuth':
        return 'credssp';
      case 'Activating':
        return 'activation';
      default:
        return 'mcs';
    }
  }

  private fail(error: ConnectorError): void {
    let partial = 'partial' in this.st ? this.st.partial : undefined;
    // keep how far the activation got (the probe reports it)
    if (this.st.kind === 'Activating' && partial) partial = { ...partial, activation: this.st.activation.result };
    this.st = partial ? { kind: 'Failed', error, partial } : { kind: 'Failed', error };
  }

  private advance(input: Uint8Array | null, out: StepResult<ConnectorEvent>): void {
    const st = this.st;
    switch (st.kind) {
      case 'SendConnectionRequest': {
        const { requestedProtocols, negReqFlags, cookie } = this.config;
        const bytes = encodeConnectionRequest({
          ...(cookie !== undefined ? { cookie } : {}),
          ...(requestedProtocols !== null
            ? { negReq: { type: 'RDP_NEG_REQ', flags: negReqFlags ?? 0, requestedProtocols } }
            : {}),
        });
        out.output.push(bytes);
        out.events.push({
          type: 'sent',
          pdu: 'X.224 Connection Request',
          summary:
            requestedProtocols === null
              ? 'no RDP_NEG_REQ (legacy request)'
              : `RDP_NEG_REQ requestedProtocols=0x${requestedProtocols.toString(16)}`,
        });
        this.st = { kind: 'WaitConnectionConfirm' };
        return;
      }
      case 'WaitConnectionConfirm': {
        const frame = need(input);
        if (x224Code(frame) === X224_DT) {
          // xrdp refuses a request it cannot parse (an unknown protocol flag such as RDSAAD)
          // with an MCS Disconnect Provider Ultimatum in place of the Connection Confirm.
          const dpu = decodeMcsDisconnectProviderUltimatum(decodeX224Data(frame));
          const reasonName = mcsReasonName(dpu.reason);
          out.events.push({ type: 'received', pdu: 'MCS Disconnect Provider Ultimatum', summary: reasonName });
          throw new ConnectorError('MCS_DISCONNECT_PROVIDER_ULTIMATUM', 'x224', `the server disconnected (${reasonName}) instead of confirming the connection`, undefined, dpu.reason);
        }
        const answer = decodeServerConnectionAnswer(frame);
        if (answer.tpdu === 'DR') {
          out.events.push({ type: 'received', pdu: 'X.224 Disconnect Request', summary: `reason ${answer.reason}` });
          throw new ConnectorError('X224_DISCONNECT', 'x224', `the server answered with an X.224 Disconnect Request (reason ${answer.reason})`, undefined, answer.reason);
        }
        const { tpdu: _t, ...confirm } = answer;
        out.events.push({ type: 'received', pdu: 'X.224 Connection Confirm', summary: describeNegotiation(confirm.negotiation) });
        const neg = confirm.negotiation;
        if (neg?.type === 'RDP_NEG_FAILURE') {
          const partial: ConnectorResult = {
            requestedProtocols: this.config.requestedProtocols,
            confirm,
            selectedProtocol: -1,
            legacyConfirm: false,
          };
          this.st = { kind: 'Failed', partial, error: negFailureError(neg) };
          return;
        }
        const selected = neg ? neg.selectedProtocol : PROTOCOL.RDP;
        const partial: ConnectorResult = {
          requestedProtocols: this.config.requestedProtocols,
          confirm,
          selectedProtocol: selected,
          legacyConfirm: !neg,
        };
        if (selected & ~TLS_PROTOCOLS) {
          this.st = { kind: 'Failed', partial, error: new ConnectorError('UNEXPECTED_PROTOCOL', 'x224', `the server selected an unknown protocol 0x${selected.toString(16)}`, undefined, selected) };
          return;
        }
        const accepted = this.config.acceptedProtocols;
        if (accepted && !accepted.includes(selected)) {
          this.st = { kind: 'Failed', partial, error: new ConnectorError('UNEXPECTED_PROTOCOL', 'x224', `the server selected ${protocolName(selected)}, which this client does not go on with`, undefined, selected) };
          return;
        }
        if (this.config.stopAfter === 'negotiation') {
          this.st = { kind: 'Connected', result: partial };
        } else if (selected !== PROTOCOL.RDP) {
          this.st = { kind: 'SecurityUpgrade', partial };
        } else if (this.goesToMcs()) {
          this.st = { kind: 'SendMcsConnectInitial', partial };
          this.advance(null, out);
        } else {
          this.st = { kind: 'Connected', result: partial };
        }
        return;
      }
      case 'Credssp': {
        const before = st.client.outcome.stage;
        const reply = st.client.step(need(input));
        const o = st.client.outcome;
        out.events.push({
          type: 'received',
          pdu: 'TSRequest',
          summary: `version ${o.serverVersion}${before === 'challenge' && o.challenge ? ', NTLM CHALLENGE_MESSAGE' : ''}${before === 'authenticate-sent' ? ', pubKeyAuth checked' : ''}`,
        });
        if (reply) {
          out.output.push(reply);
          out.events.push({ type: 'sent', pdu: 'TSRequest', summary: o.stage === 'authenticated' ? 'authInfo (sealed TSCredentials)' : 'NTLM AUTHENTICATE_MESSAGE, pubKeyAuth' });
        }
        if (!st.client.done) return;
        if (o.stage !== 'authenticated') {
          // no credentials: the CHALLENGE was all we came for
          this.st = { kind: 'Connected', result: st.partial };
        } else if (st.partial.selectedProtocol === PROTOCOL.HYBRID_EX) {
          this.st = { kind: 'WaitEarlyUserAuth', partial: st.partial };
        } else {
          this.afterAuthentication(st.partial, out);
        }
        return;
      }
      case 'WaitEarlyUserAuth': {
        // MS-RDPBCGR 2.2.10.2, sent by the server after CredSSP when HYBRID_EX was selected
        const r = decodeEarlyUserAuthResult(need(input)).authorizationResult;
        out.events.push({ type: 'received', pdu: 'Early User Authorization Result', summary: r === AUTHZ_SUCCESS ? 'AUTHZ_SUCCESS' : `0x${r.toString(16)}` });
        if (r !== AUTHZ_SUCCESS) {
          throw new ConnectorError('ACCESS_DENIED', 'credssp', `the server denied the authenticated user (Early User Authorization Result 0x${r.toString(16)})`, undefined, r);
        }
        this.afterAuthentication(st.partial, out);
        return;
      }
      case 'SendMcsConnectInitial': {
        const cd = this.config.clientData;
        const echo = st.partial.requestedProtocols === null ? null : st.partial.selectedProtocol;
        out.output.push(buildMcsConnectInitial(cd, echo));
        const methods = echo ? (cd.encryptionMethodsOverTls ?? cd.encryptionMethods) : cd.encryptionMethods;
        out.events.push({ type: 'sent', pdu: 'MCS Connect Initial', summary: `encryptionMethods=0x${methods.toString(16)}` });
        this.st = { kind: 'WaitMcsConnectResponse', partial: st.partial };
        return;
      }
      case 'WaitMcsConnectResponse': {
        const mcs = readMcsConnectResponse(need(input));
        const partial: ConnectorResult = { ...st.partial, mcs };
        if (mcs.kind === 'disconnect') {
          out.events.push({ type: 'received', pdu: 'MCS Disconnect Provider Ultimatum', summary: mcs.reasonName });
          this.st = { kind: 'Failed', partial, error: new ConnectorError('MCS_DISCONNECT_PROVIDER_ULTIMATUM', 'mcs', `the server disconnected (${mcs.reasonName}) instead of answering the MCS Connect Initial`, undefined, mcs.reason) };
          return;
        }
        out.events.push({ type: 'received', pdu: 'MCS Connect Response', summary: mcs.summary });
        if (mcs.result !== 0) {
          this.st = { kind: 'Failed', partial, error: new ConnectorError('MCS_CONNECT_REFUSED', 'mcs', `MCS Connect Response result ${mcs.resultName}`, undefined, mcs.result) };
          return;
        }
        const sec = mcs.serverSecurity;
        const offered = this.config.clientData.encryptionMethods;
        if (this.config.refuseUnofferedMethod && partial.selectedProtocol === PROTOCOL.RDP && sec && (sec.encryptionMethod & offered) === 0) {
          const method = encryptionMethodName(sec.encryptionMethod);
          this.st = { kind: 'Failed', partial, error: new ConnectorError('ENCRYPTION_METHOD_NOT_OFFERED', 'mcs', `the server selected ${method}, which this client did not offer (encryptionMethods 0x${offered.toString(16)})`, undefined, sec.encryptionMethod) };
          return;
        }
        if (this.config.stopAfter !== 'activation') {
          this.st = { kind: 'Connected', result: partial };
          return;
        }
        const a = this.config.activation ?? {};
        const activation = new ClientActivation(
          {
            clientName: this.config.clientData.clientName,
            desktopWidth: this.config.clientData.desktopWidth,
            desktopHeight: this.config.clientData.desktopHeight,
            macForm: a.macForm ?? 'unsalted',
            ...(a.credentials ? { credentials: a.credentials } : {}),
            random: a.random ?? ((n) => randomBytes(n)),
          },
          {
            ...(mcs.serverSecurity ? { security: mcs.serverSecurity } : {}),
            ...(mcs.serverNetwork ? { network: mcs.serverNetwork } : {}),
            ...(mcs.messageChannelId !== undefined ? { messageChannelId: mcs.messageChannelId } : {}),
          },
          partial.security?.serverPublicKey,
        );
        this.st = { kind: 'Activating', partial, activation };
        merge(out, activation.start());
        return;
      }
      case 'Activating': {
        const r = st.activation.step(need(input));
        merge(out, r);
        if (st.activation.done) {
          // activated: leave cleanly (MS-RDPBCGR 1.3.1.4.1: the client's MCS Disconnect Provider Ultimatum)
          const w = new WriteCursor();
          encodeMcsDisconnectProviderUltimatum({ reason: RN_USER_REQUESTED }, w);
          out.output.push(encodeX224Data(w.finish()));
          out.events.push({ type: 'sent', pdu: 'MCS Disconnect Provider Ultimatum', summary: 'rn-user-requested' });
          this.st = { kind: 'Connected', result: { ...st.partial, activation: st.activation.result } };
        }
        return;
      }
      case 'SecurityUpgrade':
      case 'Connected':
      case 'Failed':
        throw new Error(`step() called in state ${st.kind}`);
    }
  }
}

function merge(out: StepResult<ConnectorEvent>, r: { output: Uint8Array[]; events: ConnectorEvent[] }): void {
  out.output.push(...r.output);
  out.events.push(...r.events);
}

function need(input: Uint8Array | null): Uint8Array {
  if (!input) throw new Error('step() needs a PDU in this state');
  return input;
}

function describeNegotiation(neg: RdpNegRsp | RdpNegFailure | undefined): string {
  if (!neg) return 'no negotiation data';
  if (neg.type === 'RDP_NEG_RSP') return `RDP_NEG_RSP selectedProtocol=${protocolName(neg.selectedProtocol)} flags=0x${neg.flags.toString(16)}`;
  return `RDP_NEG_FAILURE ${failureCodeName(neg.failureCode)}`;
}

function negFailureError(neg: RdpNegFailure): ConnectorError {
  const name = failureCodeName(neg.failureCode);
  const code: ConnectorErrorCode = name in FAILURE_CODE ? (name as ConnectorErrorCode) : 'UNKNOWN_FAILURE_CODE';
  return new ConnectorError(code, 'x224', `the server refused the requested protocols: ${name}`, undefined, neg.failureCode);
}
