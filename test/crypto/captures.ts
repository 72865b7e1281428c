/**
 * Standard RDP Security traffic of real peers, for the crypto cross-checks: xrdp 0.9.21
 * (security_layer=rdp, /etc/xrdp/rsakeys.ini of the machine that made them) against xfreerdp
 * 2.11.7 /sec:rdp and rdesktop 1.9.0, made by captures/make-captures.sh and
 * captures/extract-captures.mjs (see there). Each fixture carries the client random that xrdp's
 * private key recovered from the capture's Security Exchange PDU; the tests re-encrypt it under
 * the captured certificate to prove it is the right one, so no private key is stored here.
 *
 * Also: small codecs for the parts of the PDUs the tests need (MCS Send Data userData, the
 * security headers of MS-RDPBCGR 2.2.8.1.1.2 and the fast-path header of 2.2.9.1.2), written
 * here because pdu/ has no security-header codec yet.
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { frames, type Chunk, type Direction } from '../fixtures/pcaps.js';
import { TPKT_OR_FASTPATH_HINT } from '../../src/pdu/tpkt.js';
import * as gcc from '../../src/pdu/gcc.js';
import * as mcs from '../../src/pdu/mcs.js';
import * as sd from '../../src/pdu/server-data.js';
import * as sc from '../../src/pdu/server-certificate.js';

/** <repo>/test/crypto/captures/ (this module compiles to <repo>/dist/test/crypto/captures.js). */
export const CRYPTO_CAPTURES_DIR = fileURLToPath(new URL('../../../test/crypto/captures/', import.meta.url));

export const SEC_EXCHANGE_PKT = 0x0001;
export const SEC_ENCRYPT = 0x0008;
export const SEC_INFO_PKT = 0x0040;
export const SEC_LICENSE_PKT = 0x0080;
export const SEC_SECURE_CHECKSUM = 0x0800;
/** fpOutputHeader / fpInputHeader flags (2.2.9.1.2, 2.2.8.1.2), in the top two bits. */
export const FASTPATH_SECURE_CHECKSUM = 0x1;
export const FASTPATH_ENCRYPTED = 0x2;

export interface LabCapture {
  name: string;
  clientRandom: Buffer;
  chunks: Chunk[];
}

export interface LabKeyUpdateExcerpt {
  name: string;
  clientRandom: Buffer;
  /** MCS payload of the Connect Response */
  connectResponse: Buffer;
  /** userData of the Security Exchange PDU */
  securityExchange: Buffer;
  /** how many encrypted PDUs the client sent in all */
  encryptedClientToServer: number;
  /** index (0-based, among the encrypted client-to-server PDUs) of userData[0] */
  first: number;
  /** ciphertext bytes the client's RC4 stream produced before packet `first` */
  keystreamOffset: number;
  userData: Buffer[];
}

function readJson(name: string): Record<string, unknown> {
  return JSON.parse(readFileSync(`${CRYPTO_CAPTURES_DIR}${name}.json`, 'utf8')) as Record<string, unknown>;
}

export function loadLabCapture(name: string): LabCapture {
  const raw = readJson(name) as { clientRandom: string; connections: { tcp: { dir: Direction; hex: string }[] }[] };
  const conn = raw.connections[0];
  if (!conn) throw new Error(`${name}: no connection`);
  return { name, clientRandom: Buffer.from(raw.clientRandom, 'hex'), chunks: conn.tcp.map((c) => ({ dir: c.dir, bytes: Buffer.from(c.hex, 'hex') })) };
}

export function loadKeyUpdateExcerpt(name: string): LabKeyUpdateExcerpt {
  const raw = readJson(name) as {
    clientRandom: string;
    connectResponse: string;
    securityExchange: string;
    encryptedClientToServer: number;
    first: number;
    keystreamOffset: number;
    userData: string[];
  };
  const hex = (s: string): Buffer => Buffer.from(s, 'hex');
  return {
    name,
    clientRandom: hex(raw.clientRandom),
    connectResponse: hex(raw.connectResponse),
    securityExchange: hex(raw.securityExchange),
    encryptedClientToServer: raw.encryptedClientToServer,
    first: raw.first,
    keystreamOffset: raw.keystreamOffset,
    userData: raw.userData.map(hex),
  };
}

