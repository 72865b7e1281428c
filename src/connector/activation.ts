import type { MacForm } from '../crypto/session-keys.js';
import { findCapabilitySet, capabilitySetNames } from '../pdu/capabilities.js';
import {
  AF_INET,
  INFO_AUTOLOGON,
  INFO_DISABLECTRLALTDEL,
  INFO_ENABLEWINDOWSKEY,
  INFO_LOGONNOTIFY,
  INFO_MAXIMIZESHELL,
  INFO_MOUSE,
  INFO_NOAUDIOPLAYBACK,
  INFO_UNICODE,
  encodeInfoPacket,
} from '../pdu/client-info.js';
import { WriteCursor } from '../pdu/cursor.js';
import { errorInfoName } from '../pdu/error-info.js';
import { licenseErrorCodeName, licenseStateTransitionName, decodeLicensingPdu, STATUS_VALID_CLIENT } from '../pdu/licensing.js';
import { mcsReasonName, mcsResultName } from '../pdu/mcs.js';
import { decodeDomainPdu, encodeDomainPdu, sendData, type DomainPdu } from '../pdu/mcs-domain.js';
import { SEC_INFO_PKT, SEC_LICENSE_PKT } from '../pdu/security-header.js';
import type { ServerNetworkData, ServerSecurityData } from '../pdu/server-data.js';
import { decodeSharePdus, encodeSharePdu, STREAM_LOW, type SharePdu } from '../pdu/share.js';
import { CTRLACTION_COOPERATE, CTRLACTION_GRANTED_CONTROL, CTRLACTION_REQUEST_CONTROL, FONTLIST_FIRST, FONTLIST_LAST, SYNCMSGTYPE_SYNC, type DataPduBody } from '../pdu/share-data.js';
import { TPKT_HINT, TPKT_OR_FASTPATH_HINT, type PduHint } from '../pdu/tpkt.js';
import { decodeX224Data, encodeX224Data } from '../pdu/x224.js';
import { clientCapabilitySets } from './client-capabilities.js';
import { ClientLicensing } from './client-licensing-exchange.js';
import { clientSecurity } from './client-security.js';
import type { SecurityLayer } from '../crypto/security-layer.js';
import { ConnectorError } from './errors.js';

/**
 * The client side of the connection sequence after the MCS Connect Response (MS-RDPBCGR
 * 1.3.1.1): Erect Domain, Attach User, Channel Joins, Security Exchange, Client Info,
 * licensing, capabilities (Demand / Confirm Active) and finalization, up to the server's Font
 * Map. Sans-IO like the rest of the connector; ClientConnector drives it.
 */
export interface ActivationConfig {
  clientName: string;
  desktopWidth: number;
  desktopHeight: number;
  /** the MAC form for the PDUs we encrypt (MS-RDPBCGR 5.3.6.1: plain; 5.3.6.1.1: salted) */
  macForm: MacForm;
  /** put into the Client Info PDU; auto-logon only when `autoLogon` is set */
  credentials?: { user: string; domain?: string; password?: string; autoLogon?: boolean };
  random: (n: number) => Uint8Array;
}

/** How far a connection got (the probe's `reached`), in the order of MS-RDPBCGR 1.3.1.1. */
export type ActivationReached = 'mcs' | 'security-exchange' | 'client-info' | 'licensing' | 'demand-active' | 'finalized';

export interface ActivationResult {
  reached: ActivationReached;
  userId: number;
  ioChannelId: number;
  channels: number[];
  /**
   * how licensing ended (MS-RDPELE 1.3.3): 'valid-client' when the server let us on at once;
   * 'new-license-request' when it sent a license request first, then STATUS_VALID_CLIENT (xrdp);
   * 'platform-challenge' when it also challenged us (Windows without a license server, in its grace
   * period); 'license-issued' when it ended with a SERVER_NEW_LICENSE or SERVER_UPGRADE_LICENSE
   */
  licensing: 'valid-client' | 'new-license-request' | 'platform-challenge' | 'license-issued';
  encrypted: { clientToServer: boolean; serverToClient: boolean };
  macForm?: MacForm;
  serverCapabilities: string[];
  /** the PDUs of the server's finalization, in the order received */
  finalization: string[];
  /** a non-zero Set Error Info PDU received on the way */
  errorInfo?: { code: number; name: string };
}

export type ActivationEvent = { type: 'sent' | 'received'; pdu: string; summary: string };

