import type { Pause, Sequence, StepResult } from '../connector/sequence.js';
import { RdpCryptoError } from '../crypto/errors.js';
import { deriveServerFipsKeys, FipsSession } from '../crypto/fips.js';
import { SecurityLayer } from '../crypto/security-layer.js';
import { deriveServerSessionKeys, isRc4Method, Rc4Session } from '../crypto/session-keys.js';
import { collectClientData, decodeClientDataBlocks, ENCRYPTION_METHOD_FIPS, ENCRYPTION_METHOD_NONE, type ClientData } from '../pdu/client-data.js';
import { decodeInfoPacket } from '../pdu/client-info.js';
import { WriteCursor } from '../pdu/cursor.js';
import { DecodeError } from '../pdu/errors.js';
import { CONFERENCE_CREATE_RESPONSE_CONNECT_PDU_LENGTH, decodeConferenceCreateRequest, encodeConferenceCreateResponse } from '../pdu/gcc.js';
import { encodeLicensingPdu, ERR_INVALID_CLIENT, ST_TOTAL_ABORT, validClientLicensingPdu } from '../pdu/licensing.js';
import {
  DOMAIN_PARAMETERS_TARGET,
  decodeMcsConnectInitial,
  encodeMcsConnectResponse,
  encodeMcsDisconnectProviderUltimatum,
  mcsReasonName,
  RN_USER_REQUESTED,
} from '../pdu/mcs.js';
import { decodeDomainPdu, encodeDomainPdu, MCS_GLOBAL_CHANNEL_ID, sendData, type DomainPdu } from '../pdu/mcs-domain.js';
import { failureCodeName, NEG_REQ_FLAGS, PROTOCOL, protocolName, type RdpNegFailure, type RdpNegRsp } from '../pdu/nego.js';
import { SEC_EXCHANGE_PKT, SEC_INFO_PKT, SEC_LICENSE_PKT, decodeSecurityExchangePdu } from '../pdu/security-header.js';
import { ENCRYPTION_LEVEL_NONE, encodeServerDataBlocks, type ServerDataBlock } from '../pdu/server-data.js';
import { decodeSharePdus, encodeSharePdu, STREAM_LOW, type SharePdu } from '../pdu/share.js';
import {
  CTRLACTION_COOPERATE,
  CTRLACTION_GRANTED_CONTROL,
  CTRLACTION_REQUEST_CONTROL,
  FONTMAP_FIRST,
  FONTMAP_LAST,
  SYNCMSGTYPE_SYNC,
  type DataPduBody,
} from '../pdu/share-data.js';
import { TPKT_HINT, TPKT_OR_FASTPATH_HINT, type PduHint } from '../pdu/tpkt.js';
import { decodeConnectionRequest, decodeX224Data, encodeConnectionConfirm, encodeX224Data, type ConnectionRequest } from '../pdu/x224.js';
import type { AcceptorPolicy } from './acceptor-policy.js';
import { CredsspServer } from './credssp-server.js';
import { AUTHZ_SUCCESS, encodeEarlyUserAuthResult } from '../pdu/early-user-auth.js';
import { TSREQUEST_HINT } from '../pdu/credssp.js';
import { ntStatusName } from '../pdu/ntstatus.js';
import { serverCapabilitySets } from './server-capabilities.js';
import type { ServerIdentity } from './server-identity.js';
import { licensingIdentity, ServerLicensing } from './server-licensing.js';

/**
 * The server side of the RDP connection sequence (MS-RDPBCGR 1.3.1.1), sans-IO, driven by an
 * AcceptorPolicy: negotiation as the emulated server does it, TLS as a pause, the MCS Connect
 * Response with our encryption choice and certificate, Standard RDP Security, licensing
 * (STATUS_VALID_CLIENT), capabilities and finalization; once the client is active the server
 * ends the session with a Set Error Info PDU and a Disconnect Provider Ultimatum. What the
 * client asked for is collected into a ConnectionSummary, the line `serve` logs.
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

export type AcceptorEvent = { type: 'received' | 'sent'; pdu: string; summary: string } | { type: 'note'; text: string };

type Phase =
  | 'ConnectionRequest'
  | 'SecurityUpgrade'
  | 'Credssp'
  | 'ConnectInitial'
  | 'ErectDomain'
  | 'AttachUser'
  | 'ChannelJoin'
  | 'SecurityExchange'
  | 'ClientInfo'
  | 'Licensing'
  | 'ConfirmActive'
  | 'ClientFinalization'
  | 'Active'
  | 'Done';

type Out = StepResult<AcceptorEvent>;

/** The user id we give the client, and the server channel id (MS-RDPBCGR 2.2.1.7: 1001 and up). */
const USER_ID = 1007;
const SERVER_CHANNEL_ID = 1002;
const MAX_CHANNEL_JOINS = 34;
/** Set Error Info sent when we end an activated session: the server ended it on purpose (2.2.5.1.1). */
const ERRINFO_RPC_INITIATED_DISCONNECT = 0x00000001;