/** A PDU of one direction, as far as security is concerned. */
export type WirePdu =
  | { kind: 'mcs'; payload: Buffer }
  | { kind: 'sendData'; channelId: number; userData: Buffer }
  | { kind: 'fastPath'; flags: number; body: Buffer };

/** Split one direction of a capture into TPKT (X.224 Data + MCS) and fast-path PDUs. */
export function wirePdus(chunks: Chunk[], dir: Direction): WirePdu[] {
  const bytes = Buffer.concat(chunks.filter((c) => c.dir === dir).map((c) => c.bytes));
  return frames(bytes, TPKT_OR_FASTPATH_HINT).frames.map((f): WirePdu => {
    if (f[0] !== 0x03) {
      // fast-path: header byte (flags in bits 6-7), 1- or 2-byte length
      const p = f[1]! & 0x80 ? 3 : 2;
      return { kind: 'fastPath', flags: f[0]! >> 6, body: f.subarray(p) };
    }
    const m = f.subarray(7); // TPKT (4) + X.224 DT (3)
    const type = m[0]! >> 2;
    if (type !== 25 && type !== 26) return { kind: 'mcs', payload: m };
    // SDrq / SDin: initiator (2), channelId (2), dataPriority + segmentation (1), PER length
    let p = 6;
    let len = m[p]!;
    if (len & 0x80) {
      len = ((len & 0x3f) << 8) | m[p + 1]!;
      p += 2;
    } else p += 1;
    return { kind: 'sendData', channelId: m.readUInt16BE(3), userData: m.subarray(p, p + len) };
  });
}

/** The protected parts of one encrypted PDU (slow-path TS_SECURITY_HEADER1/2 or fast-path). */
export interface ProtectedPart {
  /** SEC_SECURE_CHECKSUM (slow path) or FASTPATH_*_SECURE_CHECKSUM (fast path) */
  salted: boolean;
  /** TS_SECURITY_HEADER2 / TS_FP_FIPS_INFO padlen (FIPS only) */
  padlen: number;
  dataSignature: Buffer;
  data: Buffer;
  flags: number;
  fastPath: boolean;
}

/** The encrypted PDUs of one direction, in order; `fips` selects the FIPS header layout. */
export function encryptedParts(pdus: WirePdu[], fips: boolean): ProtectedPart[] {
  const out: ProtectedPart[] = [];
  for (const p of pdus) {
    if (p.kind === 'sendData') {
      const flags = p.userData.readUInt16LE(0);
      if (!(flags & SEC_ENCRYPT)) continue;
      const u = p.userData;
      // FIPS: flags, flagsHi, length (2), version (1), padlen (1), dataSignature (8)
      if (fips) out.push({ salted: false, padlen: u[7]!, dataSignature: u.subarray(8, 16), data: u.subarray(16), flags, fastPath: false });
      else out.push({ salted: (flags & SEC_SECURE_CHECKSUM) !== 0, padlen: 0, dataSignature: u.subarray(4, 12), data: u.subarray(12), flags, fastPath: false });
    } else if (p.kind === 'fastPath' && p.flags & FASTPATH_ENCRYPTED) {
      const b = p.body;
      // FIPS: TS_FP_FIPS_INFO length (2), version (1), padlen (1), then dataSignature
      if (fips) out.push({ salted: false, padlen: b[3]!, dataSignature: b.subarray(4, 12), data: b.subarray(12), flags: p.flags, fastPath: true });
      else out.push({ salted: (p.flags & FASTPATH_SECURE_CHECKSUM) !== 0, padlen: 0, dataSignature: b.subarray(0, 8), data: b.subarray(8), flags: p.flags, fastPath: true });
    }
  }
  return out;
}

