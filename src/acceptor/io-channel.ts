import type { StepResult } from '../connector/sequence.js';
import { RdpCryptoError } from '../crypto/errors.js';
import { deriveServerFipsKeys, FipsSession } from '../crypto/fips.js';
import { SecurityLayer } from '../crypto/security-layer.js';
import { deriveServerSessionKeys, isRc4Method, Rc4Session } from '../crypto/session-keys.js';
import { ENCRYPTION_METHOD_FIPS, ENCRYPTION_METHOD_NONE } from '../pdu/client-data.js';
import { decodeInfoPacket } from '../pdu/client-info.js';
import { WriteCursor } from '../pdu/cursor.js';
import { encodeLicensingPdu, ERR_INVALID_CLIENT, ST_TOTAL_ABORT, validClientLicensingPdu } from '../pdu/licensing.js';
import { MCS_GLOBAL_CHANNEL_ID, sendData, type DomainPdu } from '../pdu/mcs-domain.js';
import { SEC_EXCHANGE_PKT, SEC_INFO_PKT, SEC_LICENSE_PKT, decodeSecurityExchangePdu } from '../pdu/security-header.js';
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
import type { AcceptorPolicy } from './acceptor-policy.js';
import { serverCapabilitySets } from './server-capabilities.js';
import type { ServerIdentity } from './server-identity.js';
import { licensingIdentity, ServerLicensing } from './server-licensing.js';

/**
 * The server's side of the MCS I/O channel once the channels are joined (MS-RDPBCGR 1.3.1.1,
 * phases 5 to 9): the Security Exchange (Standard RDP Security), the Client Info, licensing
 * (STATUS_VALID_CLIENT, or the MS-RDPELE platform challenge), the capabilities exchange and
 * finalization. Once the client is active the session ends, by our choice, with a Set Error
 * Info PDU. The acceptor (acceptor.ts) owns the connection up to the channel joins and hands
 * every I/O channel PDU and fast-path frame to this class.
 */
export type IoPhase = 'SecurityExchange' | 'ClientInfo' | 'Licensing' | 'ConfirmActive' | 'ClientFinalization' | 'Active';

export type AcceptorEvent = { type: 'received' | 'sent'; pdu: string; summary: string } | { type: 'note'; text: string };
type Out = StepResult<AcceptorEvent>;

/** The user id we give the client, and the server channel id (MS-RDPBCGR 2.2.1.7: 1001 and up). */
export const USER_ID = 1007;
const SERVER_CHANNEL_ID = 1002;
/** Set Error Info sent when we end an activated session: the server ended it on purpose (2.2.5.1.1). */
const ERRINFO_RPC_INITIATED_DISCONNECT = 0x00000001;

/** What the I/O channel learns of the client (the acceptor's ConnectionSummary takes it). */
export interface ClientLogon {
  user: string;
  domain: string;
  autoLogon: boolean;
}

/** The end of the connection the I/O channel asks for: a refusal, an error, or activation done. */
export interface IoEnd {
  outcome: 'finalized' | 'refused' | 'error';
  reason: string;
  /** send an MCS Disconnect Provider Ultimatum first */
  disconnect: boolean;
}

/** A deliberate end of the connection (a refusal or a client's disconnect), with its reason. */
export class AcceptorRefusal extends Error {
  constructor(
    readonly outcome: 'finalized' | 'refused' | 'error',
    message: string,
  ) {
    super(message);
  }
}

export interface IoChannelContext {
  policy: AcceptorPolicy;
  identity: ServerIdentity;
  random: (n: number) => Uint8Array;
  /** the encryption the MCS Connect Response announced */
  choice: { method: number; level: number };
  serverRandom?: Buffer;
  desktop: { width: number; height: number };
  /** write one domain PDU (the acceptor encodes and frames it) */
  sendDomain: (out: Out, pdu: DomainPdu, name: string) => void;
}

export class ServerIoChannel {
  phase: IoPhase;
  private security = SecurityLayer.plain('server');
  private licensing?: ServerLicensing;
  private readonly clientFinal = new Set<string>();
  /** MAC forms the client used (SEC_SECURE_CHECKSUM or not) */
  readonly macForms = new Set<string>();
  logon?: ClientLogon;
  /** set when the channel wants the connection ended */
  end?: IoEnd;

  constructor(private readonly ctx: IoChannelContext) {
    this.phase = ctx.choice.method === ENCRYPTION_METHOD_NONE ? 'ClientInfo' : 'SecurityExchange';
  }

  /** Clients send fast-path input once they have sent their Confirm Active. */
  get acceptsFastPath(): boolean {
    return this.phase === 'ClientFinalization' || this.phase === 'Active';
  }

  /** Fast-path input: decrypt it to keep the RC4 stream in step, then ignore it. */
  onFastPath(frame: Uint8Array): void {
    this.security.unwrapFastPath(frame);
  }