export class ServerAcceptor implements Sequence<AcceptorEvent> {
  private phase: Phase = 'ConnectionRequest';
  private request?: ConnectionRequest;
  private selected: number = PROTOCOL.RDP;
  private clientData?: ClientData;
  private choice: { method: number; level: number } = { method: ENCRYPTION_METHOD_NONE, level: ENCRYPTION_LEVEL_NONE };
  private serverRandom?: Buffer;
  private security = SecurityLayer.plain('server');
  private channelIds: number[] = [];
  private readonly macForms = new Set<string>();
  private clientFinal = new Set<string>();
  private joins = 0;
  /** set when the negotiation refused a legacy client: refuse its MCS Connect Initial */
  private refuseAtMcs?: string;
  /** the MS-RDPELE exchange, when the policy asks for a platform challenge */
  private licensing?: ServerLicensing;
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
  get phaseName(): Phase {
    return this.phase;
  }

  nextPduHint(): PduHint | null {
    if (this.phase === 'Done' || this.phase === 'SecurityUpgrade') return null;
    if (this.phase === 'Credssp') return TSREQUEST_HINT;
    // clients send fast-path input once they have sent their Confirm Active
    return this.phase === 'ClientFinalization' || this.phase === 'Active' ? TPKT_OR_FASTPATH_HINT : TPKT_HINT;
  }

