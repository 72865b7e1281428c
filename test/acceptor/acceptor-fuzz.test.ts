/**
 * The ServerAcceptor fed what real clients sent, then hostile variations of it, in memory (no
 * sockets): the pre-authentication surface of `rdpsec serve` (DESIGN.md: "a hostile client
 * cannot crash serve nor make it hold resources before it authenticates").
 *
 * (a) Replays: the client-to-server frames of real captures (xfreerdp /sec:rdp at crypt_level
 *     none and over TLS, rdesktop and xfreerdp with Standard RDP Security whose client randoms
 *     are known, nmap's rdp-enum-encryption) run through the acceptor as far as the captured
 *     client went. Against xrdp the clients also answered xrdp's licensing request, which our
 *     server does not send (it answers STATUS_VALID_CLIENT at once, then waits for the Confirm
 *     Active): an unencrypted client licensing PDU that arrives then is left out of the replay.
 * (b) For every state reached by replaying the first k frames: random frames, truncations and
 *     byte mutations of frame k (fast-check, fixed seed, bounded runs), then the rest of the real
 *     frames. `step` never throws, every step is quick and answers with a bounded number of
 *     bytes, and a finished acceptor always carries an outcome and a reason.
 * (c) Pathological inputs: a 250-byte cookie without CR LF, BER lengths of gigabytes in the MCS
 *     Connect Initial, a storm of Channel Join requests (cut at 34) and of virtual channel data.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { ServerAcceptor, type AcceptorEvent } from '../../src/acceptor/acceptor.js';
import { acceptorPolicy } from '../../src/acceptor/from-server-policy.js';
import { ServerIdentity } from '../../src/acceptor/server-identity.js';
import type { StepResult } from '../../src/connector/sequence.js';
import { generateRsaKeyPairLE, type RsaKeyPairLE } from '../../src/crypto/rsa.js';
import { WriteCursor } from '../../src/pdu/cursor.js';
import { decodeDomainPdu, encodeDomainPdu, MCS_GLOBAL_CHANNEL_ID, sendData } from '../../src/pdu/mcs-domain.js';
import { encodeTpkt, TPKT_OR_FASTPATH_HINT } from '../../src/pdu/tpkt.js';
import { decodeX224Data, encodeX224Data } from '../../src/pdu/x224.js';
import { preset } from '../../src/policy/presets.js';
import type { ServerPolicy } from '../../src/policy/server-policy.js';
import { policyFromXrdpIni } from '../../src/policy/xrdp-ini.js';
import { handshake, loadLabCapture, serverSecurity } from '../crypto/captures.js';
import { frames, loadCapture, streamBytes, type Connection } from '../fixtures/pcaps.js';

/** Fixed, so the suite is deterministic; FC_SEED=... explores other inputs (fast-check prints the seed of a failure). */
const SEED = process.env.FC_SEED ? Number(process.env.FC_SEED) : 0x20261123;
/** fast-check runs per (replay, state, kind of damage). */
const RUNS = Number(process.env.FC_RUNS ?? 25);
/** A step that takes longer than this is a loop (real steps take well under a millisecond; an RSA decryption a few). */
const MAX_STEP_MS = 500;
/** The most a single step may answer: the Demand Active and the finalization are the largest (well under 4 KiB). */
const MAX_OUTPUT_BYTES = 16 * 1024;
const MAX_OUTPUT_PDUS = 8;
/** What the acceptor keeps about a connection (the summary serve logs) stays small whatever the client sends. */
const MAX_SUMMARY_CHARS = 16 * 1024;
const FAKE_TLS = { version: 'TLSv1.3', cipher: { standardName: 'TLS_AES_256_GCM_SHA384' } };

// --- server side ---------------------------------------------------------------------------------

/** One RSA key for the whole file: a 512-bit one is enough where nothing decrypts with it. */
const KEY_512: RsaKeyPairLE = generateRsaKeyPairLE(512);
const IDENTITY = new ServerIdentity(KEY_512);

