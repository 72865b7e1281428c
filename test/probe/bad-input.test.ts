/**
 * probeServer against servers that misbehave, each in one way for every connection: tiny TCP
 * servers on 127.0.0.1 (loopback only, port 0). Whatever the server does, the probe resolves
 * within a bound computed from the timeout, every question ends with a typed status and error,
 * the posture still yields findings, a report and schema-valid JSON, and no socket stays open.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import type net from 'node:net';
import { fileURLToPath } from 'node:url';
import { describe, it } from 'node:test';
import { Ajv } from 'ajv';
import { WriteCursor } from '../../src/pdu/cursor.js';
import { decodeConferenceCreateRequest, encodeConferenceCreateResponse } from '../../src/pdu/gcc.js';
import { collectClientData, decodeClientDataBlocks } from '../../src/pdu/client-data.js';
import { DOMAIN_PARAMETERS_TARGET, decodeMcsConnectInitial, encodeMcsConnectResponse } from '../../src/pdu/mcs.js';
import { PROTOCOL_NAMES, type ProtocolName } from '../../src/pdu/nego.js';
import { encodeServerDataBlocks, type ServerDataBlock } from '../../src/pdu/server-data.js';
import { TPKT_HINT } from '../../src/pdu/tpkt.js';
import { decodeConnectionRequest, decodeX224Data, encodeConnectionConfirm, encodeX224Data } from '../../src/pdu/x224.js';
import { postureFindings } from '../../src/diagnose/posture-findings.js';
import { attemptError, type AttemptOutcome } from '../../src/probe/attempt.js';
import type { AttemptError, MethodProbe, Posture } from '../../src/probe/posture.js';
import { probeServer } from '../../src/probe/probe.js';
import { toJson } from '../../src/report/json.js';
import { renderPosture } from '../../src/report/terminal.js';
import { closedPort, delay, startServer, type TestServer } from '../transport/helpers.js';

const TIMEOUT_MS = 500;
const PARALLEL = 4;
/** The questions every probe asks (6 protocols, all at once, legacy); none of these servers earns a follow-up. */
const QUESTIONS = 8;
const WAVES = Math.ceil(QUESTIONS / PARALLEL);
/**
 * The longest a probe may take here: per wave of `PARALLEL` connections, one connect plus at
 * most two reads (Confirm, MCS Connect Response), each bounded by the timeout; then the
 * connection pacing (10 ms apart), the graceful closes (250 ms grace), and slack for a loaded
 * machine.
 */
const BOUND_MS = WAVES * 3 * TIMEOUT_MS + QUESTIONS * 10 + 250 + 1500;

const MAIN_JS = fileURLToPath(new URL('../../src/cli/main.js', import.meta.url));
const REPO = fileURLToPath(new URL('../../../', import.meta.url));
const SCHEMA = JSON.parse(readFileSync(fileURLToPath(new URL('../../../schemas/probe.schema.json', import.meta.url)), 'utf8')) as object;

const ajv = new Ajv({ strict: false });
ajv.addFormat('date-time', /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d+)?(?:Z|[+-]\d\d:\d\d)$/);
const validatePosture = ajv.compile(SCHEMA);

// --- misbehaving servers ---------------------------------------------------------------------

/** What a server does with each whole TPKT frame a client sends (index 0: the Connection Request). */
type OnFrame = (sock: net.Socket, frame: Buffer, index: number) => void;

interface BadServer extends TestServer {
  /** connections accepted so far */
  accepted: number;
}

/** A loopback server that frames what clients send as TPKT and hands each frame to `onFrame`. */
async function rdpServer(onFrame: OnFrame): Promise<BadServer> {
  return countingServer((sock) => {
    let buf = Buffer.alloc(0);
    let index = 0;
    sock.on('data', (d: Buffer) => {
      buf = Buffer.concat([buf, d]);
      for (;;) {
        let size: number | null;
        try {
          size = TPKT_HINT.findSize(buf);
        } catch {
          sock.destroy();
          return;
        }
        if (size === null || size > buf.length) return;
        const frame = buf.subarray(0, size);
        buf = buf.subarray(size);
        onFrame(sock, frame, index++);
      }
    });
  });
}