type Phase = 'AttachUser' | 'ChannelJoin' | 'Licensing' | 'DemandActive' | 'Finalization' | 'Done';
type Out = { output: Uint8Array[]; events: ActivationEvent[] };

const NO_DATE = { wYear: 0, wMonth: 0, wDayOfWeek: 0, wDay: 0, wHour: 0, wMinute: 0, wSecond: 0, wMilliseconds: 0 };
/** TS_TIME_ZONE_INFORMATION for UTC: we do not tell the server the machine's zone. */
const UTC = { bias: 0, standardName: 'UTC', standardDate: NO_DATE, standardBias: 0, daylightName: 'UTC', daylightDate: NO_DATE, daylightBias: 0 };

/** Server finalization PDUs (MS-RDPBCGR 2.2.1.19-2.2.1.22). */
const FINAL = ['Synchronize', 'Control Cooperate', 'Control Granted Control', 'Font Map'] as const;

export class ClientActivation {
  private phase: Phase = 'AttachUser';
  private userId = 0;
  private readonly ioChannelId: number;
  private readonly toJoin: number[] = [];
  private readonly joined: number[] = [];
  private readonly security: SecurityLayer;
  private readonly exchangePdu: Buffer | undefined;
  private shareId = 0;
  private licensing: ActivationResult['licensing'] = 'valid-client';
  /** the MS-RDPELE new-license exchange: its keys live from the license request to the end of licensing */
  private readonly licensingExchange: ClientLicensing;
  private serverCapabilities: string[] = [];
  private readonly finalization: string[] = [];
  private errorInfo?: ActivationResult['errorInfo'];
  private sawEncryptedFromServer = false;
  private reached: ActivationReached = 'mcs';

  constructor(
    private readonly cfg: ActivationConfig,
    private readonly server: { security?: ServerSecurityData; network?: ServerNetworkData; messageChannelId?: number },
    private readonly tlsServerPublicKey?: Uint8Array,
  ) {
    this.ioChannelId = server.network?.MCSChannelId ?? 1003;
    const { layer, exchangePdu } = clientSecurity(server.security, cfg.random(32), cfg.macForm);
    this.security = layer;
    this.exchangePdu = exchangePdu;
    this.licensingExchange = new ClientLicensing(cfg.random);
  }

  get done(): boolean {
    return this.phase === 'Done';
  }

  get result(): ActivationResult {
    return {
      reached: this.reached,
      userId: this.userId,
      ioChannelId: this.ioChannelId,
      channels: [...this.joined],
      licensing: this.licensing,
      encrypted: { clientToServer: this.security.encrypting, serverToClient: this.sawEncryptedFromServer },
      ...(this.security.rc4MacForm ? { macForm: this.security.rc4MacForm } : {}),
      serverCapabilities: this.serverCapabilities,
      finalization: [...this.finalization],
      ...(this.errorInfo ? { errorInfo: this.errorInfo } : {}),
    };
  }

  /** Server fast-path output appears once the server is active (after Demand Active). */
  hint(): PduHint {
    return this.phase === 'DemandActive' || this.phase === 'Finalization' ? TPKT_OR_FASTPATH_HINT : TPKT_HINT;
  }

  /** Erect Domain Request and Attach User Request (MS-RDPBCGR 2.2.1.5, 2.2.1.6). */
  start(): Out {
    const out: Out = { output: [], events: [] };
    this.send(out, { kind: 'erectDomainRequest', value: { subHeight: 0, subInterval: 0 } }, 'MCS Erect Domain Request', '');
    this.send(out, { kind: 'attachUserRequest', value: {} }, 'MCS Attach User Request', '');
    return out;
  }

