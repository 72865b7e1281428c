/**
 * A scripted RDP server for the activation tests, built with OUR encoders: Connection Confirm,
 * MCS Connect Response with a real proprietary certificate (a generated 512-bit RSA key, signed
 * with the Terminal Services key), Attach User and Channel Join Confirms; it decrypts the
 * client's Security Exchange, derives the server-side RC4 keys, checks the MAC of every
 * encrypted client PDU, and answers Client Info with licensing and a Demand Active, the Font
 * List with the server's finalization, all properly encrypted. Each step can be replaced by a
 * hook that sends something else (a wrong MAC, a truncated header, a hostile capability set),
 * nothing at all, or closes.
 *
 * The session is sans-IO (`receive(frame) -> frames`), so the same script runs behind a
 * loopback TCP server (`startScriptedServer`, 127.0.0.1, port 0) and in memory against a
 * ClientConnector (`pumpInMemory`).
 */
import { randomBytes } from 'node:crypto';
import type net from 'node:net';
import { ClientConnector, type SecurityUpgradeInfo } from '../../src/connector/connector.js';
import { clientCapabilitySets } from '../../src/connector/client-capabilities.js';
import { decryptClientRandom, generateRsaKeyPairLE, signProprietaryCertificate, type RsaKeyPairLE } from '../../src/crypto/rsa.js';
import { deriveServerSessionKeys, Rc4Session, type MacForm, type Rc4EncryptionMethod } from '../../src/crypto/session-keys.js';
import { ENCRYPTION_METHOD_128BIT, ENCRYPTION_METHOD_NONE } from '../../src/pdu/client-data.js';
import { WriteCursor } from '../../src/pdu/cursor.js';
import { encodeConferenceCreateResponse } from '../../src/pdu/gcc.js';
import { encodeLicensingPdu, validClientLicensingPdu, type LicensingPdu } from '../../src/pdu/licensing.js';
import { DOMAIN_PARAMETERS_TARGET, encodeMcsConnectResponse, encodeMcsDisconnectProviderUltimatum } from '../../src/pdu/mcs.js';
import { decodeDomainPdu, encodeDomainPdu, sendData, type DomainPdu } from '../../src/pdu/mcs-domain.js';
import {
  SEC_ENCRYPT,
  SEC_EXCHANGE_PKT,
  SEC_INFO_PKT,
  SEC_LICENSE_PKT,
  SEC_SECURE_CHECKSUM,
  decodeSecurityExchangePdu,
  joinSecurityHeader,
  splitSecurityHeader,
} from '../../src/pdu/security-header.js';
import { encodeServerCertificate, rsaPublicKeyBlob, type ProprietaryServerCertificate } from '../../src/pdu/server-certificate.js';
import { ENCRYPTION_LEVEL_HIGH, ENCRYPTION_LEVEL_LOW, ENCRYPTION_LEVEL_NONE, encodeServerDataBlocks } from '../../src/pdu/server-data.js';
import { decodeSharePdus, encodeSharePdu, STREAM_LOW, type DemandActive, type SharePdu } from '../../src/pdu/share.js';
import { CTRLACTION_COOPERATE, CTRLACTION_GRANTED_CONTROL, FONTMAP_FIRST, FONTMAP_LAST, SYNCMSGTYPE_SYNC, type DataPduBody } from '../../src/pdu/share-data.js';
import { TPKT_HINT } from '../../src/pdu/tpkt.js';
import { decodeConnectionRequest, decodeX224Data, encodeConnectionConfirm, encodeX224Data } from '../../src/pdu/x224.js';
import { startServer, type TestServer } from '../transport/helpers.js';

/** One 512-bit key for every session (generating it costs a few ms). */
export const SERVER_KEY: RsaKeyPairLE = generateRsaKeyPairLE(512);

export const USER_ID = 1007;
export const IO_CHANNEL = 1003;
/** The MCS server channel servers send from (T.125: the top provider's user id). */
export const SERVER_CHANNEL = 1002;
export const SHARE_ID = 0x000103ea;

