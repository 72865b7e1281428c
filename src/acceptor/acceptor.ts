import type { Pause, Sequence, StepResult } from '../connector/sequence.js';
import { RdpCryptoError } from '../crypto/errors.js';
import { collectClientData, decodeClientDataBlocks, ENCRYPTION_METHOD_NONE, type ClientData } from '../pdu/client-data.js';
import { TSREQUEST_HINT } from '../pdu/credssp-hint.js';
import { WriteCursor } from '../pdu/cursor.js';
import { AUTHZ_SUCCESS, encodeEarlyUserAuthResult } from '../pdu/early-user-auth.js';
import { DecodeError } from '../pdu/errors.js';
import { CONFERENCE_CREATE_RESPONSE_CONNECT_PDU_LENGTH, decodeConferenceCreateRequest, encodeConferenceCreateResponse } from '../pdu/gcc.js';
import {
  DOMAIN_PARAMETERS_TARGET,
  decodeMcsConnectInitial,
  encodeMcsConnectResponse,
  encodeMcsDisconnectProviderUltimatum,
  mcsReasonName,
  RN_USER_REQUESTED,
} from '../pdu/mcs.js';
import { decodeDomainPdu, encodeDomainPdu, MCS_GLOBAL_CHANNEL_ID, type DomainPdu } from '../pdu/mcs-domain.js';
import { failureCodeName, NEG_REQ_FLAGS, PROTOCOL, protocolName, type RdpNegFailure, type RdpNegRsp } from '../pdu/nego.js';
import { ntStatusName } from '../pdu/ntstatus.js';
import { ENCRYPTION_LEVEL_NONE, encodeServerDataBlocks, type ServerDataBlock } from '../pdu/server-data.js';
import { TPKT_HINT, TPKT_OR_FASTPATH_HINT, type PduHint } from '../pdu/tpkt.js';
import { decodeConnectionRequest, decodeX224Data, encodeConnectionConfirm, encodeX224Data, type ConnectionRequest } from '../pdu/x224.js';
import type { AcceptorPolicy } from './acceptor-policy.js';
import { CredsspServer } from './credssp-server.js';
import { AcceptorRefusal, ServerIoChannel, USER_ID, type AcceptorEvent, type IoPhase } from './io-channel.js';
import type { ServerIdentity } from './server-identity.js';

/**
 * The server side of the RDP connection sequence (MS-RDPBCGR 1.3.1.1), sans-IO, driven by an
 * AcceptorPolicy: negotiation as the emulated server does it, TLS as a pause, CredSSP for HYBRID
 * and HYBRID_EX (credssp-server.ts), the MCS Connect Response with our encryption choice and
 * certificate, the MCS domain and channel joins; then the I/O channel (io-channel.ts: Standard
 * RDP Security, licensing, capabilities and finalization, ended with a Set Error Info PDU and a
 * Disconnect Provider Ultimatum). What the client asked for is collected into a
 * ConnectionSummary, the line `serve` logs.
 */
export interface ConnectionSummary {
  requestedProtocols: string[] | null;
  negReqFlags?: number;
  cookie?: string;
  selectedProtocol: string | null;
  failureCode: string | null;
  client?: {
    name: string;
    build: number;
    version: string;
    keyboardLayout: number;
    earlyCapabilityFlags?: number;
    encryptionMethods: number;
    extEncryptionMethods: number;
    serverSelectedProtocol?: number;
    channels: string[];
  };
  encryption?: { method: number; level: number };
  tls?: { version: string; cipher: string };
  /** the user name of the Client Info PDU (never the password) */
  user?: string;
  domain?: string;
  autoLogon?: boolean;
  /** MAC forms the client used (SEC_SECURE_CHECKSUM or not) */
  macForms?: string[];
  /** the CredSSP exchange (HYBRID, HYBRID_EX): the client's version, who logged on, with what */
  nla?: {
    clientVersion?: number;
    /** the client's NTLM NEGOTIATE: flags and VERSION (client fingerprint evidence) */
    negotiateFlags?: number;
    ntlmVersion?: string;
    spnego?: boolean;
    user?: string;
    domain?: string;
    workstation?: string;
    credentials?: string;
    /** the NTSTATUS a failed logon ended with */
    status?: string;
  };
  outcome: 'finalized' | 'refused' | 'error' | 'in-progress';
  reason: string;
}

