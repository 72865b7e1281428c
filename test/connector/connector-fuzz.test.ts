/**
 * The ClientConnector fed arbitrary bytes (the mqtt-packet habit, with fast-check): random
 * frames, every truncation of the real servers' frames, real frames with random byte mutations,
 * at each state that takes input. It never throws, never loops, and ends either in Failed with a
 * typed ConnectorError or further along the connection sequence.
 *
 * Also: the X.224 codecs against every capture (each client's Connection Request and each
 * server's answer decode and re-encode byte for byte), and TPKT framing of every captured frame
 * split at every offset (pg-protocol's habit): "need more" until the frame is whole.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { ClientConnector, type ConnectorConfig, type SecurityUpgradeInfo } from '../../src/connector/connector.js';
import { CONNECTOR_ERROR_CODES, ConnectorError, type ConnectorErrorCode } from '../../src/connector/errors.js';
import { DEFAULT_CLIENT_DATA } from '../../src/connector/mcs-connect.js';
import { DecodeError } from '../../src/pdu/errors.js';
import { TPKT_HINT, TPKT_OR_FASTPATH_HINT, encodeTpkt, type PduHint } from '../../src/pdu/tpkt.js';
import { decodeConnectionRequest, decodeServerConnectionAnswer, encodeConnectionConfirm, encodeConnectionRequest, encodeX224Data } from '../../src/pdu/x224.js';
import { encodeWith } from '../../src/pdu/cursor.js';
import { encodeMcsDisconnectProviderUltimatum } from '../../src/pdu/mcs.js';
import { frames, listCaptures, loadCapture, streamBytes, type Connection } from '../fixtures/pcaps.js';

const RUNS = 200;
/** Fixed, so the suite is deterministic; set FC_SEED to explore other inputs (fast-check prints the seed of a failure). */
const SEED = process.env.FC_SEED ? Number(process.env.FC_SEED) : 0x20261122;
const PARAMS = { seed: SEED };
/** A whole connection takes at most: CR, Confirm, TLS resume, Connect Initial, Connect Response. */
const MAX_STEPS = 8;
const FAKE_TLS: SecurityUpgradeInfo = { version: 'TLSv1.2', serverPublicKey: Buffer.alloc(32, 1) };
const CODES: readonly ConnectorErrorCode[] = CONNECTOR_ERROR_CODES;

// --- the real frames -----------------------------------------------------------------------------

interface RealConnection {
  label: string;
  conn: Connection;
  /** the client's Connection Request */
  request: Buffer;
  /** the server's answer to it */
  confirm: Buffer;
  /** the server's MCS Connect Response (or ultimatum), in clear or inside TLS, when captured */
  mcsResponse?: Buffer;
  /** true when the MCS exchange ran inside TLS */
  mcsInTls: boolean;
}

function tpktFrames(conn: Connection, dir: 'c2s' | 's2c', layer: 'tcp' | 'tls'): Buffer[] {
  return frames(streamBytes(conn, dir, layer), TPKT_HINT).frames;
}

const REAL: RealConnection[] = listCaptures().flatMap((name) =>
  loadCapture(name).connections.map((conn): RealConnection => {
    const tcp = tpktFrames(conn, 's2c', 'tcp');
    const tls = tpktFrames(conn, 's2c', 'tls');
    const mcsResponse = tcp[1] ?? tls[0];
    return {
      label: `${name}/${conn.stream}`,
      conn,
      request: tpktFrames(conn, 'c2s', 'tcp')[0]!,
      confirm: tcp[0]!,
      ...(mcsResponse ? { mcsResponse } : {}),
      mcsInTls: !tcp[1] && Boolean(tls[0]),
    };
  }),
);
const WITH_MCS = REAL.filter((r) => r.mcsResponse);
/**
 * One connection per distinct MCS answer layout (its length): the same server configuration
 * answers with the same layout, only the server random differs. Building a connector up to the
 * Connect Response costs ~0.15 ms (the Connect Initial is encoded), so the exhaustive loops run
 * on these only.
 */
const MCS_LAYOUTS = [...new Map(WITH_MCS.map((r) => [r.mcsResponse!.length, r])).values()];

/** The connector as the captured client was configured (requested protocols, cookie). */
function configOf(r: RealConnection): ConnectorConfig {
  const cr = decodeConnectionRequest(r.request);
  return {
    requestedProtocols: cr.negReq ? cr.negReq.requestedProtocols : null,
    ...(cr.cookie !== undefined ? { cookie: cr.cookie } : {}),
    stopAfter: 'mcs-connect',
    clientData: DEFAULT_CLIENT_DATA,
  };
}