  step(frame: Uint8Array): Out {
    const out: Out = { output: [], events: [] };
    if (frame[0] !== 0x03) {
      // a fast-path update: decrypt it anyway, so that the RC4 stream stays in step
      this.security.unwrapFastPath(frame);
      if (this.security.encrypting) this.sawEncryptedFromServer = true;
      out.events.push({ type: 'received', pdu: 'fast-path update', summary: `${frame.length} bytes` });
      return out;
    }
    const pdu = decodeDomainPdu(decodeX224Data(frame));
    if (pdu.kind === 'disconnectProviderUltimatum') {
      const reason = mcsReasonName(pdu.value.reason);
      out.events.push({ type: 'received', pdu: 'MCS Disconnect Provider Ultimatum', summary: reason });
      const info = this.errorInfo ? `, after Set Error Info ${this.errorInfo.name}` : '';
      throw new ConnectorError('SERVER_DISCONNECTED', this.phaseName(), `the server disconnected during ${this.phaseName()} (${reason}${info})`, undefined, this.errorInfo?.code);
    }
    switch (this.phase) {
      case 'AttachUser': {
        if (pdu.kind !== 'attachUserConfirm') throw unexpected(pdu, 'an Attach User Confirm');
        out.events.push({ type: 'received', pdu: 'MCS Attach User Confirm', summary: `${mcsResultName(pdu.value.result)}, user ${pdu.value.initiator}` });
        if (pdu.value.result !== 0 || pdu.value.initiator === undefined) {
          throw new ConnectorError('MCS_REFUSED', 'mcs', `Attach User refused: ${mcsResultName(pdu.value.result)}`, undefined, pdu.value.result);
        }
        this.userId = pdu.value.initiator;
        // the user channel, the I/O channel, static virtual channels, and the message channel
        // when the server announced one (MS-RDPBCGR 2.2.1.8, 2.2.1.4.5)
        this.toJoin.push(this.userId, this.ioChannelId, ...(this.server.network?.channelIdArray ?? []));
        if (this.server.messageChannelId !== undefined) this.toJoin.push(this.server.messageChannelId);
        this.phase = 'ChannelJoin';
        this.joinNext(out);
        return out;
      }
      case 'ChannelJoin': {
        if (pdu.kind !== 'channelJoinConfirm') throw unexpected(pdu, 'a Channel Join Confirm');
        const v = pdu.value;
        out.events.push({ type: 'received', pdu: 'MCS Channel Join Confirm', summary: `${mcsResultName(v.result)}, channel ${v.channelId ?? v.requested}` });
        if (v.result !== 0) throw new ConnectorError('MCS_REFUSED', 'mcs', `Channel Join ${v.requested} refused: ${mcsResultName(v.result)}`, undefined, v.result);
        this.joined.push(v.requested);
        if (this.toJoin.length) this.joinNext(out);
        else this.sendSecurityAndInfo(out);
        return out;
      }
      default:
        if (pdu.kind !== 'sendDataIndication') throw unexpected(pdu, 'a Send Data Indication');
        this.onIoData(pdu.value.userData, out);
        return out;
    }
  }

  private phaseName(): string {
    return { AttachUser: 'mcs', ChannelJoin: 'mcs', Licensing: 'licensing', DemandActive: 'capabilities', Finalization: 'finalization', Done: 'finalization' }[this.phase];
  }

  private send(out: Out, pdu: DomainPdu, name: string, summary: string): void {
    const w = new WriteCursor();
    encodeDomainPdu(pdu, w);
    out.output.push(encodeX224Data(w.finish()));
    out.events.push({ type: 'sent', pdu: name, summary });
  }

  private sendIo(out: Out, userData: Uint8Array, name: string, summary: string): void {
    this.send(out, { kind: 'sendDataRequest', value: sendData(this.userId, this.ioChannelId, userData) }, name, summary);
  }

  private joinNext(out: Out): void {
    const channelId = this.toJoin.shift()!;
    this.send(out, { kind: 'channelJoinRequest', value: { initiator: this.userId, channelId } }, 'MCS Channel Join Request', `channel ${channelId}`);
  }

  /** Security Exchange (when encrypting) and Client Info (MS-RDPBCGR 2.2.1.10, 2.2.1.11). */
  private sendSecurityAndInfo(out: Out): void {
    if (this.exchangePdu) {
      this.sendIo(out, this.exchangePdu, 'Security Exchange', 'client random encrypted with the server key');
      this.reached = 'security-exchange';
    }
    const c = this.cfg.credentials;
    const flags =
      INFO_MOUSE | INFO_DISABLECTRLALTDEL | INFO_UNICODE | INFO_MAXIMIZESHELL | INFO_ENABLEWINDOWSKEY | INFO_LOGONNOTIFY | INFO_NOAUDIOPLAYBACK | (c?.autoLogon ? INFO_AUTOLOGON : 0);
    const w = new WriteCursor();
    encodeInfoPacket(
      {
        codePage: 0x409,
        flags,
        domain: c?.domain ?? '',
        userName: c?.user ?? '',
        password: c?.autoLogon ? (c.password ?? '') : '',
        alternateShell: '',
        workingDir: '',
        // xrdp requires the time zone, session id and performance flags (MS-RDPBCGR 2.2.1.11.1.1.1)
        extraInfo: { clientAddressFamily: AF_INET, clientAddress: '', clientDir: '', clientTimeZone: UTC, clientSessionId: 0, performanceFlags: 0 },
      },
      w,
    );
    const summary = this.security.encrypting ? `encrypted, ${this.security.macForm} MAC` : 'not encrypted';
    this.sendIo(out, this.security.wrap(w.finish(), 'clientInfo', SEC_INFO_PKT), 'Client Info', summary);
    this.phase = 'Licensing';
    this.reached = 'client-info';
  }