/** A SERVER_CERTIFICATE (proprietary) for a key, signed with the Terminal Services key. */
export function proprietaryCertificate(modulusLE: Uint8Array, pubExp = 65537): Buffer {
  const unsigned: Omit<ProprietaryServerCertificate, 'signatureBlob'> = {
    kind: 'proprietary',
    temporary: false,
    dwSigAlgId: 1,
    dwKeyAlgId: 1,
    publicKey: rsaPublicKeyBlob(modulusLE, pubExp),
  };
  const w = new WriteCursor();
  encodeServerCertificate({ ...unsigned, signatureBlob: signProprietaryCertificate(unsigned) }, w);
  return w.finish();
}

/** Offsets inside a proprietary SERVER_CERTIFICATE (MS-RDPBCGR 2.2.1.4.3.1.1, 2.2.1.4.3.1.1.1). */
export const CERT_OFFSET = {
  wPublicKeyBlobLen: 14,
  magic: 16,
  keylen: 20,
  bitlen: 24,
  datalen: 28,
  pubExp: 32,
  modulus: 36,
} as const;

/** The steps a hook can replace; each gets the session and the honest answer. */
export type Step =
  | 'confirm'
  | 'connectResponse'
  | 'attachUserConfirm'
  | 'channelJoinConfirm'
  | 'afterSecurityExchange'
  | 'afterClientInfo'
  | 'afterLicenseRequest'
  | 'afterConfirmActive'
  | 'afterFontList';

export type Hook = (s: ScriptedSession, honest: () => Buffer[]) => Buffer[];

export interface ScriptOptions {
  /** TS_UD_SC_SEC1.encryptionMethod; 128-bit RC4 by default; NONE (with level NONE) as under TLS */
  encryptionMethod?: Rc4EncryptionMethod | typeof ENCRYPTION_METHOD_NONE;
  /** TS_UD_SC_SEC1.encryptionLevel; HIGH by default, NONE with method NONE */
  encryptionLevel?: number;
  /** RDP_NEG_RSP selectedProtocol (RDP by default; SSL for the in-memory TLS cases, where the TLS is pretended) */
  selectedProtocol?: number;
  /** the SERVER_CERTIFICATE bytes; a proprietary certificate of SERVER_KEY by default */
  certificate?: Uint8Array;
  hooks?: Partial<Record<Step, Hook>>;
}

/** What the session saw, for assertions. */
export interface SessionLog {
  steps: Step[];
  /** the client PDUs, by name, in order */
  received: string[];
  /** a client PDU whose MAC did not verify (the client's own crypto is then wrong) */
  clientMacErrors: number;
}

/**
 * The server side of one connection. `receive` takes one whole client TPKT frame and returns
 * the frames to send; `closeRequested` tells the transport to end the connection.
 */
export class ScriptedSession {
  readonly log: SessionLog = { steps: [], received: [], clientMacErrors: 0 };
  readonly serverRandom = randomBytes(32);
  readonly method: Rc4EncryptionMethod | typeof ENCRYPTION_METHOD_NONE;
  readonly level: number;
  closeRequested = false;
  rc4?: Rc4Session;
  clientRandom?: Buffer;
  /** the MAC form the client uses; the server answers in the same form */
  macForm: MacForm = 'unsalted';
  private state: 'cr' | 'ci' | 'domain' = 'cr';
  private clientInfoSeen = false;
  /** a license request was sent: the client's next licensing PDU carries a basic header */
  private awaitingLicense = false;

  constructor(readonly opts: ScriptOptions = {}) {
    this.method = opts.encryptionMethod ?? ENCRYPTION_METHOD_128BIT;
    this.level = opts.encryptionLevel ?? (this.method === ENCRYPTION_METHOD_NONE ? ENCRYPTION_LEVEL_NONE : ENCRYPTION_LEVEL_HIGH);
  }

  /** Standard RDP Security with encryption (a method and a level other than NONE). */
  get encrypting(): boolean {
    return this.method !== ENCRYPTION_METHOD_NONE && this.level !== ENCRYPTION_LEVEL_NONE;
  }

  receive(frame: Uint8Array): Buffer[] {
    switch (this.state) {
      case 'cr': {
        this.state = 'ci';
        const cr = decodeConnectionRequest(frame);
        this.log.received.push('X.224 Connection Request');
        return this.run('confirm', () => [
          encodeConnectionConfirm({ dstRef: 0, srcRef: 0x1234, ...(cr.negReq ? { negotiation: { type: 'RDP_NEG_RSP' as const, flags: 0, selectedProtocol: this.opts.selectedProtocol ?? 0 } } : {}) }),
        ]);
      }
      case 'ci':
        this.state = 'domain';
        this.log.received.push('MCS Connect Initial');
        return this.run('connectResponse', () => [this.connectResponse()]);
      case 'domain':
        return this.onDomain(decodeDomainPdu(decodeX224Data(frame)));
    }
  }

