/**
 * The connection sequence after the MCS Connect-Response (MS-RDPBCGR 1.3.1.1: channel
 * connection, security commencement, secure settings exchange, licensing, capabilities
 * exchange, finalization) as real peers sent it, from the loopback captures in
 * ../shared/fixtures/pcaps (read through test/fixtures/pcaps.ts).
 *
 * `sessionFrames` walks both directions of one connection in capture order, from the MCS
 * Connect-Initial (client) and Connect-Response (server) on, and splits each side into TPKT
 * or fast-path frames. `walkSession` decodes each frame the way a connector would, knowing
 * the phase: the first Send Data Request is the Client Info PDU; licensing PDUs follow until
 * the server's licensing ends it; then share PDUs on the I/O channel. Only captures whose
 * traffic is in clear at the chosen layer (encryption NONE, or TLS with the `tls` layer) are
 * walkable this way.
 */
import { frames, loadCapture, type Direction, type Layer } from '../fixtures/pcaps.js';
import { TPKT_OR_FASTPATH_HINT } from '../../src/pdu/tpkt.js';
import { decodeX224Data } from '../../src/pdu/x224.js';
import { decodeDomainPdu, MCS_GLOBAL_CHANNEL_ID, type DomainPdu, type SendData } from '../../src/pdu/mcs-domain.js';
import { splitSecurityHeader, type SecurityHeader } from '../../src/pdu/security-header.js';
import { decodeInfoPacket, type InfoPacket } from '../../src/pdu/client-info.js';
import { decodeLicensingPdu, ERROR_ALERT, LICENSE_MSG_TYPE_NAMES, type LicensingPdu } from '../../src/pdu/licensing.js';
import { decodeSharePdus, sharePduLabel, type SharePdu } from '../../src/pdu/share.js';
import { decodeFastPathOutput, decodeFastPathUpdates, fastPathUpdateName, type FastPathOutputPdu } from '../../src/pdu/fastpath.js';

export interface SessionFrame {
  dir: Direction;
  /** one TPKT or fast-path PDU (a view) */
  bytes: Buffer;
}

const CONNECT_INITIAL = Buffer.from('02f0807f65', 'hex');
const CONNECT_RESPONSE = Buffer.from('02f0807f66', 'hex');

/** Both directions' frames, in capture order, from the MCS connect PDUs on. */
export function sessionFrames(capture: string, layer: Layer = 'tcp'): SessionFrame[] {
  const cap = loadCapture(capture);
  const conn = cap.connections.find((c) => c[layer].length > 0);
  if (!conn) throw new Error(`${capture}: no ${layer} data`);
  const chunks = conn[layer];
  const all: Record<Direction, Buffer> = {
    c2s: Buffer.concat(chunks.filter((c) => c.dir === 'c2s').map((c) => c.bytes)),
    s2c: Buffer.concat(chunks.filter((c) => c.dir === 's2c').map((c) => c.bytes)),
  };
  const start = (dir: Direction, marker: Buffer): number => {
    const i = all[dir].indexOf(marker);
    if (i < 4) throw new Error(`${capture}: no MCS connect PDU ${dir} on ${layer}`);
    return i - 4; // the TPKT header before the X.224 DT
  };
  const pos: Record<Direction, number> = { c2s: start('c2s', CONNECT_INITIAL), s2c: start('s2c', CONNECT_RESPONSE) };
  const avail: Record<Direction, number> = { c2s: 0, s2c: 0 };
  const out: SessionFrame[] = [];
  for (const chunk of chunks) {
    avail[chunk.dir] += chunk.bytes.length;
    const d = chunk.dir;
    if (avail[d] <= pos[d]) continue;
    const split = frames(all[d].subarray(pos[d], avail[d]), TPKT_OR_FASTPATH_HINT);
    for (const f of split.frames) out.push({ dir: d, bytes: f });
    pos[d] += split.offset;
    if (split.stop === 'rejected') throw new Error(`${capture}: ${d} bytes at ${pos[d]} are neither TPKT nor fast-path`);
  }
  return out;
}

/** One decoded step of the sequence. */
export interface SessionStep {
  dir: Direction;
  /** a short label: "MCS attachUserConfirm", "Client Info", "License ERROR_ALERT", a share PDU label, "fast-path ..." */
  label: string;
  frame: Buffer;
  /** the MCS PDU (TPKT frames) */
  mcs?: DomainPdu;
  /** the Send Data userData's security header (Client Info and licensing PDUs) */
  security?: SecurityHeader;
  /** the bytes after the security header */
  payload?: Uint8Array;
  info?: InfoPacket;
  license?: LicensingPdu;
  share?: SharePdu[];
  fastPath?: FastPathOutputPdu;
}