export type { AcceptorEvent } from './io-channel.js';

/** The acceptor's own phases; from the first I/O channel PDU on, the I/O channel's (io-channel.ts). */
type OwnPhase = 'ConnectionRequest' | 'SecurityUpgrade' | 'Credssp' | 'ConnectInitial' | 'ErectDomain' | 'AttachUser' | 'ChannelJoin' | 'IoChannel' | 'Done';
export type AcceptorPhase = Exclude<OwnPhase, 'IoChannel'> | IoPhase;

type Out = StepResult<AcceptorEvent>;

const MAX_CHANNEL_JOINS = 34;

export class ServerAcceptor implements Sequence<AcceptorEvent> {
  private phase: OwnPhase = 'ConnectionRequest';
  private request?: ConnectionRequest;
  private selected: number = PROTOCOL.RDP;
  private clientData?: ClientData;
  private choice: { method: number; level: number } = { method: ENCRYPTION_METHOD_NONE, level: ENCRYPTION_LEVEL_NONE };
  private serverRandom?: Buffer;
  private channelIds: number[] = [];
  private joins = 0;
  /** the I/O channel once the client sends on it (Security Exchange to finalization) */
  private io?: ServerIoChannel;
  /** set when the negotiation refused a legacy client: refuse its MCS Connect Initial */
  private refuseAtMcs?: string;
  /** the CredSSP exchange after TLS, when HYBRID or HYBRID_EX was selected */
  private credssp?: CredsspServer;
  readonly summary: ConnectionSummary = { requestedProtocols: null, selectedProtocol: null, failureCode: null, outcome: 'in-progress', reason: '' };

  constructor(
    private readonly policy: AcceptorPolicy,
    private readonly identity: ServerIdentity,
    private readonly random: (n: number) => Uint8Array,
  ) {}

  get done(): boolean {
    return this.phase === 'Done';
  }
  get pause(): Pause | null {
    return this.phase === 'SecurityUpgrade' ? { kind: 'tls-upgrade', role: 'server' } : null;
  }
  get phaseName(): AcceptorPhase {
    return this.phase === 'IoChannel' ? this.io!.phase : this.phase;
  }

  nextPduHint(): PduHint | null {
    if (this.phase === 'Done' || this.phase === 'SecurityUpgrade') return null;
    if (this.phase === 'Credssp') return TSREQUEST_HINT;
    // clients send fast-path input once they have sent their Confirm Active
    return this.io?.acceptsFastPath ? TPKT_OR_FASTPATH_HINT : TPKT_HINT;
  }

  step(input: Uint8Array | null): Out {
    const out: Out = { output: [], events: [] };
    if (!input || this.phase === 'Done') return out; // once ended, input changes nothing
    try {
      this.advance(input, out);
    } catch (err) {
      if (err instanceof DecodeError || err instanceof RdpCryptoError) {
        this.finish('error', `${this.phaseName}: ${err.message}`, out);
      } else if (err instanceof AcceptorRefusal) {
        this.finish(err.outcome, err.message, out);
      } else {
        throw err;
      }
    }
    return out;
  }