/**
 * The identity of the lab captures (test/crypto/captures: xrdp's key recovered their client
 * randoms): the Security Exchange "decrypts" to the recorded client random, and the server
 * random is the captured one, so the acceptor derives the very session keys of the capture.
 */
class KnownRandomIdentity extends ServerIdentity {
  constructor(private readonly known: Buffer) {
    super(KEY_512);
  }
  override clientRandom(): Buffer {
    return Buffer.from(this.known);
  }
}

function xrdp(layer: 'rdp' | 'tls' | 'negotiate', crypt: 'none' | 'low' | 'medium' | 'high' | 'fips'): ServerPolicy {
  return policyFromXrdpIni(`[Globals]\nsecurity_layer=${layer}\ncrypt_level=${crypt}\n`, { file: `fuzz-${layer}-${crypt}.ini` });
}

// --- client frames -------------------------------------------------------------------------------

/** A client licensing PDU sent in clear (flags SEC_LICENSE_PKT, a client bMsgType): an answer to xrdp's licensing request. */
function isClearClientLicensing(frame: Buffer): boolean {
  if (frame[0] !== 0x03) return false;
  try {
    const pdu = decodeDomainPdu(decodeX224Data(frame));
    if (pdu.kind !== 'sendDataRequest') return false;
    const u = pdu.value.userData;
    // NEW_LICENSE_REQUEST 0x13, LICENSE_INFO 0x12, PLATFORM_CHALLENGE_RESPONSE 0x15, ERROR_ALERT 0xff
    return u.length >= 6 && (u[0]! & 0x80) !== 0 && (u[0]! & 0x08) === 0 && [0x12, 0x13, 0x15, 0xff].includes(u[4]!);
  } catch {
    return false;
  }
}

/**
 * A client licensing answer that reaches an acceptor already waiting for the Confirm Active:
 * the captured client answered the real server's licensing request, which ours did not send.
 * (Should the acceptor run a licensing exchange of its own, it is in another phase then, and the
 * client's licensing PDUs are fed to it.)
 */
function notForUs(a: ServerAcceptor, frame: Buffer): boolean {
  return a.phaseName === 'ConfirmActive' && isClearClientLicensing(frame);
}

/** The client's frames of a connection: in clear up to the TLS records, then those inside TLS. */
function clientFrames(conn: Connection): Buffer[] {
  const tcp = frames(streamBytes(conn, 'c2s', 'tcp'), TPKT_OR_FASTPATH_HINT).frames;
  const tls = frames(streamBytes(conn, 'c2s', 'tls'), TPKT_OR_FASTPATH_HINT).frames;
  return [...tcp, ...tls];
}

interface Replay {
  label: string;
  policy: ServerPolicy;
  identity: ServerIdentity;
  /** what the acceptor's random source returns (the captured server random for the lab captures) */
  serverRandom?: Buffer;
  frames: Buffer[];
  /** what the whole replay must reach */
  expect: (a: ServerAcceptor) => void;
}

function pcapReplay(label: string, capture: string, stream: number, policy: ServerPolicy, expect: Replay['expect']): Replay {
  const conn = loadCapture(capture).connections.find((c) => c.stream === stream);
  if (!conn) throw new Error(`${capture}: no stream ${stream}`);
  return { label, policy, identity: IDENTITY, frames: clientFrames(conn), expect };
}

function labReplay(label: string, capture: string, policy: ServerPolicy, expect: Replay['expect']): Replay {
  const lab = loadLabCapture(capture);
  const { serverRandom } = serverSecurity(handshake(lab.chunks).connectResponse);
  const c2s = frames(Buffer.concat(lab.chunks.filter((c) => c.dir === 'c2s').map((c) => c.bytes)), TPKT_OR_FASTPATH_HINT).frames;
  return { label, policy, identity: new KnownRandomIdentity(lab.clientRandom), serverRandom, frames: c2s, expect };
}