const walked = new Map<string, SessionStep[]>();

/** Decode every frame of a session whose slow-path PDUs carry no encryption (cached). */
export function walkSession(capture: string, layer: Layer = 'tcp'): SessionStep[] {
  const key = `${capture}/${layer}`;
  let steps = walked.get(key);
  if (!steps) walked.set(key, (steps = walk(capture, layer)));
  return steps;
}

/** The first step with this label (and direction), or an Error naming what is missing. */
export function findStep(steps: readonly SessionStep[], label: string, dir?: Direction, nth = 0): SessionStep {
  const hits = steps.filter((s) => s.label === label && (dir === undefined || s.dir === dir));
  const hit = hits[nth];
  if (!hit) throw new Error(`no step "${label}"${dir ? ` ${dir}` : ''} #${nth}`);
  return hit;
}

/** The walkable sessions: capture, layer, and what the client sent as user name. */
export const CLEAR_SESSIONS = [
  { capture: 'xrdp-rdp-none--xfreerdp-sec-rdp', layer: 'tcp', server: 'xrdp', userName: 'test' },
  { capture: 'shadow-rdp--xfreerdp-sec-rdp', layer: 'tcp', server: 'shadow', userName: 'alice' },
  { capture: 'xrdp-tls--xfreerdp-default', layer: 'tls', server: 'xrdp', userName: 'test' },
  { capture: 'shadow-tls--xfreerdp-default', layer: 'tls', server: 'shadow', userName: 'alice' },
  { capture: 'shadow-nla--xfreerdp-ok', layer: 'tls', server: 'shadow', userName: 'alice' },
] as const;

function walk(capture: string, layer: Layer): SessionStep[] {
  const steps: SessionStep[] = [];
  let phase: 'connect' | 'info' | 'licensing' | 'share' = 'connect';
  for (const { dir, bytes } of sessionFrames(capture, layer)) {
    if (bytes[0] !== 0x03) {
      const fastPath = decodeFastPathOutput(bytes, 'none');
      const names = decodeFastPathUpdates(fastPath.data).map((u) => fastPathUpdateName(u.updateCode));
      steps.push({ dir, label: `fast-path ${names.join(' ')}`, frame: bytes, fastPath });
      continue;
    }
    const payload = decodeX224Data(bytes);
    if (phase === 'connect') {
      // Connect-Initial / Connect-Response (mcs.ts, tested elsewhere)
      steps.push({ dir, label: dir === 'c2s' ? 'MCS Connect-Initial' : 'MCS Connect-Response', frame: bytes });
      if (dir === 's2c') phase = 'info';
      continue;
    }
    const mcs = decodeDomainPdu(payload);
    if (mcs.kind !== 'sendDataRequest' && mcs.kind !== 'sendDataIndication') {
      steps.push({ dir, label: `MCS ${mcs.kind}`, frame: bytes, mcs });
      continue;
    }
    const sd: SendData = mcs.value;
    if (sd.channelId !== MCS_GLOBAL_CHANNEL_ID) {
      steps.push({ dir, label: `channel ${sd.channelId} data`, frame: bytes, mcs, payload: sd.userData });
      continue;
    }
    if (phase === 'info' && dir === 'c2s') {
      const { header, body } = splitSecurityHeader(sd.userData, 'basic');
      steps.push({ dir, label: 'Client Info', frame: bytes, mcs, security: header, payload: body, info: decodeInfoPacket(body) });
      phase = 'licensing';
      continue;
    }
    if (phase === 'licensing') {
      const { header, body } = splitSecurityHeader(sd.userData, 'basic');
      const license = decodeLicensingPdu(body);
      const msgType = body[0]!;
      steps.push({ dir, label: `License ${LICENSE_MSG_TYPE_NAMES[msgType] ?? msgType}`, frame: bytes, mcs, security: header, payload: body, license });
      if (dir === 's2c' && msgType === ERROR_ALERT) phase = 'share';
      continue;
    }
    const share = decodeSharePdus(sd.userData);
    steps.push({ dir, label: share.map(sharePduLabel).join(' + '), frame: bytes, mcs, payload: sd.userData, share });
  }
  return steps;
}