async function countingServer(onConnection: (sock: net.Socket) => void): Promise<BadServer> {
  const holder: { accepted: number } = { accepted: 0 };
  const server = await startServer((sock) => {
    holder.accepted++;
    // read (and drop) what nobody else reads, so the client's FIN is seen and the socket closes
    sock.resume();
    onConnection(sock);
  });
  return Object.defineProperty(server, 'accepted', { get: () => holder.accepted }) as BadServer;
}

/** The Connection Confirm a real server sends: RDP_NEG_RSP for a request with RDP_NEG_REQ, none for a legacy one. */
function confirmSelecting(frame: Buffer, selectedProtocol: number): Buffer {
  const cr = decodeConnectionRequest(frame);
  return encodeConnectionConfirm({
    dstRef: 0,
    srcRef: 0x1234,
    ...(cr.negReq ? { negotiation: { type: 'RDP_NEG_RSP' as const, flags: 0, selectedProtocol } } : {}),
  });
}

/** Server data blocks: SC_CORE (12 bytes with header), then `security`, then SC_NET. */
function serverBlocks(security: ServerDataBlock): Buffer {
  const w = new WriteCursor();
  encodeServerDataBlocks(
    [
      { kind: 'core', value: { version: 0x00080004, clientRequestedProtocols: 0 } },
      security,
      { kind: 'network', value: { MCSChannelId: 1003, channelIdArray: [] } },
    ],
    w,
  );
  return w.finish();
}
/** Offset of the second block's TS_UD_HEADER within the server data: after SC_CORE (4 + 8 bytes). */
const SECOND_BLOCK = 12;

/** A whole MCS Connect Response frame (TPKT, X.224 DT, BER, GCC PER) around `userData`, built with our encoders. */
function connectResponse(userData: Buffer): Buffer {
  const gcc = new WriteCursor();
  encodeConferenceCreateResponse({ nodeID: 0x79f3, tag: 1, result: 0, userData }, gcc);
  const mcs = new WriteCursor();
  encodeMcsConnectResponse({ result: 0, calledConnectId: 0, domainParameters: { ...DOMAIN_PARAMETERS_TARGET, maxUserIds: 3 }, userData: gcc.finish() }, mcs);
  return encodeX224Data(mcs.finish());
}

/** (d) a TS_UD_HEADER whose length is 0 (nmap's rdp.lua loops forever on one). */
function zeroLengthBlockResponse(): Buffer {
  const data = serverBlocks({ kind: 'security', value: { encryptionMethod: 0, encryptionLevel: 0 } });
  data.writeUInt16LE(0, SECOND_BLOCK + 2); // TS_UD_HEADER.length of SC_SECURITY
  return connectResponse(data);
}

/** (e) a TS_UD_SC_SEC1 whose serverRandomLen or serverCertLen is far larger than the block. */
function hostileSecurityResponse(field: 'serverRandomLen' | 'serverCertLen'): Buffer {
  const data = serverBlocks({
    kind: 'security',
    value: { encryptionMethod: 0x02, encryptionLevel: 3, serverRandom: Buffer.alloc(32, 0xab), serverCertificate: Buffer.alloc(16, 0xcd) },
  });
  // TS_UD_HEADER (4), encryptionMethod (4), encryptionLevel (4), serverRandomLen (4), serverCertLen (4)
  const at = SECOND_BLOCK + 4 + 8 + (field === 'serverRandomLen' ? 0 : 4);
  data.writeUInt32LE(field === 'serverRandomLen' ? 0xffffffff : 0x7ffffff0, at);
  return connectResponse(data);
}