// --- driving ---------------------------------------------------------------------------------------

/**
 * Feed `inputs` one per step (resuming TLS pauses at once) until the connector is done, waits
 * for input that is not there, or MAX_STEPS is reached; any exception fails the property.
 */
function drive(c: ClientConnector, inputs: readonly Uint8Array[]): { steps: number; consumed: number } {
  let steps = 0;
  let consumed = 0;
  while (!c.done && steps < MAX_STEPS) {
    steps++;
    if (c.pause) {
      c.markSecurityUpgradeDone(FAKE_TLS);
      continue;
    }
    if (c.nextPduHint() === null) {
      c.step(null);
      continue;
    }
    const input = inputs[consumed];
    if (!input) break;
    consumed++;
    c.step(input);
  }
  assert.ok(steps < MAX_STEPS, `still ${c.stateName} after ${steps} steps`);
  return { steps, consumed };
}

/** Where a fed connector may be: done, or waiting for more input further on. */
function checkEnd(c: ClientConnector): void {
  const ok = ['Failed', 'Connected', 'WaitConnectionConfirm', 'WaitMcsConnectResponse'];
  assert.ok(ok.includes(c.stateName), `ended in ${c.stateName}`);
  if (c.stateName === 'Failed') {
    const e = c.error;
    assert.ok(e instanceof ConnectorError, 'Failed carries a ConnectorError');
    assert.ok(CODES.includes(e.code), `unknown code ${e.code}`);
    assert.ok(['x224', 'mcs'].includes(e.phase), `phase ${e.phase}`);
    if (e.code === 'DECODE_ERROR') {
      assert.ok(e.decodeError instanceof DecodeError);
      const json = e.toJSON() as { decode: { pdu: string; field: string; offset: number } };
      assert.equal(typeof json.decode.pdu, 'string');
      assert.ok(Number.isInteger(json.decode.offset) && json.decode.offset >= 0, `offset ${json.decode.offset}`);
    }
    JSON.stringify(e); // serialisable for reports
  }
}

/** A connector that has sent its Connection Request and waits for the Confirm. */
function atConfirm(config: ConnectorConfig): ClientConnector {
  const c = new ClientConnector(config);
  c.step(null);
  assert.equal(c.stateName, 'WaitConnectionConfirm');
  return c;
}

/** A connector of a captured connection brought to WaitMcsConnectResponse with the real Confirm. */
function atMcsResponse(r: RealConnection): ClientConnector {
  const c = atConfirm(configOf(r));
  drive(c, [r.confirm]);
  assert.equal(c.stateName, 'WaitMcsConnectResponse', `${r.label}: ${c.stateName} ${c.error?.message ?? ''}`);
  return c;
}

const LEGACY: ConnectorConfig = { requestedProtocols: null, cookie: 'fuzz', stopAfter: 'mcs-connect', clientData: DEFAULT_CLIENT_DATA };
const NEGOTIATING: ConnectorConfig = { requestedProtocols: 0x3, stopAfter: 'mcs-connect', clientData: DEFAULT_CLIENT_DATA };

// --- arbitraries -------------------------------------------------------------------------------------

const anyBytes = fc.uint8Array({ maxLength: 200 });
/** A TPKT whose length is right, around random bytes: what the driver's framing lets through. */
const tpktAround = (prefix: number[]) => fc.uint8Array({ maxLength: 200 }).map((b) => encodeTpkt(Uint8Array.from([...prefix, ...b])));
/** Well-formed Connection Confirms with any negotiation data (known and unknown protocols and codes). */
const validConfirm = fc
  .record({
    kind: fc.constantFrom('RDP_NEG_RSP', 'RDP_NEG_FAILURE', 'none'),
    flags: fc.integer({ min: 0, max: 255 }),
    value: fc.oneof(fc.constantFrom(0, 1, 2, 3, 4, 5, 6, 8, 0x10, 0x40), fc.nat({ max: 0xffffffff })),
  })
  .map(({ kind, flags, value }) =>
    encodeConnectionConfirm({
      dstRef: 0,
      srcRef: 0x1234,
      ...(kind === 'RDP_NEG_RSP' ? { negotiation: { type: kind, flags, selectedProtocol: value } } : {}),
      ...(kind === 'RDP_NEG_FAILURE' ? { negotiation: { type: kind, flags, failureCode: value } } : {}),
    }),
  );
