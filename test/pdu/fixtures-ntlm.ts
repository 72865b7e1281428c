/**
 * NTLM fixtures shared by the PDU and crypto tests:
 * - the MS-NLMP 4.2.4 NTLMv2 example (user "User", domain "Domain", password "Password",
 *   workstation "COMPUTER", ServerChallenge 0123456789abcdef, ClientChallenge aa x 8, time 0,
 *   RandomSessionKey 55 x 16), its CHALLENGE_MESSAGE and AUTHENTICATE_MESSAGE (4.2.4.3);
 * - the CredSSP exchanges of the FreeRDP 2.11.7 shadow-server captures, as decoded TSRequests
 *   (`decodeTsRequest`, whose owner is the CredSSP module), in the order they were sent.
 */
import assert from 'node:assert/strict';
import { decodeTsRequest, type TsRequest } from '../../src/pdu/credssp.js';
import { loadCapture, type Direction } from '../fixtures/pcaps.js';

export const h = (s: string): Buffer => Buffer.from(s.replace(/\s+/g, ''), 'hex');
export const u16 = (s: string): Buffer => Buffer.from(s, 'utf16le');

/** MS-NLMP 4.2.4: the inputs of the NTLMv2 example. */
export const NLMP_V2 = {
  user: 'User',
  domain: 'Domain',
  password: 'Password',
  workstation: 'COMPUTER',
  serverChallenge: h('0123456789abcdef'),
  clientChallenge: h('aaaaaaaaaaaaaaaa'),
  randomSessionKey: h('55555555555555555555555555555555'),
  timestamp: 0n,
  /** the CHALLENGE's TargetInfo (4.2.4): MsvAvNbDomainName "Domain", MsvAvNbComputerName "Server", MsvAvEOL */
  targetInfo: h('02000c00 44006f006d00610069006e00 01000c00 530065007200760065007200 00000000'),
  /** flags of the example's CHALLENGE (4.2.4) */
  challengeFlags: 0xe28a8233,
  /** 4.2.4.1.1 NTOWFv2, 4.2.4.1.2 SessionBaseKey, 4.2.4.2.1 LMv2, 4.2.4.2.2 NTProofStr, 4.2.4.2.3 EncryptedSessionKey */
  ntowfv2: '0c868a403bfd7a93a3001ef22ef02e3f',
  sessionBaseKey: '8de40ccadbc14a82f15cb0ad0de95ca3',
  lmv2Response: '86c35097ac9cec102554764a57cccc19aaaaaaaaaaaaaaaa',
  ntProofStr: '68cd0ab851e51c96aabc927bebef6a1c',
  encryptedSessionKey: 'c5dad2544fc9799094ce1ce90bc9d03e',
  /** 4.2.4.4: client-to-server keys of RandomSessionKey, and GSS_WrapEx of "Plaintext" at SeqNum 0 */
  sealKeyC2s: '59f600973cc4960a25480a7c196e4c58',
  signKeyC2s: '4788dc861b4782f35d43fd98fe1a2d39',
  plaintext: u16('Plaintext'),
  sealedData: '54e50165bf1936dc996020c1811b0f06fb5f',
  signature: '010000007fb38ec5c55d497600000000',
} as const;

/** MS-NLMP 4.2.4.3: the CHALLENGE_MESSAGE of the NTLMv2 example. */
export const NLMP_V2_CHALLENGE = h(`
  4e544c4d53535000 02000000 0c000c00 38000000 33828ae2 0123456789abcdef 0000000000000000
  24002400 44000000 06007017 0000000f
  530065007200760065007200
  02000c00 44006f006d00610069006e00 01000c00 530065007200760065007200 00000000`);

/** MS-NLMP 4.2.4.3: the AUTHENTICATE_MESSAGE of the NTLMv2 example (no MIC). */
export const NLMP_V2_AUTHENTICATE = h(`
  4e544c4d53535000 03000000
  18001800 6c000000 54005400 84000000 0c000c00 48000000
  08000800 54000000 10001000 5c000000 10001000 d8000000
  358288e2 0501280a 0000000f
  44006f006d00610069006e00 5500730065007200 43004f004d0050005500540045005200
  86c35097ac9cec102554764a57cccc19 aaaaaaaaaaaaaaaa
  68cd0ab851e51c96aabc927bebef6a1c 0101000000000000 0000000000000000 aaaaaaaaaaaaaaaa 00000000
  02000c00 44006f006d00610069006e00 01000c00 530065007200760065007200 00000000 00000000
  c5dad2544fc9799094ce1ce90bc9d03e`);