  /** Resume after the TLS handshake the driver did as the server. */
  markSecurityUpgradeDone(info: { version: string; cipher?: { standardName: string }; serverPublicKey?: Uint8Array }): Out {
    const out: Out = { output: [], events: [] };
    this.summary.tls = { version: info.version, cipher: info.cipher?.standardName ?? '' };
    out.events.push({ type: 'note', text: `TLS ${info.version} ${info.cipher?.standardName ?? ''}` });
    if (this.selected & (PROTOCOL.HYBRID | PROTOCOL.HYBRID_EX)) {
      const c = this.policy.credssp;
      if (!c || !info.serverPublicKey) {
        this.finish('error', `${protocolName(this.selected)} selected, but this acceptor has no CredSSP settings; closing after TLS`, out);
        return out;
      }
      // MS-CSSP 3.2.5: the client speaks first, with its NEGOTIATE
      this.credssp = new CredsspServer({
        settings: c.settings,
        accounts: c.accounts,
        publicKey: info.serverPublicKey,
        restrictedAdminRequested: ((this.request?.negReq?.flags ?? 0) & NEG_REQ_FLAGS.RESTRICTED_ADMIN_MODE_REQUIRED) !== 0,
        redirectedAuthenticationRequested: ((this.request?.negReq?.flags ?? 0) & NEG_REQ_FLAGS.REDIRECTED_AUTHENTICATION_MODE_REQUIRED) !== 0,
        random: (n) => Buffer.from(this.random(n)),
      });
      this.phase = 'Credssp';
      return out;
    }
    this.phase = 'ConnectInitial';
    return out;
  }

  /** One TSRequest of the CredSSP exchange; on success HYBRID_EX gets its Early User Authorization Result. */
  private onCredssp(input: Uint8Array, out: Out): void {
    const r = this.credssp!.step(input);
    out.output.push(...r.output);
    for (const text of r.notes) out.events.push({ type: 'note', text: `CredSSP: ${text}` });
    const result = r.result;
    const hello = this.credssp!.client;
    if (hello && !this.summary.nla) {
      this.summary.nla = {
        clientVersion: hello.credsspVersion,
        negotiateFlags: hello.negotiateFlags,
        spnego: hello.spnego,
        ...(hello.ntlmVersion ? { ntlmVersion: hello.ntlmVersion } : {}),
      };
    }
    if (!result) return;
    if (!result.ok) {
      this.summary.nla = {
        ...this.summary.nla,
        ...(result.clientVersion !== undefined ? { clientVersion: result.clientVersion } : {}),
        ...(result.user !== undefined ? { user: result.user, domain: result.domain ?? '' } : {}),
        ...(result.status !== undefined ? { status: ntStatusName(result.status) } : {}),
      };
      throw new AcceptorRefusal('refused', `CredSSP: ${result.reason}`);
    }
    this.summary.nla = { ...this.summary.nla, clientVersion: result.clientVersion, user: result.user, domain: result.domain, workstation: result.workstation, credentials: result.credentials };
    if (this.selected === PROTOCOL.HYBRID_EX) {
      // MS-RDPBCGR 2.2.10.2 (and 5.4.2.2): four bytes inside TLS, before the MCS Connect Initial
      out.output.push(encodeEarlyUserAuthResult({ authorizationResult: AUTHZ_SUCCESS }));
      out.events.push({ type: 'sent', pdu: 'Early User Authorization Result', summary: 'AUTHZ_SUCCESS' });
    }
    this.phase = 'ConnectInitial';
  }

  private finish(outcome: ConnectionSummary['outcome'], reason: string, out: Out, disconnect = false): void {
    if (disconnect) this.sendDomain(out, { kind: 'disconnectProviderUltimatum', value: { reason: RN_USER_REQUESTED } }, 'MCS Disconnect Provider Ultimatum');
    this.summary.outcome = outcome;
    this.summary.reason = reason;
    if (this.io?.macForms.size) this.summary.macForms = [...this.io.macForms];
    this.phase = 'Done';
  }

  private advance(input: Uint8Array, out: Out): void {
    switch (this.phase) {
      case 'ConnectionRequest':
        return this.onConnectionRequest(input, out);
      case 'Credssp':
        return this.onCredssp(input, out);
      case 'ConnectInitial':
        return this.onConnectInitial(input, out);
      default:
        if (input[0] !== 0x03 && this.io) return this.io.onFastPath(input);
        return this.onDomainPdu(decodeDomainPdu(decodeX224Data(input)), out);
    }
  }