/** Server Security Data of a Connect Response MCS payload. */
export function serverSecurity(connectResponse: Uint8Array): { method: number; level: number; serverRandom: Buffer; certificate: sc.ProprietaryServerCertificate } {
  const blocks = gcc.decodeConferenceCreateResponse(mcs.decodeMcsConnectResponse(connectResponse).userData).userData;
  const sec = sd.collectServerData(sd.decodeServerDataBlocks(blocks)).security;
  if (!sec?.serverRandom || !sec.serverCertificate) throw new Error('no server random or certificate');
  const cert = sc.decodeServerCertificate(sec.serverCertificate);
  if (cert.kind !== 'proprietary') throw new Error('not a proprietary certificate');
  return { method: sec.encryptionMethod, level: sec.encryptionLevel, serverRandom: Buffer.from(sec.serverRandom), certificate: cert };
}

/** The Connect Response and the Security Exchange userData of a capture. */
export function handshake(chunks: Chunk[]): { connectResponse: Buffer; securityExchange: Buffer } {
  const cr = wirePdus(chunks, 's2c').find((p): p is { kind: 'mcs'; payload: Buffer } => p.kind === 'mcs' && p.payload[0] === 0x7f && p.payload[1] === 0x66);
  const ex = wirePdus(chunks, 'c2s').find(
    (p): p is { kind: 'sendData'; channelId: number; userData: Buffer } => p.kind === 'sendData' && (p.userData.readUInt16LE(0) & SEC_EXCHANGE_PKT) !== 0,
  );
  if (!cr || !ex) throw new Error('no Connect Response or Security Exchange');
  return { connectResponse: cr.payload, securityExchange: ex.userData };
}

/** TS_SECURITY_PACKET (2.2.1.10.1): basicSecurityHeader, length, encryptedClientRandom. */
export function securityPacket(userData: Buffer): { flags: number; length: number; encryptedClientRandom: Buffer } {
  const length = userData.readUInt32LE(4);
  return { flags: userData.readUInt16LE(0), length, encryptedClientRandom: userData.subarray(8, 8 + length) };
}

/**
 * The xrdp key of this machine, when readable (root), in wire form; null otherwise. xrdp's
 * rsakeys.ini holds pub_exp, pub_mod, pub_sig (the proprietary certificate signature, made by
 * xrdp-keygen with the Terminal Services signing key) and pri_exp as comma-separated 0xNN bytes,
 * little-endian like the wire.
 */
export function localXrdpKey(): { modulusLE: Buffer; exponent: bigint; privateExponentLE: Buffer; signatureLE: Buffer | null } | null {
  let ini: string;
  try {
    ini = readFileSync('/etc/xrdp/rsakeys.ini', 'utf8');
  } catch {
    return null;
  }
  const field = (k: string): Buffer | null => {
    const m = new RegExp(`^${k}=(.*)$`, 'm').exec(ini);
    return m?.[1] ? Buffer.from(m[1].split(',').map((x) => parseInt(x.trim(), 16))) : null;
  };
  const mod = field('pub_mod');
  const exp = field('pub_exp');
  const pri = field('pri_exp');
  if (!mod || !exp || !pri) return null;
  return { modulusLE: mod, exponent: sc.bigintFromLE(exp), privateExponentLE: pri, signatureLE: field('pub_sig') };
}

export const LAB_CAPTURES = [
  'xrdp-rdp-low--xfreerdp-sec-rdp',
  'xrdp-rdp-high--xfreerdp-sec-rdp',
  'xrdp-rdp-fips--xfreerdp-sec-rdp',
  'xrdp-rdp-low--rdesktop',
  'xrdp-rdp-high--rdesktop',
] as const;
export const LAB_KEY_UPDATE_CAPTURES = ['xrdp-rdp-low--rdesktop-mouse', 'xrdp-rdp-high--rdesktop-mouse'] as const;