const finalized = (a: ServerAcceptor): void => {
  assert.equal(a.summary.outcome, 'finalized', a.summary.reason);
  assert.equal(a.done, true);
};

const REPLAYS: Replay[] = [
  pcapReplay('xfreerdp /sec:rdp vs xrdp crypt_level=none', 'xrdp-rdp-none--xfreerdp-sec-rdp', 0, xrdp('rdp', 'none'), (a) => {
    finalized(a);
    assert.equal(a.summary.requestedProtocols, null, 'a legacy request: no RDP_NEG_REQ');
    assert.equal(a.summary.selectedProtocol, 'RDP');
    assert.deepEqual(a.summary.encryption, { method: 0, level: 0 });
    assert.equal(a.summary.user, 'test');
  }),
  pcapReplay('xfreerdp default vs xrdp security_layer=tls (inside TLS)', 'xrdp-tls--xfreerdp-default', 0, xrdp('tls', 'high'), (a) => {
    finalized(a);
    assert.equal(a.summary.selectedProtocol, 'SSL');
    assert.equal(a.summary.tls?.version, 'TLSv1.3');
    assert.equal(a.summary.user, 'test');
  }),
  pcapReplay('xfreerdp /sec:rdp vs FreeRDP shadow (encryption none)', 'shadow-rdp--xfreerdp-sec-rdp', 0, xrdp('rdp', 'none'), (a) => {
    finalized(a);
    assert.equal(a.summary.user, 'alice');
  }),
  labReplay('rdesktop vs xrdp crypt_level=high (128-bit RC4, known client random)', 'xrdp-rdp-high--rdesktop', xrdp('rdp', 'high'), (a) => {
    finalized(a);
    assert.deepEqual(a.summary.encryption, { method: 0x02, level: 3 });
    assert.equal(a.summary.user, 'test');
    assert.deepEqual(a.summary.macForms, ['plain']);
  }),
  labReplay('rdesktop vs xrdp crypt_level=low (40-bit RC4, client-to-server only)', 'xrdp-rdp-low--rdesktop', xrdp('rdp', 'low'), (a) => {
    finalized(a);
    assert.deepEqual(a.summary.encryption, { method: 0x01, level: 1 });
  }),
  labReplay('xfreerdp /sec:rdp vs xrdp crypt_level=high: the salted MAC is refused as xrdp does', 'xrdp-rdp-high--xfreerdp-sec-rdp', xrdp('rdp', 'high'), (a) => {
    assert.equal(a.summary.outcome, 'refused');
    assert.match(a.summary.reason, /salted MAC/);
    assert.equal(a.summary.user, undefined, 'the Client Info is refused before it is read');
  }),
  labReplay('xfreerdp /sec:rdp vs a Windows policy: the salted MAC is accepted', 'xrdp-rdp-high--xfreerdp-sec-rdp', preset('windows-legacy-rdp'), (a) => {
    // the capture ends where xrdp cut the client off, after its Client Info
    assert.equal(a.summary.outcome, 'in-progress');
    assert.equal(a.phaseName, 'ConfirmActive');
    assert.equal(a.summary.user, 'test');
    assert.deepEqual(a.summary.macForms ?? ['salted'], ['salted']);
  }),
  labReplay('xfreerdp /sec:rdp vs xrdp crypt_level=fips (3DES)', 'xrdp-rdp-fips--xfreerdp-sec-rdp', xrdp('rdp', 'fips'), (a) => {
    // the Client Info decrypts; then comes xfreerdp's licensing answer, encrypted (it cannot be
    // left out without breaking the 3DES chain), to a licensing request our server never sent
    assert.equal(a.summary.user, 'test');
    assert.deepEqual(a.summary.encryption, { method: 0x10, level: 4 });
    assert.equal(a.summary.outcome, 'error');
    assert.match(a.summary.reason, /^ConfirmActive: /);
  }),
  pcapReplay('rdesktop vs xrdp under a key we do not hold', 'xrdp-rdp-high--rdesktop', 0, xrdp('rdp', 'high'), (a) => {
    assert.equal(a.summary.outcome, 'error');
    assert.match(a.summary.reason, /^SecurityExchange: /);
  }),
  ...loadCapture('xrdp-negotiate-high--nmap-rdp-enum-encryption').connections.map((c) =>
    pcapReplay(`nmap rdp-enum-encryption connection ${c.stream}`, 'xrdp-negotiate-high--nmap-rdp-enum-encryption', c.stream, xrdp('negotiate', 'high'), (a) => {
      // nmap hangs up after each answer: the acceptor waits for what comes next
      assert.equal(a.summary.outcome, 'in-progress', a.summary.reason);
      // xrdp answers 128-bit RC4 / High to every single method nmap offers (INDEX.md); so do we
      if (a.summary.encryption && a.summary.selectedProtocol === 'RDP') assert.deepEqual(a.summary.encryption, { method: 0x02, level: 3 });
    }),
  ),
];