  /** One Send Data Request on the I/O channel. */
  onData(userData: Uint8Array, out: Out): void {
    switch (this.phase) {
      case 'SecurityExchange': {
        const ex = decodeSecurityExchangePdu(userData);
        if (!(ex.flags & SEC_EXCHANGE_PKT)) throw new AcceptorRefusal('error', 'expected a Security Exchange PDU');
        const clientRandom = this.ctx.identity.clientRandom(ex.packet.encryptedClientRandom);
        this.security = serverLayer(this.ctx.choice, clientRandom, this.ctx.serverRandom!);
        out.events.push({ type: 'received', pdu: 'Security Exchange', summary: 'client random decrypted' });
        this.phase = 'ClientInfo';
        return;
      }
      case 'ClientInfo':
        return this.onClientInfo(userData, out);
      case 'Licensing':
        return this.onLicensing(userData, out);
      case 'ConfirmActive':
      case 'ClientFinalization':
      case 'Active': {
        const { body } = this.security.unwrap(userData, 'other');
        for (const share of decodeSharePdus(body)) this.onShare(share, out);
        return;
      }
    }
  }

  private onClientInfo(userData: Uint8Array, out: Out): void {
    // SEC_ENCRYPT (0x0008) and SEC_SECURE_CHECKSUM (0x0800) in the little-endian flags
    const salted = userData.length >= 2 && (userData[0]! & 0x08) !== 0 && (userData[1]! & 0x08) !== 0;
    if (userData.length >= 2 && userData[0]! & 0x08) this.macForms.add(salted ? 'salted' : 'plain');
    if (salted && this.ctx.policy.rejectSaltedMac && this.ctx.choice.method !== ENCRYPTION_METHOD_FIPS) {
      this.end = { outcome: 'refused', reason: 'MAC checksum error: the Client Info PDU carries a salted MAC, which this server (as xrdp 0.9.21.1-1+deb12u3) does not accept', disconnect: true };
      return;
    }
    const { flags, body } = this.security.unwrap(userData, 'clientInfo');
    if (!(flags & SEC_INFO_PKT)) throw new AcceptorRefusal('error', 'expected the Client Info PDU');
    const info = decodeInfoPacket(body);
    this.logon = { user: info.userName, domain: info.domain, autoLogon: (info.flags & 0x08) !== 0 }; // INFO_AUTOLOGON
    out.events.push({ type: 'received', pdu: 'Client Info', summary: `user "${info.userName}"` });
    if (this.ctx.policy.licensing === 'platform-challenge') {
      this.licensing = new ServerLicensing(licensingIdentity(), this.ctx.random);
      this.sendIo(out, this.security.wrap(this.licensing.licenseRequest(), 'licensing', SEC_LICENSE_PKT), 'Server License Request');
      this.phase = 'Licensing';
      return;
    }
    this.sendValidClientAndDemandActive(out);
  }

  /** MS-RDPELE 3.2.5: the client's new license request (or license info), then its challenge response. */
  private onLicensing(userData: Uint8Array, out: Out): void {
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
      this.end = { outcome: 'refused', reason: `licensing: ${r.reason}`, disconnect: true };
      return;
    }
    this.sendValidClientAndDemandActive(out);
  }

  /** End licensing with STATUS_VALID_CLIENT (MS-RDPBCGR 2.2.1.12) and start the capabilities exchange (2.2.1.13.1). */
  private sendValidClientAndDemandActive(out: Out): void {
    const lic = new WriteCursor();
    encodeLicensingPdu(validClientLicensingPdu(), lic);
    this.sendIo(out, this.security.wrap(lic.finish(), 'licensing', SEC_LICENSE_PKT), 'Licensing STATUS_VALID_CLIENT');
    const { width, height } = this.ctx.desktop;
    this.sendShare(out, {
      kind: 'demandActive',
      pduSource: SERVER_CHANNEL_ID,
      value: {
        shareId: 0x103ea,
        sourceDescriptor: Buffer.from('RDP\0', 'latin1'),
        capabilitySets: serverCapabilitySets({ desktopWidth: width, desktopHeight: height }),
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
    this.phase = 'Active';
    this.sendData(out, { kind: 'setErrorInfo', value: { errorInfo: ERRINFO_RPC_INITIATED_DISCONNECT } }, 'Set Error Info');
    this.end = { outcome: 'finalized', reason: 'activated; the server ended the session (Set Error Info ERRINFO_RPC_INITIATED_DISCONNECT)', disconnect: true };
  }

  private sendIo(out: Out, userData: Uint8Array, name: string): void {
    this.ctx.sendDomain(out, { kind: 'sendDataIndication', value: sendData(USER_ID, MCS_GLOBAL_CHANNEL_ID, userData) }, name);
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

/** The server's keys from the client random (MS-RDPBCGR 5.3.5): RC4 or FIPS. */
function serverLayer(choice: { method: number; level: number }, clientRandom: Uint8Array, serverRandom: Uint8Array): SecurityLayer {
  const inputs = { clientRandom, serverRandom };
  if (choice.method === ENCRYPTION_METHOD_FIPS) return new SecurityLayer('server', choice.method, choice.level, undefined, new FipsSession(deriveServerFipsKeys(inputs)), 'unsalted');
  if (!isRc4Method(choice.method)) throw new RdpCryptoError('UnsupportedMethod', 'encryptionMethod', `0x${choice.method.toString(16)}`);
  return new SecurityLayer('server', choice.method, choice.level, new Rc4Session(deriveServerSessionKeys({ ...inputs, method: choice.method })), undefined, 'unsalted');
}