/** The captures whose CredSSP exchange carries NTLM (the `tls` chunks are decrypted TSRequests). */
export const NTLM_CAPTURES = [
  'shadow-nla--xfreerdp-ok',
  'shadow-nla--xfreerdp-badpw',
  'shadow-nla--impacket-rdp_check-ok',
  'shadow-nla--impacket-rdp_check-badpw',
  'shadow-negotiate--xfreerdp-default',
  'shadow-nla--nmap-rdp-ntlm-info',
  'shadow-rdp--nmap-rdp-ntlm-info',
] as const;

/** Captures with a whole NEGOTIATE, CHALLENGE, AUTHENTICATE exchange, and whether the password was right. */
export const AUTH_CAPTURES: readonly { name: string; ok: boolean; client: 'xfreerdp' | 'impacket' }[] = [
  { name: 'shadow-nla--xfreerdp-ok', ok: true, client: 'xfreerdp' },
  { name: 'shadow-negotiate--xfreerdp-default', ok: true, client: 'xfreerdp' },
  { name: 'shadow-nla--impacket-rdp_check-ok', ok: true, client: 'impacket' },
  { name: 'shadow-nla--xfreerdp-badpw', ok: false, client: 'xfreerdp' },
  { name: 'shadow-nla--impacket-rdp_check-badpw', ok: false, client: 'impacket' },
];

/** The captures' user: alice with S3cret! (its NT hash below), empty domain. */
export const ALICE = { user: 'alice', domain: '', password: 'S3cret!', ntHash: '10b2f1961375b20126508c2267862bf0' } as const;

export interface CredSspExchange {
  /** every TSRequest, in capture order, with who sent it */
  requests: { dir: Direction; req: TsRequest }[];
  negotiate: Buffer;
  challenge: Buffer;
  /** absent when the client gave up after the CHALLENGE (nmap) */
  authenticate?: Buffer;
  /** the client's sealed pubKeyAuth, the server's, and the client's sealed authInfo, when sent */
  clientPubKeyAuth?: Buffer;
  serverPubKeyAuth?: Buffer;
  authInfo?: Buffer;
  clientVersion: number;
  clientNonce?: Buffer;
}

/** The CredSSP TSRequests of a capture (tls chunks that are not TSRequests, the RDP traffic after, are skipped). */
export function credSspExchange(capture: string): CredSspExchange {
  const conns = loadCapture(capture).connections.filter((c) => c.tls.length > 0);
  assert.equal(conns.length, 1, `${capture}: one TLS connection`);
  const requests: CredSspExchange['requests'] = [];
  for (const chunk of conns[0]!.tls) {
    if (chunk.bytes[0] !== 0x30) continue; // a TSRequest is a SEQUENCE; the rest is RDP
    requests.push({ dir: chunk.dir, req: decodeTsRequest(chunk.bytes) });
  }
  const tokens = (dir: Direction) => requests.filter((r) => r.dir === dir).flatMap((r) => r.req.negoTokens ?? []);
  const first = <T>(dir: Direction, pick: (r: TsRequest) => T | undefined): T | undefined =>
    requests.filter((r) => r.dir === dir).map((r) => pick(r.req)).find((x) => x !== undefined);
  const buf = (b: Uint8Array | undefined) => (b ? Buffer.from(b) : undefined);
  const [negotiate, authenticate] = tokens('c2s');
  const [challenge] = tokens('s2c');
  assert.ok(negotiate && challenge, `${capture}: NEGOTIATE and CHALLENGE`);
  const out: CredSspExchange = {
    requests,
    negotiate: Buffer.from(negotiate),
    challenge: Buffer.from(challenge),
    clientVersion: requests.find((r) => r.dir === 'c2s')!.req.version,
  };
  if (authenticate) out.authenticate = Buffer.from(authenticate);
  const set = <K extends 'clientPubKeyAuth' | 'serverPubKeyAuth' | 'authInfo' | 'clientNonce'>(k: K, v: Buffer | undefined) => {
    if (v) out[k] = v;
  };
  set('clientPubKeyAuth', buf(first('c2s', (r) => r.pubKeyAuth)));
  set('serverPubKeyAuth', buf(first('s2c', (r) => r.pubKeyAuth)));
  set('authInfo', buf(first('c2s', (r) => r.authInfo)));
  set('clientNonce', buf(first('c2s', (r) => r.clientNonce)));
  return out;
}