  step(input: Uint8Array | null): Out {
    const out: Out = { output: [], events: [] };
    if (!input || this.phase === 'Done') return out; // once ended, input changes nothing
    try {
      this.advance(input, out);
    } catch (err) {
      if (err instanceof DecodeError || err instanceof RdpCryptoError) {
        this.finish('error', `${this.phase}: ${err.message}`, out);
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
    if (this.macForms.size) this.summary.macForms = [...this.macForms];
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
        if (input[0] !== 0x03) {
          // fast-path input: decrypt to keep the RC4 stream in step, then ignore it
          this.security.unwrapFastPath(input);
          return;
        }
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
    this.serverRandom = Buffer.from(this.random(32));
    return { encryptionMethod: this.choice.method, encryptionLevel: this.choice.level, serverRandom: this.serverRandom, serverCertificate: this.identity.certificate };
  }

  private onDomainPdu(pdu: DomainPdu, out: Out): void {
    if (pdu.kind === 'disconnectProviderUltimatum') {
      const why = `the client disconnected (${mcsReasonName(pdu.value.reason)}) in ${this.phase}`;
      throw new AcceptorRefusal(this.phase === 'Active' || this.phase === 'ClientFinalization' ? 'finalized' : 'error', why);
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
    throw new AcceptorRefusal('error', `unexpected ${pdu.kind} in ${this.phase}`);
  }

  private onIoData(userData: Uint8Array, out: Out): void {
    if (this.phase === 'ChannelJoin') this.phase = this.choice.method === ENCRYPTION_METHOD_NONE ? 'ClientInfo' : 'SecurityExchange';
    switch (this.phase) {
      case 'SecurityExchange': {
        const ex = decodeSecurityExchangePdu(userData);
        if (!(ex.flags & SEC_EXCHANGE_PKT)) throw new AcceptorRefusal('error', 'expected a Security Exchange PDU');
        const clientRandom = this.identity.clientRandom(ex.packet.encryptedClientRandom);
        this.security = serverLayer(this.choice, clientRandom, this.serverRandom!);
        out.events.push({ type: 'received', pdu: 'Security Exchange', summary: 'client random decrypted' });
        this.phase = 'ClientInfo';
        return;
      }
      case 'ClientInfo': {
        // SEC_ENCRYPT (0x0008) and SEC_SECURE_CHECKSUM (0x0800) in the little-endian flags
        const salted = userData.length >= 2 && (userData[0]! & 0x08) !== 0 && (userData[1]! & 0x08) !== 0;
        if (userData.length >= 2 && userData[0]! & 0x08) this.macForms.add(salted ? 'salted' : 'plain');
        if (salted && this.policy.rejectSaltedMac && this.choice.method !== ENCRYPTION_METHOD_FIPS) {
          this.finish('refused', 'MAC checksum error: the Client Info PDU carries a salted MAC, which this server (as xrdp 0.9.21.1-1+deb12u3) does not accept', out, true);
          return;
        }
        const { flags, body } = this.security.unwrap(userData, 'clientInfo');
        if (!(flags & SEC_INFO_PKT)) throw new AcceptorRefusal('error', 'expected the Client Info PDU');
        const info = decodeInfoPacket(body);
        this.summary.user = info.userName;
        this.summary.domain = info.domain;
        this.summary.autoLogon = (info.flags & 0x08) !== 0; // INFO_AUTOLOGON
        out.events.push({ type: 'received', pdu: 'Client Info', summary: `user "${info.userName}"` });
        if (this.policy.licensing === 'platform-challenge') {
          this.licensing = new ServerLicensing(licensingIdentity(), this.random);
          this.sendIo(out, this.security.wrap(this.licensing.licenseRequest(), 'licensing', SEC_LICENSE_PKT), 'Server License Request');
          this.phase = 'Licensing';
          return;
        }
        this.sendValidClientAndDemandActive(out);
        return;
      }
      case 'Licensing': {
        // MS-RDPELE 3.2.5: the client's new license request (or license info), then its challenge response
        const { flags, body } = this.security.unwrap(userData, 'licensing');
        if (!(flags & SEC_LICENSE_PKT)) throw new AcceptorRefusal('error', 'expected a client licensing PDU');
        const lic = this.licensing!;
        if (lic.phase === 'WaitClientRequest') {
          const challenge = lic.onNewLicenseRequest(body);
          out.events.push({ type: 'received', pdu: 'Client New License Request', summary: 'pre-master secret decrypted' });
          this.sendIo(out, this.security.wrap(challenge, 'licensing', SEC_LICENSE_PKT), 'Server Platform Challenge');
          return;
        }
        const r = lic.onPlatformChallengeResponse(body);
        out.events.push({ type: 'received', pdu: 'Client Platform Challenge Response', summary: r.reason });
        if (!r.ok) {
          this.sendIo(out, this.security.wrap(lic.errorAlert(ERR_INVALID_CLIENT, ST_TOTAL_ABORT), 'licensing', SEC_LICENSE_PKT), 'Licensing ERR_INVALID_CLIENT');
          this.finish('refused', `licensing: ${r.reason}`, out, true);
          return;
        }
        this.sendValidClientAndDemandActive(out);
        return;
      }
      case 'ConfirmActive':
      case 'ClientFinalization':
      case 'Active': {
        const { body } = this.security.unwrap(userData, 'other');
        for (const share of decodeSharePdus(body)) this.onShare(share, out);
        return;
      }
      default:
        // no skipping ahead: share PDUs only after our Demand Active, which needs the Client Info
        throw new AcceptorRefusal('error', `unexpected I/O channel data in ${this.phase}`);
    }
  }

  /** End licensing with STATUS_VALID_CLIENT (MS-RDPBCGR 2.2.1.12) and start the capabilities exchange (2.2.1.13.1). */
  private sendValidClientAndDemandActive(out: Out): void {
    const lic = new WriteCursor();
    encodeLicensingPdu(validClientLicensingPdu(), lic);
    this.sendIo(out, this.security.wrap(lic.finish(), 'licensing', SEC_LICENSE_PKT), 'Licensing STATUS_VALID_CLIENT');
    const core = this.clientData?.core;
    this.sendShare(out, {
      kind: 'demandActive',
      pduSource: SERVER_CHANNEL_ID,
      value: {
        shareId: 0x103ea,
        sourceDescriptor: Buffer.from('RDP\0', 'latin1'),
        capabilitySets: serverCapabilitySets({ desktopWidth: core?.desktopWidth ?? 1024, desktopHeight: core?.desktopHeight ?? 768 }),
        sessionId: 0,
      },
    }, 'Demand Active');
    this.phase = 'ConfirmActive';
  }

  private onShare(share: SharePdu, out: Out): void {
    if (share.kind === 'confirmActive') {
      if (this.phase !== 'ConfirmActive') throw new AcceptorRefusal('error', `a Confirm Active in ${this.phase}`);
      out.events.push({ type: 'received', pdu: 'Confirm Active', summary: `${share.value.capabilitySets.length} capability sets` });
      this.phase = 'ClientFinalization';
      return;
    }
    if (share.kind !== 'data') return;
    const b = share.value.body;
    const name =
      b.kind === 'synchronize' ? 'Synchronize'
      : b.kind === 'control' && b.value.action === CTRLACTION_COOPERATE ? 'Control Cooperate'
      : b.kind === 'control' && b.value.action === CTRLACTION_REQUEST_CONTROL ? 'Control Request Control'
      : b.kind === 'fontList' ? 'Font List'
      : undefined;
    if (!name || this.phase !== 'ClientFinalization') return;
    out.events.push({ type: 'received', pdu: name, summary: '' });
    this.clientFinal.add(name);
    // answer each client finalization PDU as it comes (MS-RDPBCGR 1.3.1.1, 2.2.1.19-2.2.1.22):
    // rdesktop waits for our Synchronize, Cooperate and Granted Control before its Font List
    if (name === 'Synchronize') this.sendData(out, { kind: 'synchronize', value: { messageType: SYNCMSGTYPE_SYNC, targetUser: USER_ID } }, 'Synchronize');
    if (name === 'Control Cooperate') this.sendData(out, { kind: 'control', value: { action: CTRLACTION_COOPERATE, grantId: 0, controlId: 0 } }, 'Control Cooperate');
    if (name === 'Control Request Control') {
      this.sendData(out, { kind: 'control', value: { action: CTRLACTION_GRANTED_CONTROL, grantId: USER_ID, controlId: 0x03ea } }, 'Control Granted Control');
    }
    if (name !== 'Font List') return;
    this.sendData(out, { kind: 'fontMap', value: { numberEntries: 0, totalNumEntries: 0, mapFlags: FONTMAP_FIRST | FONTMAP_LAST, entrySize: 4 } }, 'Font Map');
    // the client is active: the session ends here, by our choice, and says why
    this.sendData(out, { kind: 'setErrorInfo', value: { errorInfo: ERRINFO_RPC_INITIATED_DISCONNECT } }, 'Set Error Info');
    this.finish('finalized', 'activated; the server ended the session (Set Error Info ERRINFO_RPC_INITIATED_DISCONNECT)', out, true);
  }

  private sendDomain(out: Out, pdu: DomainPdu, name: string): void {
    const w = new WriteCursor();
    if (pdu.kind === 'disconnectProviderUltimatum') encodeMcsDisconnectProviderUltimatum(pdu.value, w);
    else encodeDomainPdu(pdu, w);
    out.output.push(encodeX224Data(w.finish()));
    out.events.push({ type: 'sent', pdu: name, summary: '' });
  }

  private sendIo(out: Out, userData: Uint8Array, name: string): void {
    this.sendDomain(out, { kind: 'sendDataIndication', value: sendData(USER_ID, MCS_GLOBAL_CHANNEL_ID, userData) }, name);
  }

  private sendShare(out: Out, pdu: SharePdu, name: string): void {
    const w = new WriteCursor();
    encodeSharePdu(pdu, w);
    this.sendIo(out, this.security.wrap(w.finish(), 'other'), name);
  }

  private sendData(out: Out, body: DataPduBody, name: string): void {
    this.sendShare(out, { kind: 'data', pduSource: SERVER_CHANNEL_ID, value: { shareId: 0x103ea, streamId: STREAM_LOW, compressedType: 0, compressedLength: 0, body } }, name);
  }
}

/** A deliberate end of the connection (a refusal or a client's disconnect), with its reason. */
class AcceptorRefusal extends Error {
  constructor(readonly outcome: ConnectionSummary['outcome'], message: string) {
    super(message);
  }
}

function protocolNames(mask: number): string[] {
  const names = Object.entries(PROTOCOL).filter(([, v]) => v !== 0 && (mask & v) === v).map(([k]) => k);
  return names.length ? names : ['RDP'];
}

/** The server's keys from the client random (MS-RDPBCGR 5.3.5): RC4 or FIPS. */
function serverLayer(choice: { method: number; level: number }, clientRandom: Uint8Array, serverRandom: Uint8Array): SecurityLayer {
  const inputs = { clientRandom, serverRandom };
  if (choice.method === ENCRYPTION_METHOD_FIPS) return new SecurityLayer('server', choice.method, choice.level, undefined, new FipsSession(deriveServerFipsKeys(inputs)), 'unsalted');
  if (!isRc4Method(choice.method)) throw new RdpCryptoError('UnsupportedMethod', 'encryptionMethod', `0x${choice.method.toString(16)}`);
  return new SecurityLayer('server', choice.method, choice.level, new Rc4Session(deriveServerSessionKeys({ ...inputs, method: choice.method })), undefined, 'unsalted');
}