/** TS_UD_CS_SEC encryptionMethods of a client's MCS Connect Initial frame. */
function offeredMethods(frame: Buffer): number {
  const ci = decodeMcsConnectInitial(decodeX224Data(frame));
  const data = collectClientData(decodeClientDataBlocks(decodeConferenceCreateRequest(ci.userData).userData));
  return data.security?.encryptionMethods ?? -1;
}

// --- running a probe -------------------------------------------------------------------------

interface Probed {
  posture: Posture;
  outcomes: AttemptOutcome[];
  elapsedMs: number;
}

async function probe(server: BadServer): Promise<Probed> {
  const outcomes: AttemptOutcome[] = [];
  const t0 = performance.now();
  const posture = await probeServer({
    host: '127.0.0.1',
    port: server.port,
    timeoutMs: TIMEOUT_MS,
    parallel: PARALLEL,
    onAttempt: (o) => outcomes.push(o),
  });
  return { posture, outcomes, elapsedMs: performance.now() - t0 };
}

/** Wait (briefly) until the server holds no socket: the probe closed every connection. */
async function noSocketsLeft(server: BadServer): Promise<void> {
  const deadline = Date.now() + 2000;
  while (server.sockets.size > 0 && Date.now() < deadline) await delay(10);
  assert.equal(server.sockets.size, 0, `${server.sockets.size} connections still open after the probe`);
}

/**
 * Everything that must hold whatever the server did: a bounded run, one connection per
 * question, findings, a report, schema-valid JSON, and nothing left open.
 */