  private run(step: Step, honest: () => Buffer[]): Buffer[] {
    this.log.steps.push(step);
    const hook = this.opts.hooks?.[step];
    return hook ? hook(this, honest) : honest();
  }

  private onDomain(pdu: DomainPdu): Buffer[] {
    this.log.received.push(pdu.kind);
    switch (pdu.kind) {
      case 'attachUserRequest':
        return this.run('attachUserConfirm', () => [domain({ kind: 'attachUserConfirm', value: { result: 0, initiator: USER_ID } })]);
      case 'channelJoinRequest': {
        const ch = pdu.value.channelId;
        return this.run('channelJoinConfirm', () => [domain({ kind: 'channelJoinConfirm', value: { result: 0, initiator: USER_ID, requested: ch, channelId: ch } })]);
      }
      case 'sendDataRequest':
        return this.onIo(pdu.value.userData);
      case 'disconnectProviderUltimatum':
        this.closeRequested = true;
        return [];
      default:
        return [];
    }
  }

  private onIo(userData: Uint8Array): Buffer[] {
    if (this.encrypting && !this.rc4) {
      const ex = decodeSecurityExchangePdu(userData);
      if (!(ex.flags & SEC_EXCHANGE_PKT)) throw new Error('expected the Security Exchange PDU');
      this.clientRandom = decryptClientRandom(ex.packet.encryptedClientRandom, SERVER_KEY);
      this.rc4 = new Rc4Session(deriveServerSessionKeys({ clientRandom: this.clientRandom, serverRandom: this.serverRandom, method: this.method as Rc4EncryptionMethod }));
      this.log.received[this.log.received.length - 1] = 'Security Exchange';
      return this.run('afterSecurityExchange', () => []);
    }
    // without encryption only the Client Info and licensing PDUs carry a (basic) header
    // (MS-RDPBCGR 2.2.8.1.1.2): which one comes is known from what was sent before
    const form = this.encrypting ? 'rc4' : !this.clientInfoSeen || this.awaitingLicense ? 'basic' : 'none';
    const { header, body: raw } = splitSecurityHeader(userData, form);
    let body: Uint8Array = raw;
    const flags = header.form === 'none' ? 0 : header.flags;
    if (header.form === 'rc4') {
      this.macForm = flags & SEC_SECURE_CHECKSUM ? 'salted' : 'unsalted';
      try {
        body = this.rc4!.decrypt(header.dataSignature, raw, this.macForm);
      } catch {
        this.log.clientMacErrors++;
        this.closeRequested = true;
        return [];
      }
    }
    if (flags & SEC_INFO_PKT) {
      this.clientInfoSeen = true;
      this.log.received[this.log.received.length - 1] = 'Client Info';
      return this.run('afterClientInfo', () => [this.licensing(validClientLicensingPdu()), this.demandActive()]);
    }
    if (flags & SEC_LICENSE_PKT) {
      this.awaitingLicense = false;
      this.log.received[this.log.received.length - 1] = 'Client New License Request';
      return this.run('afterLicenseRequest', () => [this.licensing(validClientLicensingPdu()), this.demandActive()]);
    }
    const shares = decodeSharePdus(body);
    const names = shares.map((s) => (s.kind === 'data' ? s.value.body.kind : s.kind));
    this.log.received[this.log.received.length - 1] = names.join('+');
    if (shares.some((s) => s.kind === 'confirmActive')) return this.run('afterConfirmActive', () => []);
    if (shares.some((s) => s.kind === 'data' && s.value.body.kind === 'fontList')) return this.run('afterFontList', () => this.finalization());
    return [];
  }

  // --- builders, for hooks ----------------------------------------------------------------------