  private onIoData(userData: Uint8Array, out: Out): void {
    let read: { flags: number; body: Uint8Array } | undefined;
    if (this.phase === 'Licensing') {
      const lic = this.security.unwrap(userData, 'licensing');
      // Unencrypted, a share PDU has no security header: only a body whose wMsgSize fits is licensing
      const licensing =
        (lic.flags & SEC_LICENSE_PKT) !== 0 && (this.security.encrypting || (lic.body.length >= 4 && (lic.body[2]! | (lic.body[3]! << 8)) === lic.body.length));
      if (licensing) return this.onLicensing(lic.body, out);
      // a server may skip licensing (or deny us with a Set Error Info); the PDU is already decrypted: never run RC4 twice
      if (this.security.encrypting) read = lic;
    }
    const { flags, body } = read ?? this.security.unwrap(userData, 'other');
    if (flags & 0x0008) this.sawEncryptedFromServer = true; // SEC_ENCRYPT
    const shares = decodeSharePdus(body);
    if (this.phase === 'Licensing' && shares.some((sh) => sh.kind === 'demandActive')) this.phase = 'DemandActive';
    for (const share of shares) this.onShare(share, out);
  }

  /**
   * MS-RDPBCGR 2.2.1.12 / MS-RDPELE 3.1.5: STATUS_VALID_CLIENT, or the new-license exchange
   * (client-licensing-exchange.ts): license request -> new license request, platform challenge
   * -> challenge response, then STATUS_VALID_CLIENT or a new (upgraded) license.
   */
  private onLicensing(body: Uint8Array, out: Out): void {
    const lic = decodeLicensingPdu(body);
    this.reached = 'licensing';
    const m = lic.message;
    switch (m.kind) {
      case 'errorAlert': {
        const code = licenseErrorCodeName(m.value.dwErrorCode);
        out.events.push({ type: 'received', pdu: 'Licensing Error Message', summary: `${code} ${licenseStateTransitionName(m.value.dwStateTransition)}` });
        if (m.value.dwErrorCode !== STATUS_VALID_CLIENT) {
          throw new ConnectorError('LICENSING_ERROR', 'licensing', `the server ended licensing with ${code}`, undefined, m.value.dwErrorCode);
        }
        this.phase = 'DemandActive';
        return;
      }
      case 'licenseRequest': {
        out.events.push({ type: 'received', pdu: 'Server License Request', summary: `${m.value.productInfo.companyName} / ${m.value.productInfo.productId}` });
        const names = { user: this.cfg.credentials?.user || 'rdpsec', machine: this.cfg.clientName };
        const request = this.licensingExchange.onLicenseRequest(m.value, lic.flags, names, this.tlsServerPublicKey);
        this.sendIo(out, this.security.wrap(request, 'licensing', SEC_LICENSE_PKT), 'Client New License Request', `user ${names.user}`);
        this.licensing = 'new-license-request';
        return;
      }
      case 'platformChallenge': {
        out.events.push({ type: 'received', pdu: 'Server Platform Challenge', summary: `${m.value.encryptedPlatformChallenge.blobData.length}-byte challenge` });
        const response = this.licensingExchange.onPlatformChallenge(m.value);
        this.sendIo(out, this.security.wrap(response, 'licensing', SEC_LICENSE_PKT), 'Client Platform Challenge Response', 'challenge decrypted, MAC checked, answered');
        this.licensing = 'platform-challenge';
        return;
      }
      case 'newLicense':
      case 'upgradeLicense': {
        const { summary } = this.licensingExchange.onNewLicense(m.value);
        out.events.push({ type: 'received', pdu: m.kind === 'newLicense' ? 'Server New License' : 'Server Upgrade License', summary });
        this.licensing = 'license-issued';
        this.phase = 'DemandActive';
        return;
      }
      default:
        out.events.push({ type: 'received', pdu: `Licensing ${m.kind}`, summary: '' });
        throw new ConnectorError('UNEXPECTED_PDU', 'licensing', `the server sent a client licensing message (${m.kind})`);
    }
  }