// --- driving -------------------------------------------------------------------------------------

function newAcceptor(r: Replay): ServerAcceptor {
  const random = r.serverRandom;
  return new ServerAcceptor(acceptorPolicy(r.policy), r.identity, (n) => (random ? Buffer.from(random) : Buffer.alloc(n, 0x5a)));
}

function hex(b: Uint8Array, max = 96): string {
  const h = Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('hex');
  return h.length > max * 2 ? `${h.slice(0, max * 2)}... (${b.length} bytes)` : h;
}

/** One step under watch: no throw, quick, bounded output; a finished acceptor says how and why. */
function checkedStep(a: ServerAcceptor, input: Uint8Array, what: string): StepResult<AcceptorEvent> {
  const before = a.phaseName;
  const t0 = performance.now();
  let out: StepResult<AcceptorEvent>;
  try {
    out = a.step(input);
  } catch (err) {
    assert.fail(`${what}: step threw in ${before} on ${hex(input)}: ${(err as Error)?.stack ?? String(err)}`);
  }
  const ms = performance.now() - t0;
  assert.ok(ms < MAX_STEP_MS, `${what}: step took ${ms.toFixed(0)} ms in ${before}`);
  const bytes = out.output.reduce((n, b) => n + b.length, 0);
  assert.ok(out.output.length <= MAX_OUTPUT_PDUS && bytes <= MAX_OUTPUT_BYTES, `${what}: ${out.output.length} PDUs, ${bytes} bytes answered in ${before}`);
  const kept = JSON.stringify(a.summary).length;
  assert.ok(kept <= MAX_SUMMARY_CHARS, `${what}: the summary holds ${kept} characters`);
  if (a.done) {
    assert.ok(['finalized', 'refused', 'error'].includes(a.summary.outcome), `${what}: done with outcome ${a.summary.outcome}`);
    assert.ok(a.summary.reason.length > 0, `${what}: done without a reason`);
  } else {
    assert.equal(a.summary.outcome, 'in-progress', `${what}: not done, yet outcome ${a.summary.outcome} (${a.summary.reason})`);
  }
  return out;
}

/** Resume after TLS when the acceptor pauses for it (the driver's job over a socket). */
function resumeTls(a: ServerAcceptor): void {
  if (a.pause) a.markSecurityUpgradeDone(FAKE_TLS);
}

/** Feed frames until the acceptor is done; returns how many it looked at. */
function feed(a: ServerAcceptor, input: Buffer[], what: string): number {
  let n = 0;
  for (const f of input) {
    if (a.done) break;
    resumeTls(a);
    if (a.done) break;
    n++;
    if (notForUs(a, f)) continue;
    checkedStep(a, f, `${what} frame ${n - 1}`);
  }
  resumeTls(a);
  return n;
}

/** The acceptor after the first k frames of a replay (null if it finished before). */
function stateAfter(r: Replay, k: number): ServerAcceptor | null {
  const a = newAcceptor(r);
  feed(a, r.frames.slice(0, k), r.label);
  return a.done ? null : a;
}

