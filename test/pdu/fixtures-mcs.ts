/**
 * Real MCS connect PDUs from the loopback captures in ../shared/fixtures/pcaps (INDEX.md there
 * says what each run shows), read through the extracted JSON (test/fixtures/pcaps.ts). Each
 * value is the MCS payload of one X.224 Data TPDU: TPKT (4 bytes) and X.224 DT (02 f0 80) are
 * stripped, as the mcs.ts decoders expect.
 *
 * Frame numbers are tshark's (`tshark -r F -d tcp.port==P,tpkt -Y t125`).
 */
import { frames, loadCapture, streamBytes, type Direction, type Layer } from '../fixtures/pcaps.js';
import { TPKT_HINT } from '../../src/pdu/tpkt.js';

/** MCS payloads of the X.224 Data TPDUs one side sent on one connection, in order. */
export function mcsPayloads(capture: string, dir: Direction, layer: Layer = 'tcp', stream?: number): Buffer[] {
  const cap = loadCapture(capture);
  const conn = stream === undefined ? cap.connections.find((c) => c.tcp.length > 0) : cap.connections.find((c) => c.stream === stream);
  if (!conn) throw new Error(`${capture}: no connection ${stream ?? ''}`);
  const split = frames(streamBytes(conn, dir, layer), TPKT_HINT);
  return split.frames
    .filter((f) => f.length >= 7 && f[4] === 0x02 && f[5] === 0xf0 && f[6] === 0x80)
    .map((f) => f.subarray(7));
}

function first(capture: string, dir: Direction, layer: Layer = 'tcp', stream?: number): Buffer {
  const p = mcsPayloads(capture, dir, layer, stream)[0];
  if (!p) throw new Error(`${capture}: no MCS PDU ${dir} on ${layer}`);
  return p;
}

/** The first client-to-server MCS PDU that starts with the Connect-Initial tag 7f 65. */
function connectInitial(capture: string, layer: Layer = 'tcp', stream?: number): Buffer {
  const p = mcsPayloads(capture, 'c2s', layer, stream).find((b) => b[0] === 0x7f && b[1] === 0x65);
  if (!p) throw new Error(`${capture}: no Connect-Initial`);
  return p;
}

export interface McsFixture {
  /** capture and frame, for messages */
  source: string;
  bytes: Buffer;
}

function fixture(source: string, bytes: () => Buffer): () => McsFixture {
  let cached: McsFixture | undefined;
  return () => (cached ??= { source, bytes: bytes() });
}

export const FIXTURES = {
  /** rdesktop 1.9.0 Connect-Initial (writes 65535 as 02 02 ff ff): encryptionMethods 0x03. */
  rdesktopConnectInitial: fixture('xrdp-rdp-high--rdesktop frame 8', () => connectInitial('xrdp-rdp-high--rdesktop')),
  /** xrdp 0.9.21 crypt_level=high Connect-Response: 128-bit RC4, level HIGH, 2048-bit proprietary cert. */
  xrdpHighConnectResponse: fixture('xrdp-rdp-high--rdesktop frame 9', () => first('xrdp-rdp-high--rdesktop', 's2c')),
  /** xfreerdp 2.11.7 /sec:rdp Connect-Initial to the FreeRDP shadow server. */
  xfreerdpConnectInitial: fixture('shadow-rdp--xfreerdp-sec-rdp frame 8', () => connectInitial('shadow-rdp--xfreerdp-sec-rdp')),
  /** FreeRDP 2.11.7 shadow server Connect-Response: method NONE, level NONE, SC_MCS_MSGCHANNEL. */
  shadowConnectResponse: fixture('shadow-rdp--xfreerdp-sec-rdp frame 10', () => first('shadow-rdp--xfreerdp-sec-rdp', 's2c')),
  /** xrdp crypt_level=low Connect-Response: 40-bit RC4, level LOW. */
  xrdpLowConnectResponse: fixture('xrdp-rdp-low--xfreerdp-sec-rdp frame 9', () => first('xrdp-rdp-low--xfreerdp-sec-rdp', 's2c')),
  /** xrdp after the MAC failure: Disconnect Provider Ultimatum 21 80. */
  xrdpLowUltimatum: fixture('xrdp-rdp-low--xfreerdp-sec-rdp frame 37', () => {
    const all = mcsPayloads('xrdp-rdp-low--xfreerdp-sec-rdp', 's2c');
    const p = all.find((b) => b.length === 2 && b[0]! >> 2 === 8);
    if (!p) throw new Error('no ultimatum');
    return p;
  }),
  /** xrdp crypt_level=fips Connect-Response: FIPS method, level FIPS. */
  xrdpFipsConnectResponse: fixture('xrdp-rdp-fips--xfreerdp-sec-rdp frame 9', () => first('xrdp-rdp-fips--xfreerdp-sec-rdp', 's2c')),
  /** xrdp crypt_level=none Connect-Response: method NONE, level NONE. */
  xrdpNoneConnectResponse: fixture('xrdp-rdp-none--xfreerdp-sec-rdp frame 9', () => first('xrdp-rdp-none--xfreerdp-sec-rdp', 's2c')),
  /** xrdp security_layer=tls refusing a legacy client's Connect-Initial: ultimatum instead of a response. */
  xrdpTlsRefusal: fixture('xrdp-tls--xfreerdp-sec-rdp frame 9', () => first('xrdp-tls--xfreerdp-sec-rdp', 's2c')),
  /** nmap 7.93 rdp-enum-encryption Connect-Initial offering only 40-bit (hand-written by rdp.lua). */
  nmapConnectInitial: fixture('xrdp-negotiate-high--nmap-rdp-enum-encryption frame 70 (stream 6)', () =>
    connectInitial('xrdp-negotiate-high--nmap-rdp-enum-encryption', 'tcp', 6),
  ),
  /** xrdp's answer to that: 128-bit / HIGH anyway; SC_CORE without clientRequestedProtocols. */
  nmapXrdpConnectResponse: fixture('xrdp-negotiate-high--nmap-rdp-enum-encryption frame 71 (stream 6)', () =>
    first('xrdp-negotiate-high--nmap-rdp-enum-encryption', 's2c', 'tcp', 6),
  ),
  /** Inside TLS: xfreerdp's Connect-Initial to xrdp security_layer=tls (decrypted with the key log). */
  tlsXfreerdpConnectInitial: fixture('xrdp-tls--xfreerdp-default (TLS)', () => connectInitial('xrdp-tls--xfreerdp-default', 'tls')),
  /** Inside TLS: xrdp's Connect-Response (method NONE, level NONE, clientRequestedProtocols 3). */
  tlsXrdpConnectResponse: fixture('xrdp-tls--xfreerdp-default (TLS)', () => first('xrdp-tls--xfreerdp-default', 's2c', 'tls')),
} as const;

export type FixtureName = keyof typeof FIXTURES;

export function allFixtures(): McsFixture[] {
  return Object.values(FIXTURES).map((f) => f());
}