/** X.224 Disconnect Request and MCS Disconnect Provider Ultimatum, well formed or nearly. */
const refusal = fc.oneof(
  fc.integer({ min: 0, max: 255 }).map((reason) => encodeTpkt(Uint8Array.of(0x06, 0x80, 0, 0, 0, 0, reason))),
  fc.tuple(fc.integer({ min: 0, max: 255 }), fc.oneof(fc.constantFrom(0x00, 0x80), fc.integer({ min: 0, max: 255 }))).map(([a, b]) => encodeTpkt(Uint8Array.of(0x02, 0xf0, 0x80, 0x20 | (a & 0x03), b))),
);
/** Plausible answers to a Connection Request: X.224 CC / DR / DT headers, RDP_NEG_RSP/FAILURE starts. */
const confirmLike = fc.oneof(
  validConfirm,
  validConfirm,
  refusal,
  anyBytes,
  tpktAround([]),
  tpktAround([0x0e, 0xd0]),
  tpktAround([0x0e, 0xd0, 0, 0, 0, 0, 0, 0x02, 0x00, 0x08, 0x00]),
  tpktAround([0x0e, 0xd0, 0, 0, 0, 0, 0, 0x03, 0x00, 0x08, 0x00]),
  tpktAround([0x06, 0x80]),
  tpktAround([0x02, 0xf0, 0x80]),
);
/** Plausible answers to an MCS Connect Initial: X.224 DT with a Connect-Response or an ultimatum. */
const mcsLike = fc.oneof(
  refusal,
  fc.integer({ min: 0, max: 4 }).map((reason) => encodeX224Data(encodeWith({ reason }, encodeMcsDisconnectProviderUltimatum))),
  fc.constantFrom(...REAL.filter((r) => r.mcsResponse).map((r) => r.mcsResponse!)),
  anyBytes,
  tpktAround([]),
  tpktAround([0x02, 0xf0, 0x80]),
  tpktAround([0x02, 0xf0, 0x80, 0x7f, 0x66]),
  tpktAround([0x02, 0xf0, 0x80, 0x21]),
);

// --- properties ----------------------------------------------------------------------------------------