  /** The whole MCS Connect Response frame; `certificate` overrides the server certificate. */
  connectResponse(certificate: Uint8Array = this.opts.certificate ?? proprietaryCertificate(SERVER_KEY.modulusLE)): Buffer {
    const blocks = new WriteCursor();
    encodeServerDataBlocks(
      [
        { kind: 'core', value: { version: 0x00080004, clientRequestedProtocols: 0 } },
        {
          kind: 'security',
          value: this.encrypting
            ? { encryptionMethod: this.method, encryptionLevel: this.level, serverRandom: this.serverRandom, serverCertificate: certificate }
            : { encryptionMethod: ENCRYPTION_METHOD_NONE, encryptionLevel: ENCRYPTION_LEVEL_NONE },
        },
        { kind: 'network', value: { MCSChannelId: IO_CHANNEL, channelIdArray: [] } },
      ],
      blocks,
    );
    const gcc = new WriteCursor();
    encodeConferenceCreateResponse({ nodeID: 0x79f3, tag: 1, result: 0, userData: blocks.finish() }, gcc);
    const mcs = new WriteCursor();
    encodeMcsConnectResponse({ result: 0, calledConnectId: 0, domainParameters: { ...DOMAIN_PARAMETERS_TARGET, maxUserIds: 3 }, userData: gcc.finish() }, mcs);
    return encodeX224Data(mcs.finish());
  }

  /** A Send Data Indication on the I/O channel carrying `userData` as is. */
  io(userData: Uint8Array): Buffer {
    return domain({ kind: 'sendDataIndication', value: sendData(SERVER_CHANNEL, IO_CHANNEL, userData) });
  }

  /** userData: TS_SECURITY_HEADER1 with SEC_ENCRYPT, the MAC, and the RC4 ciphertext of `body`. */
  encryptedUserData(body: Uint8Array, flags = 0, tamper?: (signature: Buffer) => void): Buffer {
    if (!this.rc4) throw new Error('no session keys yet (the Security Exchange has not been received)');
    const p = this.rc4.encrypt(body, this.macForm);
    tamper?.(p.dataSignature);
    const f = flags | SEC_ENCRYPT | (this.macForm === 'salted' ? SEC_SECURE_CHECKSUM : 0);
    return joinSecurityHeader({ form: 'rc4', flags: f, flagsHi: 0, dataSignature: p.dataSignature }, p.data);
  }

  /** An encrypted slow-path PDU. */
  encrypted(body: Uint8Array, flags = 0, tamper?: (signature: Buffer) => void): Buffer {
    return this.io(this.encryptedUserData(body, flags, tamper));
  }

  /** A slow-path PDU with the basic header only (ENCRYPTION_LEVEL_LOW: server-to-client in clear). */
  plain(body: Uint8Array, flags = 0): Buffer {
    return this.io(joinSecurityHeader({ form: 'basic', flags, flagsHi: 0 }, body));
  }

  /** A licensing PDU with a basic header (servers send licensing in clear). */
  licensing(pdu: LicensingPdu): Buffer {
    if (pdu.message.kind === 'licenseRequest') this.awaitingLicense = true;
    const w = new WriteCursor();
    encodeLicensingPdu(pdu, w);
    return this.io(joinSecurityHeader({ form: 'basic', flags: SEC_LICENSE_PKT, flagsHi: 0 }, w.finish()));
  }

  /** The share PDU bytes (no security header). */
  shareBytes(pdu: SharePdu): Buffer {
    const w = new WriteCursor();
    encodeSharePdu(pdu, w);
    return w.finish();
  }

  demandActiveValue(): DemandActive {
    return {
      shareId: SHARE_ID,
      sourceDescriptor: Buffer.from('RDP\0', 'latin1'),
      capabilitySets: clientCapabilitySets({ desktopWidth: 1024, desktopHeight: 768, saltedMac: false }),
      sessionId: 0,
    };
  }

  /** The Demand Active share PDU bytes (before encryption). */
  demandActiveBytes(value: DemandActive = this.demandActiveValue()): Buffer {
    return this.shareBytes({ kind: 'demandActive', pduSource: SERVER_CHANNEL, value });
  }

  demandActive(bytes: Uint8Array = this.demandActiveBytes()): Buffer {
    return this.protect(bytes);
  }

  /** A server PDU other than licensing as this server sends it: encrypted, in clear (LOW), or without header (NONE). */
  protect(bytes: Uint8Array): Buffer {
    if (!this.encrypting) return this.io(bytes);
    return this.level === ENCRYPTION_LEVEL_LOW ? this.plain(bytes) : this.encrypted(bytes);
  }