/** The phases a replay goes through before each of its frames (and the frames that reach them). */
function statesOf(r: Replay): { k: number; phase: string }[] {
  const a = newAcceptor(r);
  const out: { k: number; phase: string }[] = [];
  for (let k = 0; k < r.frames.length && !a.done; k++) {
    resumeTls(a);
    if (a.done) break;
    if (notForUs(a, r.frames[k]!)) continue;
    out.push({ k, phase: a.phaseName });
    a.step(r.frames[k]!);
  }
  return out;
}

// --- (a) replays ---------------------------------------------------------------------------------

describe('acceptor: the real clients of the captures, replayed', () => {
  for (const r of REPLAYS) {
    it(r.label, () => {
      assert.ok(r.frames.length > 0);
      const a = newAcceptor(r);
      feed(a, r.frames, r.label);
      r.expect(a);
    });
  }
});

// --- (b) every state, damaged input ---------------------------------------------------------------

type Damage =
  | { kind: 'random'; bytes: Uint8Array }
  | { kind: 'random-tpkt'; bytes: Uint8Array }
  | { kind: 'random-x224'; bytes: Uint8Array }
  | { kind: 'truncate'; keep: number; reframe: boolean }
  | { kind: 'mutate'; edits: [number, number][]; reframe: boolean };

const DAMAGE: fc.Arbitrary<Damage> = fc.oneof(
  fc.record({ kind: fc.constant('random' as const), bytes: fc.uint8Array({ minLength: 1, maxLength: 400 }) }),
  fc.record({ kind: fc.constant('random-tpkt' as const), bytes: fc.uint8Array({ minLength: 1, maxLength: 400 }) }),
  fc.record({ kind: fc.constant('random-x224' as const), bytes: fc.uint8Array({ minLength: 0, maxLength: 400 }) }),
  fc.record({ kind: fc.constant('truncate' as const), keep: fc.nat(), reframe: fc.boolean() }),
  fc.record({
    kind: fc.constant('mutate' as const),
    edits: fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { minLength: 1, maxLength: 3 }),
    reframe: fc.boolean(),
  }),
);

/** Apply damage to a real frame; `reframe` fixes the TPKT length so the damage reaches the inner decoders. */
function damage(frame: Buffer, d: Damage): Buffer {
  const reframe = (b: Buffer): Buffer => (b[0] === 0x03 && b.length >= 5 ? encodeTpkt(b.subarray(4)) : b);
  switch (d.kind) {
    case 'random':
      return Buffer.from(d.bytes);
    case 'random-tpkt':
      return encodeTpkt(d.bytes);
    case 'random-x224':
      return encodeX224Data(d.bytes);
    case 'truncate': {
      const cut = Buffer.from(frame.subarray(0, d.keep % frame.length));
      return d.reframe ? reframe(cut) : cut;
    }
    case 'mutate': {
      const b = Buffer.from(frame);
      for (const [i, v] of d.edits) b[i % b.length] = v;
      return d.reframe ? reframe(b) : b;
    }
  }
}

describe('acceptor: damaged client frames in every state the replays reach', () => {
  let total = 0;
  for (const r of REPLAYS) {
    it(r.label, () => {
      const states = statesOf(r);
      assert.ok(states.length > 0);
      for (const { k, phase } of states) {
        const frame = r.frames[k]!;
        fc.assert(
          fc.property(DAMAGE, (d) => {
            const a = stateAfter(r, k);
            assert.ok(a, `${r.label}: the state before frame ${k} is reproducible`);
            const bad = damage(frame, d);
            checkedStep(a, bad, `${r.label} @${phase} (frame ${k}) ${d.kind}`);
            // then the rest of the real client's frames: whatever state the damage left, no throw
            feed(a, r.frames.slice(k + 1), `${r.label} after ${d.kind} at frame ${k}`);
            total++;
          }),
          { seed: SEED + k, numRuns: RUNS },
        );
      }
    });
  }
  it('covered every phase that takes input', (t) => {
    t.diagnostic(`${total} damaged frames fed (seed ${SEED}, ${RUNS} runs per state)`);
    const phases = new Set(REPLAYS.flatMap((r) => statesOf(r).map((s) => s.phase)));
    // (SecurityExchange is entered and left within the step of the client's first I/O channel
    // PDU, which arrives in ChannelJoin: damaging that frame is damaging the Security Exchange)
    for (const p of ['ConnectionRequest', 'ConnectInitial', 'ErectDomain', 'AttachUser', 'ChannelJoin', 'ClientInfo', 'ConfirmActive', 'ClientFinalization']) {
      assert.ok(phases.has(p), `no replay reaches ${p}: ${[...phases].join(', ')}`);
    }
    assert.ok(total > 0);
  });
});