describe('ClientConnector fed arbitrary bytes', () => {
  for (const [name, config] of [['legacy', LEGACY], ['RDP_NEG_REQ 0x3', NEGOTIATING]] as const) {
    it(`${name}: random frame sequences from the Confirm on never throw nor loop`, () => {
      const seen = new Set<string>();
      fc.assert(
        fc.property(confirmLike, fc.array(fc.oneof(confirmLike, mcsLike), { maxLength: 3 }), (first, rest) => {
          const c = atConfirm(config);
          drive(c, [first, ...rest]);
          checkEnd(c);
          seen.add(c.error ? `${c.error.phase} ${c.error.code}` : c.stateName);
        }),
        { ...PARAMS, numRuns: RUNS * 2 },
      );
      // the inputs reach both phases and the typical outcomes, not only the first decoder
      for (const s of ['x224 DECODE_ERROR', 'x224 UNEXPECTED_PROTOCOL', 'x224 UNKNOWN_FAILURE_CODE', 'x224 X224_DISCONNECT', 'x224 MCS_DISCONNECT_PROVIDER_ULTIMATUM', 'mcs DECODE_ERROR', 'mcs MCS_DISCONNECT_PROVIDER_ULTIMATUM', 'Connected']) {
        assert.ok(seen.has(s), `never ended in ${s}: ${[...seen].join(', ')}`);
      }
    });
  }

  it('random frames at WaitMcsConnectResponse (legacy, RDP_NEG_REQ, after TLS) never throw nor loop', () => {
    const starts = [
      REAL.find((r) => r.label === 'xrdp-rdp-high--xfreerdp-sec-rdp/0')!,
      REAL.find((r) => r.label === 'xrdp-rdp-high--rdesktop/0')!,
      REAL.find((r) => r.label === 'xrdp-tls--xfreerdp-default/0')!,
    ];
    fc.assert(
      fc.property(fc.constantFrom(...starts), fc.array(mcsLike, { minLength: 1, maxLength: 3 }), (r, inputs) => {
        const c = atMcsResponse(r);
        const { consumed } = drive(c, inputs);
        assert.equal(consumed, 1, 'one PDU ends the MCS exchange one way or the other');
        assert.ok(c.done);
        checkEnd(c);
      }),
      { ...PARAMS, numRuns: RUNS * 2 },
    );
  });

  it('every truncation of every real Confirm is a DECODE_ERROR in x224', () => {
    for (const r of REAL) {
      for (let n = 0; n < r.confirm.length; n++) {
        const c = atConfirm(configOf(r));
        drive(c, [r.confirm.subarray(0, n)]);
        assert.equal(c.stateName, 'Failed', `${r.label} cut at ${n}`);
        assert.equal(c.error?.code, 'DECODE_ERROR', `${r.label} cut at ${n}`);
        assert.equal(c.error?.phase, 'x224');
        checkEnd(c);
      }
    }
  });

  it('every truncation of every real MCS Connect Response is a DECODE_ERROR in mcs, also with the TPKT length fixed up', () => {
    assert.ok(MCS_LAYOUTS.length >= 5, `${MCS_LAYOUTS.length} layouts`);
    for (const r of MCS_LAYOUTS) {
      const full = r.mcsResponse!;
      for (let n = 0; n < full.length; n++) {
        // as cut by the network (TPKT length now wrong), and re-framed (TPKT length right, inner lengths wrong)
        const variants = [full.subarray(0, n), ...(n >= 4 ? [encodeTpkt(full.subarray(4, n))] : [])];
        for (const cut of variants) {
          const c = atMcsResponse(r);
          drive(c, [cut]);
          assert.equal(c.stateName, 'Failed', `${r.label} cut at ${n}`);
          assert.equal(c.error?.code, 'DECODE_ERROR', `${r.label} cut at ${n}: ${c.error?.message}`);
          assert.equal(c.error?.phase, 'mcs');
          assert.ok(c.result?.confirm, 'the partial result keeps the Confirm');
          checkEnd(c);
        }
      }
    }
  });

  it('real Confirms with random byte mutations never throw; they fail typed or go on', () => {
    fc.assert(
      fc.property(
        fc.constantFrom(...REAL),
        fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { minLength: 1, maxLength: 3 }),
        (r, edits) => {
          const b = Buffer.from(r.confirm);
          for (const [i, v] of edits) b[i % b.length] = v;
          const c = atConfirm(configOf(r));
          // the Confirm, then the real MCS answer if the mutated Confirm still leads there
          drive(c, [b, ...(r.mcsResponse ? [r.mcsResponse] : [])]);
          checkEnd(c);
        },
      ),
      { ...PARAMS, numRuns: RUNS * 4 },
    );
  });

  it('real MCS Connect Responses with random byte mutations never throw; they fail typed or connect', () => {
    fc.assert(
      fc.property(
        fc.constantFrom(...WITH_MCS),
        fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { minLength: 1, maxLength: 3 }),
        (r, edits) => {
          const b = Buffer.from(r.mcsResponse!);
          for (const [i, v] of edits) b[i % b.length] = v;
          const c = atMcsResponse(r);
          drive(c, [b]);
          assert.ok(c.done, `${r.label}: ${c.stateName}`);
          checkEnd(c);
        },
      ),
      { ...PARAMS, numRuns: RUNS * 4 },
    );
  });

  it('every single-byte change of a few real MCS Connect Responses, exhaustively, never throws', () => {
    const picks = ['xrdp-rdp-high--rdesktop/0', 'shadow-rdp--xfreerdp-sec-rdp/0', 'xrdp-tls--xfreerdp-default/0'].map((l) => WITH_MCS.find((r) => r.label === l)!);
    for (const r of picks) {
      const full = r.mcsResponse!;
      for (let i = 0; i < full.length; i++) {
        for (const v of [0x00, 0xff, full[i]! ^ 0x01]) {
          const b = Buffer.from(full);
          b[i] = v;
          const c = atMcsResponse(r);
          drive(c, [b]);
          checkEnd(c);
        }
      }
    }
  });
});

// --- X.224 codecs against every capture ----------------------------------------------------------------