  dataBytes(body: DataPduBody): Buffer {
    return this.shareBytes({ kind: 'data', pduSource: SERVER_CHANNEL, value: { shareId: SHARE_ID, streamId: STREAM_LOW, compressedType: 0, compressedLength: 0, body } });
  }

  /** A Data PDU, encrypted unless the level is LOW (then in clear, as servers send it). */
  data(body: DataPduBody): Buffer {
    return this.protect(this.dataBytes(body));
  }

  finalization(): Buffer[] {
    return [
      this.data({ kind: 'synchronize', value: { messageType: SYNCMSGTYPE_SYNC, targetUser: USER_ID } }),
      this.data({ kind: 'control', value: { action: CTRLACTION_COOPERATE, grantId: 0, controlId: 0 } }),
      this.data({ kind: 'control', value: { action: CTRLACTION_GRANTED_CONTROL, grantId: USER_ID, controlId: SERVER_CHANNEL } }),
      this.data({ kind: 'fontMap', value: { numberEntries: 0, totalNumEntries: 0, mapFlags: FONTMAP_FIRST | FONTMAP_LAST, entrySize: 4 } }),
    ];
  }

  /** The server's Disconnect Provider Ultimatum (reason 3, rn-user-requested, by default). */
  ultimatum(reason = 3): Buffer {
    const w = new WriteCursor();
    encodeMcsDisconnectProviderUltimatum({ reason }, w);
    return encodeX224Data(w.finish());
  }

  /** Send these frames, then end the connection. */
  thenClose(frames: Buffer[]): Buffer[] {
    this.closeRequested = true;
    return frames;
  }
}

export function domain(pdu: DomainPdu): Buffer {
  const w = new WriteCursor();
  encodeDomainPdu(pdu, w);
  return encodeX224Data(w.finish());
}

// --- over TCP ---------------------------------------------------------------------------------

export interface ScriptedServer extends TestServer {
  sessions: ScriptedSession[];
  /** exceptions the script itself threw (a test bug or a client PDU it could not read) */
  errors: unknown[];
}

/** A loopback server running a new ScriptedSession per connection. */
export async function startScriptedServer(opts: ScriptOptions | (() => ScriptOptions) = {}): Promise<ScriptedServer> {
  const sessions: ScriptedSession[] = [];
  const errors: unknown[] = [];
  const server = await startServer((sock: net.Socket) => {
    const session = new ScriptedSession(typeof opts === 'function' ? opts() : opts);
    sessions.push(session);
    let buf = Buffer.alloc(0);
    sock.on('data', (d: Buffer) => {
      buf = Buffer.concat([buf, d]);
      for (;;) {
        if (session.closeRequested) return;
        let size: number | null;
        try {
          size = TPKT_HINT.findSize(buf);
        } catch (e) {
          errors.push(e);
          sock.destroy();
          return;
        }
        if (size === null || size > buf.length) return;
        const frame = buf.subarray(0, size);
        buf = buf.subarray(size);
        let out: Buffer[];
        try {
          out = session.receive(frame);
        } catch (e) {
          errors.push(e);
          sock.destroy();
          return;
        }
        for (const f of out) sock.write(f);
        if (session.closeRequested) {
          sock.end();
          return;
        }
      }
    });
  });
  return Object.assign(server, { sessions, errors });
}

// --- in memory --------------------------------------------------------------------------------

/**
 * Run the connector against a session in memory until `until()` holds (checked before each
 * server frame is delivered), the connector is done, or nothing is left to deliver. A TLS
 * pause is resumed at once with `tls`. Returns the server frames not yet delivered.
 */
export function pumpInMemory(c: ClientConnector, s: ScriptedSession, until: () => boolean = () => false, tls?: SecurityUpgradeInfo): Buffer[] {
  const toClient: Buffer[] = [];
  const toServer = (outputs: Uint8Array[]): void => {
    for (const o of outputs) if (!s.closeRequested) toClient.push(...s.receive(o));
  };
  if (c.stateName === 'SendConnectionRequest') toServer(c.step(null).output);
  while (!c.done && !until()) {
    if (c.pause) {
      if (!tls) throw new Error('the connector paused for TLS and no TlsInfo was given');
      toServer(c.markSecurityUpgradeDone(tls).output);
      continue;
    }
    const next = toClient.shift();
    if (!next) break;
    toServer(c.step(next).output);
  }
  return toClient;
}