async function common(server: BadServer, p: Probed): Promise<void> {
  assert.ok(p.elapsedMs < BOUND_MS, `probe took ${Math.round(p.elapsedMs)} ms, bound ${BOUND_MS} ms`);
  assert.equal(p.posture.connections, QUESTIONS, 'no follow-up question against a broken server');
  assert.equal(p.outcomes.length, QUESTIONS);
  await noSocketsLeft(server);
  assert.equal(server.accepted, QUESTIONS, 'the server saw every connection');
  const findings = postureFindings(p.posture);
  assert.ok(findings.length > 0);
  p.posture.findings = findings;
  const text = renderPosture(p.posture, { color: false });
  assert.match(text, /# findings/);
  const json = JSON.parse(toJson(p.posture)) as unknown;
  assert.ok(validatePosture(json), ajv.errorsText(validatePosture.errors));
}

function outcome(p: Probed, label: string): AttemptOutcome {
  const o = p.outcomes.find((x) => x.spec.label === label);
  assert.ok(o, `no attempt labelled ${label}`);
  return o;
}

/** Every protocol question ended as `status` with an error of `kind` in `phase`. */
function everyProtocol(posture: Posture, status: string, kind: string | RegExp, phase: string): void {
  for (const name of PROTOCOL_NAMES) {
    const pr = posture.protocols[name as ProtocolName];
    assert.equal(pr.status, status, `${name}: ${JSON.stringify(pr)}`);
    assert.ok(pr.error, `${name}: no error`);
    if (typeof kind === 'string') assert.equal(pr.error.kind, kind, `${name}: ${pr.error.message}`);
    else assert.match(pr.error.kind, kind, `${name}: ${pr.error.message}`);
    assert.equal(pr.error.phase, phase, `${name}: ${pr.error.message}`);
  }
}

async function withServer(make: () => Promise<BadServer>, body: (server: BadServer, p: Probed) => void | Promise<void>): Promise<void> {
  const server = await make();
  try {
    const p = await probe(server);
    await body(server, p);
    await common(server, p);
  } finally {
    await server.close();
  }
}

// --- the tests ---------------------------------------------------------------------------------

describe('probeServer against misbehaving servers (127.0.0.1)', { concurrency: true }, () => {
  it('(a) a truncated TPKT then close: closed in x224, bytes buffered', async () => {
    const cc = encodeConnectionConfirm({ dstRef: 0, srcRef: 0, negotiation: { type: 'RDP_NEG_RSP', flags: 0, selectedProtocol: 0 } });
    await withServer(
      () => rdpServer((sock, _frame, i) => i === 0 && sock.end(cc.subarray(0, 7))),
      (_s, p) => {
        assert.equal(p.posture.reachable, true, 'the TCP connections succeeded');
        everyProtocol(p.posture, 'error', 'closed', 'x224');
        assert.match(p.posture.protocols.RDP.error!.message, /7 bytes buffered/);
        assert.equal(p.posture.preferred, null);
        assert.equal(p.posture.preferredDetail.status, 'error');
        assert.equal(p.posture.standardSecurity, null);
        assert.equal(p.posture.tls, null);
        assert.equal(p.posture.downgrade.ok, null);
        assert.equal(outcome(p, 'protocol RDP').transportError?.bytesBuffered, 7);
      },
    );
  });

  for (const [name, garbage] of [
    ['an HTTP response', Buffer.from('HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n')],
    ['a TLS handshake record (0x16)', Buffer.from('160303003d020000390303' + '00'.repeat(32), 'hex')],
  ] as const) {
    it(`(b) garbage (${name}) and the connection left open: malformed TPKT.version at offset 0`, async () => {
      await withServer(
        () => rdpServer((sock, _frame, i) => i === 0 && sock.write(garbage)),
        (_s, p) => {
          assert.equal(p.posture.reachable, true);
          everyProtocol(p.posture, 'error', 'malformed', 'x224');
          const e = p.posture.protocols.SSL.error!;
          assert.equal(e.pdu, 'TPKT');
          assert.equal(e.field, 'version');
          assert.equal(e.offset, 0);
          assert.equal(p.posture.legacy.status, 'error');
          assert.equal(p.posture.legacy.error?.kind, 'malformed');
        },
      );
    });
  }

  it('(c) a TPKT declaring 0xFFFF bytes, then silence: timeout in x224, never an allocation of the claim', async () => {
    await withServer(
      () => rdpServer((sock, _frame, i) => i === 0 && sock.write(Buffer.from('0300ffff02f080', 'hex'))),
      (_s, p) => {
        everyProtocol(p.posture, 'error', 'timeout', 'x224');
        assert.match(p.posture.protocols.RDP.error!.message, /7 of 65535 bytes/);
        assert.equal(p.posture.legacy.status, 'error');
        assert.equal(p.posture.legacy.error?.kind, 'timeout');
        assert.ok(p.elapsedMs >= WAVES * TIMEOUT_MS * 0.9, 'each wave waited for its timeout');
      },
    );
  });

  it('(d) a Connect Response whose GCC server data has a zero-length TS_UD_HEADER: DECODE_ERROR naming TS_UD_HEADER.length', async () => {
    const bad = zeroLengthBlockResponse();
    await withServer(
      () => rdpServer((sock, frame, i) => sock.write(i === 0 ? confirmSelecting(frame, 0) : bad)),
      (_s, p) => {
        const expected = { kind: 'DECODE_ERROR', phase: 'mcs', pdu: 'TS_UD_HEADER', field: 'length', offset: SECOND_BLOCK + 2 };
        // the negotiation itself went fine: RDP selected every time
        assert.equal(p.posture.reachable, true);
        assert.equal(p.posture.protocols.RDP.status, 'accepted');
        for (const n of ['SSL', 'HYBRID', 'RDSTLS', 'HYBRID_EX', 'RDSAAD'] as const) {
          assert.equal(p.posture.protocols[n].status, 'ignored', n);
          assert.equal(p.posture.protocols[n].selected, 'RDP', n);
        }
        // every attempt that went on to the MCS Connect Response failed on the bad block
        for (const label of ['protocol RDP', 'protocol SSL', 'legacy request']) {
          const o = outcome(p, label);
          assert.equal(o.connectorError?.code, 'DECODE_ERROR', label);
          assert.equal(o.transportError, undefined, label);
          assert.deepEqual(pick(attemptError(o)!), expected, label);
        }
        // no Standard RDP Security posture can be read from a broken response
        assert.equal(p.posture.standardSecurity, null);
        assert.equal(p.posture.downgrade.ok, null);
        assert.deepEqual(pick(p.posture.legacy.error!), expected);
      },
    );
  });

  it('(d) a malformed Connect Response is an error of the legacy question, not a refusal', async () => {
    const bad = zeroLengthBlockResponse();
    await withServer(
      () => rdpServer((sock, frame, i) => sock.write(i === 0 ? confirmSelecting(frame, 0) : bad)),
      (_s, p) => {
        // legacyProbe() counts any error in phase mcs as "the server ended the connection after
        // the Confirm"; the server did not end anything, it sent a PDU we cannot decode
        assert.equal(p.posture.legacy.status, 'error', JSON.stringify(p.posture.legacy));
      },
    );
  });

  it('(d) the RDP question keeps the MCS DECODE_ERROR it ran into (the report must not say "not accepted")', async () => {
    const bad = zeroLengthBlockResponse();
    await withServer(
      () => rdpServer((sock, frame, i) => sock.write(i === 0 ? confirmSelecting(frame, 0) : bad)),
      (_s, p) => {
        // RDP was selected (accepted), then the Connect Response could not be decoded; protocolProbe()
        // keeps only x224-phase errors, so the posture loses the failure, standardSecurity is null
        // and the terminal report says "(enc) not accepted by the server"
        assert.equal(p.posture.protocols.RDP.status, 'accepted');
        assert.deepEqual(pick(p.posture.protocols.RDP.error ?? { kind: '-', phase: '-', message: '' }), {
          kind: 'DECODE_ERROR',
          phase: 'mcs',
          pdu: 'TS_UD_HEADER',
          field: 'length',
          offset: SECOND_BLOCK + 2,
        });
      },
    );
  });

  it('(d) a Connect Response that is malformed only for single-method offers: those methods are errors, not refusals', async () => {
    const bad = zeroLengthBlockResponse();
    const good = connectResponse(serverBlocks({
      kind: 'security',
      value: { encryptionMethod: 0x02, encryptionLevel: 3, serverRandom: Buffer.alloc(32, 0xab), serverCertificate: Buffer.alloc(16, 0xcd) },
    }));
    const server = await rdpServer((sock, frame, i) => {
      if (i === 0) sock.write(confirmSelecting(frame, 0));
      else sock.write(offeredMethods(frame) === 0x1b ? good : bad);
    });
    try {
      const p = await probe(server);
      assert.ok(p.elapsedMs < BOUND_MS * 2, `probe took ${Math.round(p.elapsedMs)} ms`);
      await noSocketsLeft(server);
      assert.equal(p.posture.connections, QUESTIONS + 4, 'the four methods were asked one by one');
      const ss = p.posture.standardSecurity;
      assert.ok(ss, 'RDP was accepted with a good Connect Response');
      assert.equal(ss.allOffered.status, 'accepted');
      assert.equal(ss.allOffered.selected, '128BIT');
      for (const m of ['40BIT', '56BIT', '128BIT', 'FIPS'] as const) {
        const mp: MethodProbe = ss.methods[m]!;
        assert.equal(mp.error?.kind, 'DECODE_ERROR', m);
        assert.equal(mp.error?.pdu, 'TS_UD_HEADER', m);
        // methodProbe() counts any error in phase mcs as a refusal; a PDU we cannot decode is not one
        assert.equal(mp.status, 'error', `${m}: ${JSON.stringify(mp)}`);
      }
    } finally {
      await server.close();
    }
  });

  for (const field of ['serverRandomLen', 'serverCertLen'] as const) {
    it(`(e) a TS_UD_SC_SEC1 with a hostile ${field}: DECODE_ERROR naming TS_UD_SC_SEC1.${field}`, async () => {
      const bad = hostileSecurityResponse(field);
      await withServer(
        () => rdpServer((sock, frame, i) => sock.write(i === 0 ? confirmSelecting(frame, 0) : bad)),
        (_s, p) => {
          const at = SECOND_BLOCK + 4 + 8 + (field === 'serverRandomLen' ? 0 : 4);
          const expected = { kind: 'DECODE_ERROR', phase: 'mcs', pdu: 'TS_UD_SC_SEC1', field, offset: at };
          assert.equal(p.posture.protocols.RDP.status, 'accepted');
          for (const label of ['protocol RDP', 'protocol SSL', 'legacy request']) {
            assert.deepEqual(pick(attemptError(outcome(p, label))!), expected, label);
          }
          assert.deepEqual(pick(p.posture.legacy.error!), expected);
          assert.equal(p.posture.standardSecurity, null);
        },
      );
    });
  }

  it('(f) a server that accepts and never answers: timeout in x224; reachable', async () => {
    await withServer(
      () => countingServer(() => {}),
      (_s, p) => {
        assert.equal(p.posture.reachable, true, 'TCP connections were accepted');
        everyProtocol(p.posture, 'error', 'timeout', 'x224');
        assert.equal(p.posture.legacy.status, 'error');
        assert.equal(p.posture.legacy.error?.kind, 'timeout');
        assert.ok(p.elapsedMs >= WAVES * TIMEOUT_MS * 0.9);
      },
    );
  });

  it('(g) a server that closes at once: closed (or reset) in x224', async () => {
    await withServer(
      () => countingServer((sock) => sock.end()),
      (_s, p) => {
        assert.equal(p.posture.reachable, true);
        everyProtocol(p.posture, 'error', /^(closed|reset)$/, 'x224');
        // a close in answer to the legacy request is the refusal legacyProbe() reports
        assert.equal(p.posture.legacy.status, 'refused');
        assert.equal(p.posture.legacy.confirm, null);
      },
    );
  });

  it('(h) an RDP_NEG_RSP selecting an unknown protocol 0x40: UNEXPECTED_PROTOCOL, nothing taken further', async () => {
    const rsp = encodeConnectionConfirm({ dstRef: 0, srcRef: 0, negotiation: { type: 'RDP_NEG_RSP', flags: 0, selectedProtocol: 0x40 } });
    await withServer(
      () => rdpServer((sock, _frame, i) => i === 0 && sock.write(rsp)),
      (_s, p) => {
        assert.equal(p.posture.reachable, true);
        for (const name of PROTOCOL_NAMES) {
          const pr = p.posture.protocols[name as ProtocolName];
          assert.equal(pr.status, 'ignored', name);
          assert.equal(pr.selected, '0x00000040', name);
          assert.equal(pr.error?.kind, 'UNEXPECTED_PROTOCOL', name);
          assert.equal(pr.error?.phase, 'x224', name);
        }
        for (const o of p.outcomes) {
          assert.equal(o.connectorError?.code, 'UNEXPECTED_PROTOCOL', o.spec.label);
          assert.equal(o.connectorError?.value, 0x40, o.spec.label);
          assert.equal(o.transcript.filter((t) => t.dir === 'sent').length, 1, `${o.spec.label}: only the Connection Request was sent`);
        }
        assert.equal(p.posture.legacy.status, 'error');
        assert.equal(p.posture.legacy.confirm, 'RDP_NEG_RSP');
        assert.equal(p.posture.legacy.error?.kind, 'UNEXPECTED_PROTOCOL');
        assert.equal(p.posture.standardSecurity, null);
        assert.equal(p.posture.tls, null);
      },
    );
  });

  it('(i) an RDP_NEG_FAILURE with an unknown failureCode 99: refused, UNKNOWN_FAILURE_CODE_99', async () => {
    const fail = encodeConnectionConfirm({ dstRef: 0, srcRef: 0, negotiation: { type: 'RDP_NEG_FAILURE', flags: 0, failureCode: 99 } });
    await withServer(
      () => rdpServer((sock, _frame, i) => i === 0 && sock.write(fail)),
      (_s, p) => {
        assert.equal(p.posture.reachable, true);
        for (const name of PROTOCOL_NAMES) {
          const pr = p.posture.protocols[name as ProtocolName];
          assert.equal(pr.status, 'refused', name);
          assert.equal(pr.failureCode, 'UNKNOWN_FAILURE_CODE_99', name);
        }
        for (const o of p.outcomes) {
          assert.equal(o.connectorError?.code, 'UNKNOWN_FAILURE_CODE', o.spec.label);
          assert.equal(o.connectorError?.value, 99, o.spec.label);
        }
        assert.equal(p.posture.requires, null);
        assert.deepEqual(
          { status: p.posture.legacy.status, failureCode: p.posture.legacy.failureCode, confirm: p.posture.legacy.confirm },
          { status: 'refused', failureCode: 'UNKNOWN_FAILURE_CODE_99', confirm: 'RDP_NEG_FAILURE' },
        );
        assert.equal(p.posture.preferredDetail.status, 'refused');
      },
    );
  });
});

/** The typed part of an AttemptError (the message is for people). */
function pick(e: AttemptError): Omit<AttemptError, 'message'> {
  const { kind, phase, pdu, field, offset } = e;
  return { kind, phase, ...(pdu !== undefined ? { pdu } : {}), ...(field !== undefined ? { field } : {}), ...(offset !== undefined ? { offset } : {}) };
}

// --- the CLI ----------------------------------------------------------------------------------

interface CliRun {
  code: number | null;
  stdout: string;
  stderr: string;
}

function cli(args: string[]): Promise<CliRun> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [MAIN_JS, ...args], { cwd: REPO, env: { ...process.env, NO_COLOR: '1' }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    child.once('error', reject);
    child.once('close', (code) => resolve({ code, stdout, stderr }));
  });
}