describe('X.224 codecs on every captured Connection Request and answer', () => {
  for (const r of REAL) {
    it(`${r.label}: the request and the answer decode and re-encode byte for byte`, () => {
      // every captured client (xfreerdp, rdesktop, nmap, impacket) writes the canonical form:
      // LI exact, DST-REF 0, SRC-REF 0, class 0, cookie then RDP_NEG_REQ; so encode(decode(x)) === x
      const cr = decodeConnectionRequest(r.request);
      assert.equal(encodeConnectionRequest(cr).toString('hex'), r.request.toString('hex'));
      const answer = decodeServerConnectionAnswer(r.confirm);
      assert.equal(answer.tpdu, 'CC');
      if (answer.tpdu !== 'CC') return;
      const { tpdu: _t, ...cc } = answer;
      assert.equal(encodeConnectionConfirm(cc).toString('hex'), r.confirm.toString('hex'));
    });
  }
});

// --- TPKT framing, split at every offset -------------------------------------------------------------------

/** Every TPKT frame of every capture, both directions, in clear and inside TLS. */
const ALL_FRAMES: { label: string; frame: Buffer }[] = REAL.flatMap((r) =>
  (['c2s', 's2c'] as const).flatMap((dir) =>
    (['tcp', 'tls'] as const).flatMap((layer) => tpktFrames(r.conn, dir, layer).map((frame, i) => ({ label: `${r.label} ${dir} ${layer} #${i}`, frame }))),
  ),
);

/** An incremental framer (what RdpSocket does with its buffer): chunks in, whole frames out. */
function reassemble(chunks: Uint8Array[], hint: PduHint): Buffer[] {
  const out: Buffer[] = [];
  let buf = Buffer.alloc(0);
  for (const chunk of chunks) {
    buf = Buffer.concat([buf, chunk]);
    for (;;) {
      const size = hint.findSize(buf);
      if (size === null || size > buf.length) break;
      out.push(buf.subarray(0, size));
      buf = buf.subarray(size);
    }
  }
  assert.equal(buf.length, 0, 'bytes left over');
  return out;
}

describe('TPKT framing of every captured frame split at every offset', () => {
  it('findSize says "need more" (null, or a size beyond the bytes) before the frame is whole, its length after', () => {
    assert.ok(ALL_FRAMES.length > 200, `${ALL_FRAMES.length} frames`);
    for (const { label, frame } of ALL_FRAMES) {
      for (let n = 0; n < frame.length; n++) {
        const size = TPKT_HINT.findSize(frame.subarray(0, n));
        if (n < 4) assert.equal(size, null, `${label}: ${n} bytes`);
        else assert.equal(size, frame.length, `${label}: ${n} bytes`);
        const split = frames(frame.subarray(0, n), TPKT_HINT);
        assert.equal(split.frames.length, 0, `${label}: a frame out of ${n} bytes`);
        assert.equal(split.stop, n === 0 ? 'end' : 'truncated');
      }
      assert.equal(TPKT_HINT.findSize(frame), frame.length, label);
      assert.equal(TPKT_OR_FASTPATH_HINT.findSize(frame), frame.length, label);
    }
  });

  it('each connection\'s clear-text stream split in two at every offset reassembles into the same frames', () => {
    for (const r of REAL) {
      for (const dir of ['c2s', 's2c'] as const) {
        const whole = frames(streamBytes(r.conn, dir, 'tcp'), TPKT_OR_FASTPATH_HINT);
        // the negotiation and MCS connect frames: the first four, before any TLS record
        const bytes = streamBytes(r.conn, dir, 'tcp').subarray(0, whole.frames.slice(0, 4).reduce((n, f) => n + f.length, 0));
        const expected = frames(bytes, TPKT_OR_FASTPATH_HINT).frames.map((f) => f.toString('hex'));
        for (let at = 0; at <= bytes.length; at++) {
          const got = reassemble([bytes.subarray(0, at), bytes.subarray(at)], TPKT_OR_FASTPATH_HINT).map((f) => f.toString('hex'));
          assert.deepEqual(got, expected, `${r.label} ${dir} split at ${at}`);
        }
      }
    }
  });

  it('a stream fed one byte at a time reassembles into the same frames', () => {
    for (const r of REAL) {
      const bytes = streamBytes(r.conn, 's2c', 'tcp');
      const whole = frames(bytes, TPKT_OR_FASTPATH_HINT);
      const clear = bytes.subarray(0, whole.offset);
      const chunks = Array.from(clear, (b) => Uint8Array.of(b));
      assert.deepEqual(
        reassemble(chunks, TPKT_OR_FASTPATH_HINT).map((f) => f.toString('hex')),
        whole.frames.map((f) => f.toString('hex')),
        r.label,
      );
    }
  });
});