  /** MS-RDPBCGR 3.3.5.3.1/3.3.5.3.2, as the policy's server does it. */
  private onConnectionRequest(frame: Uint8Array, out: Out): void {
    const cr = decodeConnectionRequest(frame);
    this.request = cr;
    const requested = cr.negReq ? cr.negReq.requestedProtocols : null;
    this.summary.requestedProtocols = requested === null ? null : protocolNames(requested);
    if (cr.negReq) this.summary.negReqFlags = cr.negReq.flags;
    if (cr.cookie !== undefined) this.summary.cookie = cr.cookie;
    out.events.push({ type: 'received', pdu: 'X.224 Connection Request', summary: requested === null ? 'legacy (no RDP_NEG_REQ)' : `requestedProtocols=0x${requested.toString(16)}` });
    const answer = this.policy.negotiate(requested, cr.negReq?.flags ?? 0);
    if ('drop' in answer) {
      if (answer.drop === 'ultimatum') this.sendDomain(out, { kind: 'disconnectProviderUltimatum', value: { reason: RN_USER_REQUESTED } }, 'MCS Disconnect Provider Ultimatum');
      throw new AcceptorRefusal('refused', answer.reason);
    }
    if ('failureCode' in answer) {
      this.summary.failureCode = failureCodeName(answer.failureCode);
      if (answer.delivery === 'bare-confirm-then-ultimatum') {
        // a legacy client cannot read a failure: confirm, then refuse the MCS Connect Initial
        out.output.push(encodeConnectionConfirm({ dstRef: 0, srcRef: 0x1234 }));
        out.events.push({ type: 'sent', pdu: 'X.224 Connection Confirm', summary: 'no negotiation data' });
        this.refuseAtMcs = `refused (${this.summary.failureCode}) at the MCS Connect Initial of a legacy client`;
        this.phase = 'ConnectInitial';
        return;
      }
      const neg: RdpNegFailure = { type: 'RDP_NEG_FAILURE', flags: 0, failureCode: answer.failureCode };
      out.output.push(encodeConnectionConfirm({ dstRef: 0, srcRef: 0x1234, negotiation: neg }));
      out.events.push({ type: 'sent', pdu: 'X.224 Connection Confirm', summary: `RDP_NEG_FAILURE ${this.summary.failureCode}` });
      throw new AcceptorRefusal('refused', `refused with ${this.summary.failureCode}`);
    }
    this.selected = answer.selected;
    this.summary.selectedProtocol = protocolName(answer.selected);
    const neg: RdpNegRsp = { type: 'RDP_NEG_RSP', flags: answer.responseFlags, selectedProtocol: answer.selected };
    out.output.push(encodeConnectionConfirm({ dstRef: 0, srcRef: 0x1234, ...(answer.negData ? { negotiation: neg } : {}) }));
    out.events.push({ type: 'sent', pdu: 'X.224 Connection Confirm', summary: answer.negData ? `RDP_NEG_RSP ${this.summary.selectedProtocol}` : 'no negotiation data' });
    this.phase = answer.selected === PROTOCOL.RDP ? 'ConnectInitial' : 'SecurityUpgrade';
  }