describe('rdpsec probe --json (CLI) against bad servers', { concurrency: true }, () => {
  it('a server that never answers: exit 0, valid JSON, every protocol a timeout', async () => {
    const server = await countingServer(() => {});
    try {
      const t0 = performance.now();
      const run = await cli(['probe', `127.0.0.1:${server.port}`, '--json', '--timeout', '0.5']);
      assert.ok(performance.now() - t0 < BOUND_MS + 2000, 'bounded');
      assert.equal(run.code, 0, run.stderr);
      const json = JSON.parse(run.stdout) as Posture;
      assert.ok(validatePosture(json), ajv.errorsText(validatePosture.errors));
      assert.equal(json.reachable, true);
      assert.deepEqual(json.target, { host: '127.0.0.1', port: server.port });
      everyProtocol(json, 'error', 'timeout', 'x224');
      assert.ok(json.findings.some((f) => f.id === 'nla-not-supported'));
      await noSocketsLeft(server);
      assert.equal(server.accepted, QUESTIONS);
    } finally {
      await server.close();
    }
  });

  it('a closed port: exit 3 (unreachable), valid JSON with reachable false', async () => {
    const port = await closedPort();
    const run = await cli(['probe', `127.0.0.1:${port}`, '--json', '--timeout', '0.5']);
    assert.equal(run.code, 3, run.stderr);
    const json = JSON.parse(run.stdout) as Posture;
    assert.ok(validatePosture(json), ajv.errorsText(validatePosture.errors));
    assert.equal(json.reachable, false);
    everyProtocol(json, 'error', 'refused', 'connect');
    assert.deepEqual(json.findings.map((f) => f.id), ['unreachable']);
  });
});