  private onShare(share: SharePdu, out: Out): void {
    if (share.kind === 'demandActive') {
      const caps = share.value.capabilitySets;
      this.serverCapabilities = capabilitySetNames(caps);
      this.reached = 'demand-active';
      this.shareId = share.value.shareId;
      out.events.push({ type: 'received', pdu: 'Demand Active', summary: `${caps.length} capability sets` });
      const general = findCapabilitySet(caps, 'general');
      const salted = ((general?.extraFlags ?? 0) & 0x0010) !== 0; // ENC_SALTED_CHECKSUM
      this.sendShare(out, {
        kind: 'confirmActive',
        pduSource: this.userId,
        value: {
          shareId: this.shareId,
          originatorId: 0x03ea,
          sourceDescriptor: Buffer.from('RDPSEC\0', 'latin1'),
          capabilitySets: clientCapabilitySets({ desktopWidth: this.cfg.desktopWidth, desktopHeight: this.cfg.desktopHeight, saltedMac: salted && this.cfg.macForm === 'salted' }),
        },
      }, 'Confirm Active');
      // client finalization (MS-RDPBCGR 2.2.1.14-2.2.1.18)
      this.sendData(out, { kind: 'synchronize', value: { messageType: SYNCMSGTYPE_SYNC, targetUser: share.pduSource } }, 'Synchronize');
      this.sendData(out, { kind: 'control', value: { action: CTRLACTION_COOPERATE, grantId: 0, controlId: 0 } }, 'Control Cooperate');
      this.sendData(out, { kind: 'control', value: { action: CTRLACTION_REQUEST_CONTROL, grantId: 0, controlId: 0 } }, 'Control Request Control');
      this.sendData(out, { kind: 'fontList', value: { numberFonts: 0, totalNumFonts: 0, listFlags: FONTLIST_FIRST | FONTLIST_LAST, entrySize: 0x32 } }, 'Font List');
      this.phase = 'Finalization';
      return;
    }
    if (share.kind !== 'data') {
      out.events.push({ type: 'received', pdu: share.kind, summary: '' });
      return;
    }
    const b = share.value.body;
    const name = finalizationName(b);
    out.events.push({ type: 'received', pdu: name ?? b.kind, summary: b.kind === 'setErrorInfo' ? errorInfoName(b.value.errorInfo) : '' });
    if (b.kind === 'setErrorInfo' && b.value.errorInfo !== 0) this.errorInfo = { code: b.value.errorInfo, name: errorInfoName(b.value.errorInfo) };
    if (this.phase === 'Finalization' && name) {
      this.finalization.push(name);
      if (name === 'Font Map') {
        this.phase = 'Done';
        this.reached = 'finalized';
      }
    }
  }

  private sendShare(out: Out, pdu: SharePdu, name: string): void {
    const w = new WriteCursor();
    encodeSharePdu(pdu, w);
    this.sendIo(out, this.security.wrap(w.finish(), 'other'), name, '');
  }

  private sendData(out: Out, body: DataPduBody, name: string): void {
    this.sendShare(out, { kind: 'data', pduSource: this.userId, value: { shareId: this.shareId, streamId: STREAM_LOW, compressedType: 0, compressedLength: 0, body } }, name);
  }
}

function finalizationName(b: DataPduBody): (typeof FINAL)[number] | undefined {
  if (b.kind === 'synchronize') return 'Synchronize';
  if (b.kind === 'fontMap') return 'Font Map';
  if (b.kind === 'control' && b.value.action === CTRLACTION_COOPERATE) return 'Control Cooperate';
  if (b.kind === 'control' && b.value.action === CTRLACTION_GRANTED_CONTROL) return 'Control Granted Control';
  return undefined;
}

function unexpected(pdu: DomainPdu, wanted: string): ConnectorError {
  return new ConnectorError('UNEXPECTED_PDU', 'mcs', `${pdu.kind} where ${wanted} was expected`);
}