  /** MS-RDPBCGR 2.2.1.3 / 2.2.1.4 and the encryption choice of 5.3.2. */
  private onConnectInitial(frame: Uint8Array, out: Out): void {
    const ci = decodeMcsConnectInitial(decodeX224Data(frame));
    if (this.refuseAtMcs) {
      this.sendDomain(out, { kind: 'disconnectProviderUltimatum', value: { reason: RN_USER_REQUESTED } }, 'MCS Disconnect Provider Ultimatum');
      throw new AcceptorRefusal('refused', this.refuseAtMcs);
    }
    const gcc = decodeConferenceCreateRequest(ci.userData);
    const data = collectClientData(decodeClientDataBlocks(gcc.userData));
    this.clientData = data;
    const core = data.core;
    const sec = data.security ?? { encryptionMethods: 0, extEncryptionMethods: 0 };
    this.summary.client = {
      name: core?.clientName ?? '',
      build: core?.clientBuild ?? 0,
      version: `0x${(core?.version ?? 0).toString(16).padStart(8, '0')}`,
      keyboardLayout: core?.keyboardLayout ?? 0,
      ...(core?.earlyCapabilityFlags !== undefined ? { earlyCapabilityFlags: core.earlyCapabilityFlags } : {}),
      encryptionMethods: sec.encryptionMethods,
      extEncryptionMethods: sec.extEncryptionMethods,
      ...(core?.serverSelectedProtocol !== undefined ? { serverSelectedProtocol: core.serverSelectedProtocol } : {}),
      channels: (data.network?.channelDefArray ?? []).map((c) => c.name),
    };
    out.events.push({ type: 'received', pdu: 'MCS Connect Initial', summary: `client ${this.summary.client.name} build ${this.summary.client.build}, encryptionMethods=0x${sec.encryptionMethods.toString(16)}` });
    if (this.selected === PROTOCOL.RDP) {
      // French-locale clients put their methods in extEncryptionMethods (MS-RDPBCGR 2.2.1.3.3)
      const offered = sec.encryptionMethods || sec.extEncryptionMethods;
      const c = this.policy.encryption(offered);
      if ('refuse' in c) {
        this.sendDomain(out, { kind: 'disconnectProviderUltimatum', value: { reason: RN_USER_REQUESTED } }, 'MCS Disconnect Provider Ultimatum');
        throw new AcceptorRefusal('refused', c.refuse);
      }
      this.choice = c;
    }
    this.summary.encryption = this.choice;
    this.channelIds = (data.network?.channelDefArray ?? []).map((_, i) => MCS_GLOBAL_CHANNEL_ID + 1 + i);
    const blocks: ServerDataBlock[] = [
      {
        kind: 'core',
        value: {
          version: this.policy.rdpVersion,
          // downgrade protection: echo what the client requested (MS-RDPBCGR 2.2.1.4.2)
          clientRequestedProtocols: this.request?.negReq?.requestedProtocols ?? 0,
          earlyCapabilityFlags: 0,
        },
      },
      // network before security, as Windows, xrdp and FreeRDP order them: rdesktop reads the
      // certificate's tags up to the end of the PDU and fails on a block after it
      { kind: 'network', value: { MCSChannelId: MCS_GLOBAL_CHANNEL_ID, channelIdArray: this.channelIds } },
      { kind: 'security', value: this.securityData() },
    ];
    const ud = new WriteCursor();
    encodeServerDataBlocks(blocks, ud);
    const g = new WriteCursor();
    // connectPDU length: Windows, xrdp and FreeRDP all write the constant 0x2a, and nmap's
    // rdp.lua skips a fixed 22-byte header that only fits that one-byte form
    encodeConferenceCreateResponse({ nodeID: 0x79f3, tag: 1, result: 0, userData: ud.finish(), connectPduLength: CONFERENCE_CREATE_RESPONSE_CONNECT_PDU_LENGTH }, g);
    const m = new WriteCursor();
    encodeMcsConnectResponse({ result: 0, calledConnectId: 0, domainParameters: { ...DOMAIN_PARAMETERS_TARGET }, userData: g.finish() }, m);
    out.output.push(encodeX224Data(m.finish()));
    out.events.push({ type: 'sent', pdu: 'MCS Connect Response', summary: `encryptionMethod=0x${this.choice.method.toString(16)} encryptionLevel=${this.choice.level}` });
    this.phase = 'ErectDomain';
  }

  private securityData() {
    if (this.choice.method === ENCRYPTION_METHOD_NONE && this.choice.level === ENCRYPTION_LEVEL_NONE) return { encryptionMethod: 0, encryptionLevel: 0 };
    // its own allocation, not a pool slice: a 32-byte view would keep an 8 KiB slab alive per connection
    this.serverRandom = Buffer.allocUnsafeSlow(32);
    this.serverRandom.set(this.random(32));
    return { encryptionMethod: this.choice.method, encryptionLevel: this.choice.level, serverRandom: this.serverRandom, serverCertificate: this.identity.certificate };
  }