// --- (c) pathological input -----------------------------------------------------------------------

/** An X.224 Connection Request TPDU around `variable` (MS-RDPBCGR 2.2.1.1). */
function connectionRequest(variable: Buffer): Buffer {
  const li = (6 + variable.length) & 0xff; // a one-byte field: a longer request wraps, as a careless client would send it
  return encodeTpkt(Buffer.concat([Buffer.from([li, 0xe0, 0, 0, 0, 0, 0]), variable]));
}

function domainFrame(pdu: Parameters<typeof encodeDomainPdu>[0]): Buffer {
  const w = new WriteCursor();
  encodeDomainPdu(pdu, w);
  return encodeX224Data(w.finish());
}

const NONE = REPLAYS[0]!; // xfreerdp /sec:rdp at crypt_level=none: CR, Connect Initial, Erect Domain, Attach User, joins...

describe('acceptor: pathological input', () => {
  it('a Connection Request with a 250-byte cookie and no CR LF: a typed error, no answer', () => {
    // The X.224 LI is one byte: the variable part of a Connection Request holds at most 249 bytes.
    // A cookie filling it (17 + 231 bytes) without CR LF:
    const a = newAcceptor(NONE);
    const out = checkedStep(a, connectionRequest(Buffer.from(`Cookie: mstshash=${'A'.repeat(231)}`, 'latin1')), 'long cookie');
    assert.equal(a.summary.outcome, 'error');
    assert.match(a.summary.reason, /^ConnectionRequest: .*cookie.*CR LF/);
    assert.equal(out.output.length, 0);
    // the same length ending in CR LF is legal, and the cookie is kept whole
    const b = newAcceptor(NONE);
    checkedStep(b, connectionRequest(Buffer.from(`Cookie: mstshash=${'A'.repeat(229)}\r\n`, 'latin1')), 'long cookie with CR LF');
    assert.equal(b.summary.cookie, 'A'.repeat(229));
    assert.equal(b.summary.outcome, 'in-progress');
    // a 250-byte cookie value (with or without CR LF) cannot be framed by the LI (6 + 267 > 255: it wraps): refused as such
    for (const tail of ['', '\r\n']) {
      const c = newAcceptor(NONE);
      const o = checkedStep(c, connectionRequest(Buffer.from(`Cookie: mstshash=${'B'.repeat(250)}${tail}`, 'latin1')), `250-byte cookie${tail ? ' with CR LF' : ''}`);
      assert.equal(c.summary.outcome, 'error');
      assert.match(c.summary.reason, /^ConnectionRequest: /);
      assert.equal(o.output.length, 0);
    }
  });

  it('an MCS Connect Initial declaring gigabytes (BER lengths): a typed error at once, nothing allocated', () => {
    const ci = NONE.frames[1]!;
    assert.equal(ci[7], 0x7f, 'frame 1 is the Connect Initial');
    assert.equal(ci[8], 0x65);
    const variants: [string, Buffer][] = [];
    // the Connect-Initial's own length (at 9: 82 01 b7) as 4 bytes = 0x7fffffff, and as an 8-byte length
    const mcs = ci.subarray(7);
    const lenBytes = 1 + (mcs[2]! & 0x7f);
    const body = mcs.subarray(2 + lenBytes);
    variants.push(['Connect-Initial length 0x7fffffff', encodeX224Data(Buffer.concat([Buffer.from([0x7f, 0x65, 0x84, 0x7f, 0xff, 0xff, 0xff]), body]))]);
    variants.push(['Connect-Initial length 0xffffffffffffffff', encodeX224Data(Buffer.concat([Buffer.from([0x7f, 0x65, 0x88, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff]), body]))]);
    variants.push(['Connect-Initial length with 127 length bytes', encodeX224Data(Buffer.concat([Buffer.from([0x7f, 0x65, 0xff]), Buffer.alloc(127, 0xff), body]))]);
    // the userData OCTET STRING (04 82 xx xx, the last one of the PDU) declaring 0xffffffff bytes
    const ud = body.lastIndexOf(Buffer.from([0x04, 0x82]));
    assert.ok(ud > 0);
    const patched = Buffer.concat([body.subarray(0, ud), Buffer.from([0x04, 0x84, 0xff, 0xff, 0xff, 0xff]), body.subarray(ud + 4)]);
    variants.push(['userData length 0xffffffff', encodeX224Data(Buffer.concat([mcs.subarray(0, 2 + lenBytes), patched]))]);
    // an indefinite length (0x80): not allowed in BER-encoded MCS PDUs (T.125 uses definite lengths)
    variants.push(['indefinite length', encodeX224Data(Buffer.concat([Buffer.from([0x7f, 0x65, 0x80]), body]))]);
    for (const [what, frame] of variants) {
      const a = newAcceptor(NONE);
      checkedStep(a, NONE.frames[0]!, 'CR');
      const heap = process.memoryUsage().heapUsed;
      const out = checkedStep(a, frame, what);
      assert.ok(process.memoryUsage().heapUsed - heap < 16 * 1024 * 1024, `${what}: the heap grew by ${process.memoryUsage().heapUsed - heap} bytes`);
      assert.equal(a.summary.outcome, 'error', `${what}: ${a.summary.reason}`);
      assert.match(a.summary.reason, /^ConnectInitial: /);
      assert.equal(out.output.length, 0, what);
    }
  });

  it('a Channel Join storm is cut after 34 requests (user, I/O, message and 31 static channels)', () => {
    const a = newAcceptor(NONE);
    // CR, Connect Initial, Erect Domain, Attach User
    feed(a, NONE.frames.slice(0, 4), 'prefix');
    assert.equal(a.phaseName, 'ChannelJoin');
    let confirms = 0;
    for (let i = 0; i < 10_000 && !a.done; i++) {
      const out = a.step(domainFrame({ kind: 'channelJoinRequest', value: { initiator: 1007, channelId: 1004 } }));
      confirms += out.output.length;
    }
    assert.equal(confirms, 34, 'one confirm per request up to the cap');
    assert.equal(a.done, true);
    assert.equal(a.summary.outcome, 'error');
    assert.match(a.summary.reason, /more than 34 Channel Join Requests/);
  });

  it('10,000 virtual channel Send Data requests during the joins: ignored, no growth', () => {
    const a = newAcceptor(NONE);
    feed(a, NONE.frames.slice(0, 4), 'prefix');
    const heapBefore = process.memoryUsage().heapUsed;
    const junk = Buffer.alloc(1000, 0x41);
    for (let i = 0; i < 10_000; i++) {
      const out = a.step(domainFrame({ kind: 'sendDataRequest', value: sendData(1007, 1004, junk) }));
      assert.equal(out.output.length, 0);
    }
    assert.equal(a.done, false);
    assert.equal(a.phaseName, 'ChannelJoin');
    const grew = process.memoryUsage().heapUsed - heapBefore;
    assert.ok(grew < 32 * 1024 * 1024, `heap grew by ${(grew / 1e6).toFixed(1)} MB`);
  });

  it('10,000 Synchronize PDUs in the finalization: answered one for one, no growth', () => {
    // the xfreerdp /sec:rdp none replay up to its first client finalization PDU, its Synchronize (MS-RDPBCGR 1.3.1.1)
    const k = statesOf(NONE).find((s) => s.phase === 'ClientFinalization')!.k;
    const a = stateAfter(NONE, k);
    assert.ok(a);
    const sync = NONE.frames[k]!;
    const heapBefore = process.memoryUsage().heapUsed;
    let outputs = 0;
    for (let i = 0; i < 10_000 && !a.done; i++) outputs += checkedStep(a, sync, `sync ${i}`).output.length;
    assert.equal(a.done, false);
    const grew = process.memoryUsage().heapUsed - heapBefore;
    assert.ok(grew < 32 * 1024 * 1024, `heap grew by ${(grew / 1e6).toFixed(1)} MB`);
    assert.ok(outputs <= 10_000, `${outputs} PDUs answered to 10,000`);
  });

  it('MCS Send Data on the I/O channel with an empty or 1-byte user data in every later phase: no throw', () => {
    for (const { k, phase } of statesOf(NONE).filter((s) => s.k >= 4)) {
      for (const userData of [Buffer.alloc(0), Buffer.from([0x40])]) {
        const a = stateAfter(NONE, k);
        assert.ok(a);
        checkedStep(a, domainFrame({ kind: 'sendDataRequest', value: sendData(1007, MCS_GLOBAL_CHANNEL_ID, userData) }), `${phase} ${userData.length}`);
      }
    }
  });

  it(
    'a client cannot skip from the Erect Domain to a Confirm Active (no Attach User, no Security Exchange, no Client Info)',
    () => {
      // Windows policy, 128-bit RC4 imposed; the client then sends, in clear and unasked, the
      // Confirm Active and the finalization PDUs of a real session (the crypt_level=none capture)
      const a = new ServerAcceptor(acceptorPolicy(preset('windows-legacy-rdp')), IDENTITY, (n) => Buffer.alloc(n, 1));
      const states = statesOf(NONE);
      const confirmActive = states.find((s) => s.phase === 'ConfirmActive')!.k;
      checkedStep(a, NONE.frames[0]!, 'CR');
      checkedStep(a, NONE.frames[1]!, 'Connect Initial');
      assert.equal(a.phaseName, 'ErectDomain');
      assert.equal(a.summary.encryption?.method, 0x02, 'the policy imposes 128-bit RC4');
      const sent: string[] = [];
      for (const f of NONE.frames.slice(confirmActive)) {
        if (a.done) break;
        const out = checkedStep(a, f, 'skipping client');
        sent.push(...out.events.filter((e): e is Extract<AcceptorEvent, { pdu: string }> => 'pdu' in e && e.type === 'sent').map((e) => e.pdu));
      }
      assert.notEqual(a.summary.outcome, 'finalized', `finalized without Client Info or Security Exchange; sent in clear: ${sent.join(', ')}`);
      assert.equal(a.done, true);
    },
  );

  // (fixed in 83bc201: step() returns at once in Done)
  it('once done, further input changes nothing', () => {
    // refused at the Connection Request (windows-2019 requires NLA from a legacy client)...
    const a = new ServerAcceptor(acceptorPolicy(preset('windows-2019')), IDENTITY, (n) => Buffer.alloc(n));
    checkedStep(a, NONE.frames[0]!, 'CR');
    assert.equal(a.done, true);
    const before = JSON.stringify(a.summary);
    // ...then the rest of a whole session: nothing must come out, and the summary must stay
    let outputs = 0;
    for (const f of NONE.frames.slice(1)) outputs += a.step(f).output.length;
    assert.equal(a.done, true, `the acceptor left Done: now ${a.phaseName}`);
    assert.equal(JSON.stringify(a.summary), before, 'the summary changed after the end');
    assert.equal(outputs, 0, 'answers after the end');
  });
});