  private onDomainPdu(pdu: DomainPdu, out: Out): void {
    if (pdu.kind === 'disconnectProviderUltimatum') {
      const why = `the client disconnected (${mcsReasonName(pdu.value.reason)}) in ${this.phaseName}`;
      throw new AcceptorRefusal(this.io?.acceptsFastPath ? 'finalized' : 'error', why);
    }
    switch (pdu.kind) {
      case 'erectDomainRequest':
        if (this.phase !== 'ErectDomain') break;
        out.events.push({ type: 'received', pdu: 'MCS Erect Domain Request', summary: '' });
        this.phase = 'AttachUser';
        return;
      case 'attachUserRequest':
        if (this.phase !== 'AttachUser' && this.phase !== 'ErectDomain') break;
        this.sendDomain(out, { kind: 'attachUserConfirm', value: { result: 0, initiator: USER_ID } }, 'MCS Attach User Confirm');
        this.phase = 'ChannelJoin';
        return;
      case 'channelJoinRequest': {
        if (this.phase !== 'ChannelJoin') break;
        // user, I/O, message and at most 31 static channels (CHANNEL_MAX_COUNT, MS-RDPBCGR 2.2.1.3.4)
        if (++this.joins > MAX_CHANNEL_JOINS) throw new AcceptorRefusal('error', `more than ${MAX_CHANNEL_JOINS} Channel Join Requests`);
        const id = pdu.value.channelId;
        const known = id === USER_ID || id === MCS_GLOBAL_CHANNEL_ID || this.channelIds.includes(id);
        this.sendDomain(out, { kind: 'channelJoinConfirm', value: { result: known ? 0 : 14, initiator: USER_ID, requested: id, channelId: id } }, 'MCS Channel Join Confirm');
        return;
      }
      case 'sendDataRequest':
        if (pdu.value.channelId !== MCS_GLOBAL_CHANNEL_ID) return; // virtual channel data: not ours to read
        return this.onIoData(pdu.value.userData, out);
      default:
        break;
    }
    throw new AcceptorRefusal('error', `unexpected ${pdu.kind} in ${this.phaseName}`);
  }

  /** Data on the I/O channel: after the channel joins, the I/O channel's to handle. */
  private onIoData(userData: Uint8Array, out: Out): void {
    if (this.phase === 'ChannelJoin') {
      const core = this.clientData?.core;
      this.io = new ServerIoChannel({
        policy: this.policy,
        identity: this.identity,
        random: this.random,
        choice: this.choice,
        ...(this.serverRandom ? { serverRandom: this.serverRandom } : {}),
        desktop: { width: core?.desktopWidth ?? 1024, height: core?.desktopHeight ?? 768 },
        sendDomain: (o, pdu, name) => this.sendDomain(o, pdu, name),
      });
      this.phase = 'IoChannel';
    }
    // no skipping ahead: share PDUs only after our Demand Active, which needs the Client Info
    if (this.phase !== 'IoChannel' || !this.io) throw new AcceptorRefusal('error', `unexpected I/O channel data in ${this.phaseName}`);
    this.io.onData(userData, out);
    if (this.io.logon) {
      this.summary.user = this.io.logon.user;
      this.summary.domain = this.io.logon.domain;
      this.summary.autoLogon = this.io.logon.autoLogon;
    }
    const end = this.io.end;
    if (end) this.finish(end.outcome, end.reason, out, end.disconnect);
  }

  private sendDomain(out: Out, pdu: DomainPdu, name: string): void {
    const w = new WriteCursor();
    if (pdu.kind === 'disconnectProviderUltimatum') encodeMcsDisconnectProviderUltimatum(pdu.value, w);
    else encodeDomainPdu(pdu, w);
    out.output.push(encodeX224Data(w.finish()));
    out.events.push({ type: 'sent', pdu: name, summary: '' });
  }
}

function protocolNames(mask: number): string[] {
  const names = Object.entries(PROTOCOL).filter(([, v]) => v !== 0 && (mask & v) === v).map(([k]) => k);
  return names.length ? names : ['RDP'];
}
