/**
 * The activation (MS-RDPBCGR 1.3.1.1 after the MCS Connect Response) against a hostile server:
 * wrong MACs, truncated security headers, server certificates with a short or absurd modulus,
 * Demand Active PDUs with hostile capability lengths, a Set Error Info then a disconnect,
 * licensing errors, a server that goes silent, an Attach User refused. The server is scripted
 * with our own encoders and real Standard RDP Security (hostile-server.ts): it decrypts the
 * client random with its key, derives the server-side RC4 keys and encrypts its PDUs properly,
 * or improperly on purpose.
 *
 * Each scenario runs through runAttempt (stopAfter 'activation') over loopback, and most through
 * probeServer({ handshake: true }): the outcome is a typed ConnectorError or TransportError
 * with its code and phase, never an exception, never a hang, no socket left open. A fast-check
 * property drives the ClientConnector in memory after a correct MCS exchange with random server
 * PDUs (raw, framed, behind valid and broken security headers, with valid MACs around random
 * bodies) at each phase of the activation.
 */
import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, it } from 'node:test';
import { Ajv } from 'ajv';
import fc from 'fast-check';
import { ClientConnector, type ConnectorConfig } from '../../src/connector/connector.js';
import { CONNECTOR_ERROR_CODES, ConnectorError, type ConnectorErrorCode } from '../../src/connector/errors.js';
import { DEFAULT_CLIENT_DATA } from '../../src/connector/mcs-connect.js';
import type { MacForm } from '../../src/crypto/session-keys.js';
import { WriteCursor } from '../../src/pdu/cursor.js';
import { DecodeError } from '../../src/pdu/errors.js';
import {
  BB_CERTIFICATE_BLOB,
  BB_ENCRYPTED_DATA_BLOB,
  BB_ERROR_BLOB,
  BB_KEY_EXCHG_ALG_BLOB,
  BB_SCOPE_BLOB,
  ERR_INVALID_CLIENT,
  PREAMBLE_VERSION_3_0,
  ST_TOTAL_ABORT,
  validClientLicensingPdu,
  type LicensingPdu,
} from '../../src/pdu/licensing.js';
import { encodeTpkt } from '../../src/pdu/tpkt.js';
import { SEC_ENCRYPT, SEC_LICENSE_PKT, joinSecurityHeader } from '../../src/pdu/security-header.js';
import { ENCRYPTION_LEVEL_LOW } from '../../src/pdu/server-data.js';
import { ENCRYPTION_METHOD_NONE } from '../../src/pdu/client-data.js';
import { PROTOCOL } from '../../src/pdu/nego.js';
import { spkiSubjectPublicKey } from '../../src/crypto/x509-der.js';
import { encodeX224Data } from '../../src/pdu/x224.js';
import { runAttempt, type AttemptOutcome } from '../../src/probe/attempt.js';
import type { HandshakeAttempt, Posture } from '../../src/probe/posture.js';
import { probeServer } from '../../src/probe/probe.js';
import { TransportError } from '../../src/transport/errors.js';
import { toJson } from '../../src/report/json.js';
import { delay } from '../transport/helpers.js';
import {
  CERT_OFFSET,
  SERVER_KEY,
  ScriptedSession,
  domain,
  proprietaryCertificate,
  pumpInMemory,
  startScriptedServer,
  type ScriptOptions,
  type ScriptedServer,
} from './hostile-server.js';

const TIMEOUT_MS = 1000;
/**
 * A scenario that does not wait for a timeout ends in a few hundred ms; this bound leaves room
 * for a loaded machine (a hang would show as a transport timeout anyway, not a ConnectorError).
 */
const FAST_BOUND_MS = 2 * TIMEOUT_MS + 500;
/** A scenario that ends in a read timeout: the timeout, the graceful close, slack. */
const TIMEOUT_BOUND_MS = TIMEOUT_MS + 250 + 1500;
/**
 * probeServer({ handshake: true }) against these servers: 14 connections at 4 in flight, all
 * answered at once, except the two handshakes that may each wait one read timeout; then the
 * graceful closes and slack.
 */
const PROBE_BOUND_MS = 4 * TIMEOUT_MS + 250 + 2500;

const SEED = process.env.FC_SEED ? Number(process.env.FC_SEED) : 0x20261205;

const SCHEMA = JSON.parse(readFileSync(fileURLToPath(new URL('../../../schemas/probe.schema.json', import.meta.url)), 'utf8')) as object;
const ajv = new Ajv({ strict: false });
ajv.addFormat('date-time', /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d+)?(?:Z|[+-]\d\d:\d\d)$/);
const validatePosture = ajv.compile(SCHEMA);

const CODES: ReadonlySet<ConnectorErrorCode> = new Set<ConnectorErrorCode>(CONNECTOR_ERROR_CODES);
/** Where a failed check of a server PDU is reported: the connector's phase, or the security layer's. */
const CRYPTO_PHASE = /^(activation|security)$/;
const PHASES: ReadonlySet<string> = new Set(['x224', 'tls', 'credssp', 'mcs', 'activation', 'security', 'licensing', 'capabilities', 'finalization']);

// --- building server PDUs ------------------------------------------------------------------------

/** An RSA modulus of `bytes` bytes, top bit set (so its bit length is exactly bytes * 8). */
function shortModulus(bytes: number): Buffer {
  const m = Buffer.alloc(bytes, 0x5b);
  m[bytes - 1] = 0xc1; // little-endian: the last byte is the most significant
  m[0] = 0x01; // odd
  return m;
}

/** The honest certificate with one u32 field overwritten. */
function certWith(offset: number, value: number): Buffer {
  const c = proprietaryCertificate(SERVER_KEY.modulusLE);
  c.writeUInt32LE(value >>> 0, offset);
  return c;
}

const u32le = (n: number): Buffer => {
  const b = Buffer.alloc(4);
  b.writeUInt32LE(n >>> 0);
  return b;
};

function licenseRequest(certificate: Uint8Array): LicensingPdu {
  return {
    flags: PREAMBLE_VERSION_3_0,
    message: {
      kind: 'licenseRequest',
      value: {
        serverRandom: Buffer.alloc(32, 0x42),
        productInfo: { dwVersion: 0x00060000, companyName: 'Microsoft Corporation', productId: 'A02' },
        keyExchangeList: { wBlobType: BB_KEY_EXCHG_ALG_BLOB, blobData: u32le(1) },
        serverCertificate: { wBlobType: BB_CERTIFICATE_BLOB, blobData: certificate },
        scopeList: [{ wBlobType: BB_SCOPE_BLOB, blobData: Buffer.from('microsoft.com\0', 'latin1') }],
      },
    },
  };
}

const PLATFORM_CHALLENGE: LicensingPdu = {
  flags: PREAMBLE_VERSION_3_0,
  message: {
    kind: 'platformChallenge',
    value: { connectFlags: 0, encryptedPlatformChallenge: { wBlobType: BB_ENCRYPTED_DATA_BLOB, blobData: Buffer.alloc(10, 0x77) }, macData: Buffer.alloc(16, 0x55) },
  },
};

const INVALID_CLIENT: LicensingPdu = {
  flags: PREAMBLE_VERSION_3_0,
  message: { kind: 'errorAlert', value: { dwErrorCode: ERR_INVALID_CLIENT, dwStateTransition: ST_TOTAL_ABORT, bbErrorInfo: { wBlobType: BB_ERROR_BLOB, blobData: new Uint8Array(0) } } },
};

/** ERRINFO_SERVER_DENIED_CONNECTION (MS-RDPBCGR 2.2.5.1.1; src/pdu/error-info.ts). */
const ERRINFO_SERVER_DENIED_CONNECTION = 0x0007;

/**
 * Offsets in the Demand Active share PDU bytes (MS-RDPBCGR 2.2.1.13.1.1): Share Control Header
 * (totalLength, pduType, pduSource), shareId, lengthSourceDescriptor, lengthCombinedCapabilities,
 * sourceDescriptor "RDP\0", numberCapabilities, pad2Octets, then the first TS_CAPS_SET.
 */
const DA = { lengthCombinedCapabilities: 12, numberCapabilities: 18, firstSetType: 22, firstSetLength: 24 } as const;

// --- running an attempt --------------------------------------------------------------------------

function attemptConfig(macForm: MacForm): Omit<ConnectorConfig, 'cookie'> {
  return { requestedProtocols: 0, stopAfter: 'activation', clientData: { ...DEFAULT_CLIENT_DATA }, activation: { macForm } };
}

interface Run {
  outcome?: AttemptOutcome;
  /** what runAttempt threw: a crash (anything it throws is one) */
  thrown?: unknown;
  elapsedMs: number;
  server: ScriptedServer;
}

/** Wait (briefly) until the server holds no socket. */
async function noSocketsLeft(server: ScriptedServer): Promise<void> {
  const deadline = Date.now() + 2000;
  while (server.sockets.size > 0 && Date.now() < deadline) await delay(10);
  assert.equal(server.sockets.size, 0, `${server.sockets.size} connections still open after the attempt`);
}

/** One runAttempt against a scripted server; the server is closed afterwards, its sockets checked. */
async function attempt(opts: ScriptOptions, macForm: MacForm = 'unsalted'): Promise<Run> {
  const server = await startScriptedServer(opts);
  try {
    const closing: Promise<void>[] = [];
    const t0 = performance.now();
    let outcome: AttemptOutcome | undefined;
    let thrown: unknown;
    try {
      outcome = await runAttempt({ host: '127.0.0.1', port: server.port, timeoutMs: TIMEOUT_MS, closing }, { label: `hostile ${macForm}`, config: attemptConfig(macForm) });
    } catch (e) {
      thrown = e;
    }
    const elapsedMs = performance.now() - t0;
    await Promise.all(closing);
    await noSocketsLeft(server);
    return { ...(outcome ? { outcome } : {}), ...(thrown !== undefined ? { thrown } : {}), elapsedMs, server };
  } finally {
    await server.close();
  }
}

function describeThrown(e: unknown): string {
  return e instanceof Error ? `${e.name}: ${e.message}\n${e.stack ?? ''}` : String(e);
}

function notCrashed(run: Run): AttemptOutcome {
  assert.equal(run.thrown, undefined, `runAttempt threw (a crash, not a typed failure): ${describeThrown(run.thrown)}`);
  assert.ok(run.outcome);
  assert.deepEqual(run.server.errors, [], 'the scripted server itself failed');
  return run.outcome;
}

/** The attempt ended with a ConnectorError of `code` in `phase`, in bounded time. */
function connectorFailure(run: Run, code: ConnectorErrorCode | readonly ConnectorErrorCode[], phase: string | RegExp, bound = FAST_BOUND_MS): ConnectorError {
  const o = notCrashed(run);
  assert.equal(o.transportError, undefined, `a transport error instead of a ConnectorError: ${o.transportError?.message}`);
  const e = o.connectorError;
  assert.ok(e instanceof ConnectorError, 'no ConnectorError');
  const codes = typeof code === 'string' ? [code] : code;
  assert.ok(codes.includes(e.code), `code ${e.code} (${e.message}), expected ${codes.join(' or ')}`);
  if (typeof phase === 'string') assert.equal(e.phase, phase, e.message);
  else assert.match(e.phase, phase, e.message);
  assert.ok(run.elapsedMs < bound, `took ${Math.round(run.elapsedMs)} ms, bound ${bound} ms`);
  return e;
}

// --- running a probe -----------------------------------------------------------------------------

interface Probed {
  posture?: Posture;
  thrown?: unknown;
  outcomes: AttemptOutcome[];
  elapsedMs: number;
  server: ScriptedServer;
}

async function probeHandshake(opts: ScriptOptions): Promise<Probed> {
  const server = await startScriptedServer(opts);
  try {
    const outcomes: AttemptOutcome[] = [];
    const t0 = performance.now();
    let posture: Posture | undefined;
    let thrown: unknown;
    try {
      posture = await probeServer({ host: '127.0.0.1', port: server.port, timeoutMs: TIMEOUT_MS, parallel: 4, handshake: true, onAttempt: (o) => outcomes.push(o) });
    } catch (e) {
      thrown = e;
    }
    const elapsedMs = performance.now() - t0;
    await noSocketsLeft(server);
    return { ...(posture ? { posture } : {}), ...(thrown !== undefined ? { thrown } : {}), outcomes, elapsedMs, server };
  } finally {
    await server.close();
  }
}

/**
 * The probe ran to the end, in bounded time, its JSON is schema-valid, and both 128-bit RC4
 * handshakes (plain and salted MAC) failed with `kind` in `phase`. Returns the two attempts.
 */
function bothHandshakesFailed(p: Probed, kind: string | readonly string[], phase: string | RegExp, bound = PROBE_BOUND_MS): HandshakeAttempt[] {
  assert.equal(p.thrown, undefined, `probeServer threw (a crash): ${describeThrown(p.thrown)}`);
  assert.deepEqual(p.server.errors, [], 'the scripted server itself failed');
  const posture = p.posture!;
  assert.ok(p.elapsedMs < bound, `probe took ${Math.round(p.elapsedMs)} ms, bound ${bound} ms`);
  const json = JSON.parse(toJson(posture)) as unknown;
  assert.ok(validatePosture(json), ajv.errorsText(validatePosture.errors));
  const m = posture.handshake?.methods['128BIT'];
  assert.ok(m, `no 128BIT handshake: ${JSON.stringify(posture.handshake)}`);
  const kinds = typeof kind === 'string' ? [kind] : kind;
  const attempts = [m.plainMac!, m.saltedMac!];
  for (const a of attempts) {
    assert.equal(a.works, false, JSON.stringify(a));
    assert.ok(a.failure, JSON.stringify(a));
    assert.ok(kinds.includes(a.failure.kind), `${a.failure.kind} (${a.failure.message}), expected ${kinds.join(' or ')}`);
    if (typeof phase === 'string') assert.equal(a.failure.phase, phase, a.failure.message);
    else assert.match(a.failure.phase, phase, a.failure.message);
  }
  const entries = posture.standardSecurity?.handshakes ?? [];
  assert.equal(entries.filter((e) => e.method === '128BIT' && e.completed === false && e.error && kinds.includes(e.error.code)).length, 2, JSON.stringify(entries));
  return attempts;
}

// --- the scenarios --------------------------------------------------------------------------------

describe('the scripted server (sanity)', { concurrency: true }, () => {
  for (const macForm of ['unsalted', 'salted'] as const) {
    it(`an honest server: runAttempt completes the activation with the ${macForm} MAC, both directions encrypted`, async () => {
      const run = await attempt({}, macForm);
      const o = notCrashed(run);
      assert.equal(o.connectorError, undefined, o.connectorError?.message);
      assert.equal(o.transportError, undefined, o.transportError?.message);
      const a = o.result?.activation;
      assert.equal(a?.reached, 'finalized');
      assert.deepEqual(a?.encrypted, { clientToServer: true, serverToClient: true });
      assert.deepEqual(a?.finalization, ['Synchronize', 'Control Cooperate', 'Control Granted Control', 'Font Map']);
      const s = run.server.sessions[0]!;
      assert.equal(s.log.clientMacErrors, 0, 'the server verified every client MAC');
      assert.equal(s.macForm, macForm);
      assert.equal(s.log.received.at(-1), 'disconnectProviderUltimatum');
    });
  }

  it('an honest server without encryption (method and level NONE): runAttempt completes the activation', async () => {
    const run = await attempt({ encryptionMethod: ENCRYPTION_METHOD_NONE });
    const o = notCrashed(run);
    assert.equal(o.connectorError, undefined, o.connectorError?.message);
    assert.equal(o.result?.activation?.reached, 'finalized');
    assert.deepEqual(o.result?.activation?.encrypted, { clientToServer: false, serverToClient: false });
  });

  it('an honest server: probeServer({ handshake: true }) reports 128BIT working with both MAC forms', async () => {
    const p = await probeHandshake({});
    assert.equal(p.thrown, undefined, describeThrown(p.thrown));
    const m = p.posture!.handshake!.methods['128BIT']!;
    assert.equal(m.plainMac?.works, true, JSON.stringify(m));
    assert.equal(m.saltedMac?.works, true, JSON.stringify(m));
    assert.ok(p.elapsedMs < PROBE_BOUND_MS);
  });
});

describe('1. a server PDU with a wrong MAC', { concurrency: true }, () => {
  const flip = (sig: Buffer): void => {
    sig[3] = sig[3]! ^ 0x01;
  };
  const wrongDemandActive: ScriptOptions = {
    hooks: { afterClientInfo: (s) => [s.licensing(validClientLicensingPdu()), s.encrypted(s.demandActiveBytes(), 0, flip)] },
  };
  for (const macForm of ['unsalted', 'salted'] as const) {
    it(`a Demand Active whose dataSignature has one bit flipped (${macForm}): MAC_MISMATCH`, async () => {
      const e = connectorFailure(await attempt(wrongDemandActive, macForm), 'MAC_MISMATCH', CRYPTO_PHASE);
      assert.match(e.message, /MAC/);
    });
  }

  it('a wrong MAC on the last finalization PDU (Font Map): MAC_MISMATCH, the activation got to demand-active', async () => {
    const run = await attempt({
      hooks: {
        afterFontList: (s, honest) => {
          const frames = honest().slice(0, 3);
          frames.push(s.encrypted(s.dataBytes({ kind: 'fontMap', value: { numberEntries: 0, totalNumEntries: 0, mapFlags: 3, entrySize: 4 } }), 0, flip));
          return frames;
        },
      },
    });
    connectorFailure(run, 'MAC_MISMATCH', CRYPTO_PHASE);
    assert.equal(run.outcome!.result?.activation?.reached, 'demand-active');
    assert.deepEqual(run.outcome!.result?.activation?.finalization, ['Synchronize', 'Control Cooperate', 'Control Granted Control']);
  });

  it('a ciphertext with one bit flipped (the MAC left as computed): MAC_MISMATCH', async () => {
    const run = await attempt({
      hooks: {
        afterClientInfo: (s) => {
          const ud = s.encryptedUserData(s.demandActiveBytes());
          ud[ud.length - 1] = ud[ud.length - 1]! ^ 0x80;
          return [s.licensing(validClientLicensingPdu()), s.io(ud)];
        },
      },
    });
    connectorFailure(run, 'MAC_MISMATCH', CRYPTO_PHASE);
  });

  it('probeServer({ handshake: true }): both 128BIT handshakes fail with MAC_MISMATCH', async () => {
    bothHandshakesFailed(await probeHandshake(wrongDemandActive), 'MAC_MISMATCH', CRYPTO_PHASE);
  });
});

describe('2. a truncated security header', { concurrency: true }, () => {
  const cases: [string, (s: ScriptedSession) => Buffer, string, string][] = [
    ['a Send Data Indication whose userData is 3 bytes', (s) => s.io(Buffer.from([0x08, 0x00, 0x00])), 'TS_SECURITY_HEADER', 'flagsHi'],
    ['a Send Data Indication whose userData is empty', (s) => s.io(Buffer.alloc(0)), 'TS_SECURITY_HEADER', 'flags'],
    ['SEC_ENCRYPT and 3 of the 8 dataSignature bytes', (s) => s.io(Buffer.from([SEC_ENCRYPT, 0x00, 0x00, 0x00, 1, 2, 3])), 'TS_SECURITY_HEADER1', 'dataSignature'],
  ];
  for (const [label, pdu, pduName, field] of cases) {
    it(`after the Client Info (licensing): ${label}: DECODE_ERROR naming ${pduName}.${field}`, async () => {
      const e = connectorFailure(await attempt({ hooks: { afterClientInfo: (s) => [pdu(s)] } }), 'DECODE_ERROR', 'activation');
      assert.ok(e.decodeError instanceof DecodeError);
      assert.equal(e.decodeError.root().pdu, pduName, e.message);
      assert.equal(e.decodeError.root().field, field, e.message);
      assert.match(e.message, new RegExp(`${pduName}\\.${field}`));
    });
  }

  it('after licensing (capabilities): a 3-byte userData: DECODE_ERROR naming TS_SECURITY_HEADER', async () => {
    const e = connectorFailure(
      await attempt({ hooks: { afterClientInfo: (s) => [s.licensing(validClientLicensingPdu()), s.io(Buffer.from([0x08, 0x00, 0x00]))] } }),
      'DECODE_ERROR',
      'activation',
    );
    assert.equal(e.decodeError?.root().pdu, 'TS_SECURITY_HEADER');
  });

  it('probeServer({ handshake: true }): DECODE_ERROR with pdu TS_SECURITY_HEADER in the report', async () => {
    const attempts = bothHandshakesFailed(await probeHandshake({ hooks: { afterClientInfo: (s) => [s.io(Buffer.from([0x08, 0x00, 0x00]))] } }), 'DECODE_ERROR', 'activation');
    for (const a of attempts) {
      assert.equal(a.failure?.pdu, 'TS_SECURITY_HEADER');
      assert.equal(a.failure?.field, 'flagsHi');
      assert.equal(a.reached, 'client-info');
    }
  });
});

describe('3. a server certificate with a short or absurd modulus', { concurrency: true }, () => {
  const absurd: [string, Buffer, string][] = [
    ['keylen 0xFFFFFFFF', certWith(CERT_OFFSET.keylen, 0xffffffff), 'keylen'],
    ['bitlen 0xFFFFFFFF', certWith(CERT_OFFSET.bitlen, 0xffffffff), 'bitlen'],
    ['datalen 0xFFFFFFFF', certWith(CERT_OFFSET.datalen, 0xffffffff), 'datalen'],
    ['keylen 8 (no modulus at all)', certWith(CERT_OFFSET.keylen, 8), 'keylen'],
  ];
  for (const [label, certificate, field] of absurd) {
    it(`a proprietary certificate with ${label}: DECODE_ERROR naming RSA_PUBLIC_KEY.${field}, never a RangeError`, async () => {
      const e = connectorFailure(await attempt({ certificate }), 'DECODE_ERROR', /^(mcs|security)$/);
      assert.equal(e.decodeError?.root().pdu, 'RSA_PUBLIC_KEY', e.message);
      assert.equal(e.decodeError?.root().field, field, e.message);
    });
  }

  it('a wPublicKeyBlobLen of 0xFFFF: DECODE_ERROR', async () => {
    const certificate = proprietaryCertificate(SERVER_KEY.modulusLE);
    certificate.writeUInt16LE(0xffff, CERT_OFFSET.wPublicKeyBlobLen);
    connectorFailure(await attempt({ certificate }), 'DECODE_ERROR', /^(mcs|security)$/);
  });

  // A modulus shorter than the 32-byte client random cannot encrypt it (MS-RDPBCGR 5.3.4.1).
  // The certificate decodes; encryptClientRandom then throws RdpCryptoError('BadRsaValue'),
  // which ClientConnector.step must turn into a ConnectorError (it escaped as an exception
  // before e05b017 and crashed probeServer).
  const short: [string, Buffer][] = [
    ['a 64-bit modulus', shortModulus(8)],
    ['a 248-bit modulus (one byte short of the client random)', shortModulus(31)],
    ['a modulus of 1', Buffer.from([0x01])],
    ['an all-zero 512-bit modulus', Buffer.alloc(64)],
  ];
  for (const [label, modulus] of short) {
    it(`${label}: a typed ConnectorError (DECODE_ERROR) in mcs or security, not a crash`, async () => {
      const e = connectorFailure(await attempt({ certificate: proprietaryCertificate(modulus) }), 'DECODE_ERROR', /^(mcs|security)$/);
      assert.match(e.message, /modulus|certificate|RSA|client random/i);
    });
  }

  it('probeServer({ handshake: true }) with a 64-bit modulus: runs to the end, both handshakes DECODE_ERROR', async () => {
    const p = await probeHandshake({ certificate: proprietaryCertificate(shortModulus(8)) });
    bothHandshakesFailed(p, 'DECODE_ERROR', /^(mcs|security)$/);
    assert.equal(p.posture!.standardSecurity?.certificate?.keyBits, 64, 'the certificate itself is reported (64 bits)');
  });

  it('probeServer({ handshake: true }) with keylen 0xFFFFFFFF: runs to the end, both handshakes DECODE_ERROR, no certificate summary', async () => {
    const p = await probeHandshake({ certificate: certWith(CERT_OFFSET.keylen, 0xffffffff) });
    bothHandshakesFailed(p, 'DECODE_ERROR', /^(mcs|security)$/);
    assert.equal(p.posture!.standardSecurity?.certificate, null);
  });

  it('a licensing certificate (SERVER_LICENSE_REQUEST) with a 64-bit modulus: LICENSING_ERROR or DECODE_ERROR in licensing, not a crash', async () => {
    const run = await attempt({ hooks: { afterClientInfo: (s) => [s.licensing(licenseRequest(proprietaryCertificate(shortModulus(8))))] } });
    connectorFailure(run, ['LICENSING_ERROR', 'DECODE_ERROR'], /^(licensing|activation|security)$/);
  });

  it('a licensing certificate with keylen 0xFFFFFFFF: DECODE_ERROR', async () => {
    const run = await attempt({ hooks: { afterClientInfo: (s) => [s.licensing(licenseRequest(certWith(CERT_OFFSET.keylen, 0xffffffff)))] } });
    const e = connectorFailure(run, 'DECODE_ERROR', 'activation');
    assert.equal(e.decodeError?.root().field, 'keylen');
  });
});

describe('4. a Demand Active with hostile capability lengths', { concurrency: true }, () => {
  const honestLength = (b: Buffer): number => b.readUInt16LE(DA.lengthCombinedCapabilities);
  const cases: [string, (b: Buffer) => void][] = [
    ['lengthCombinedCapabilities 0', (b) => b.writeUInt16LE(0, DA.lengthCombinedCapabilities)],
    ['lengthCombinedCapabilities 3', (b) => b.writeUInt16LE(3, DA.lengthCombinedCapabilities)],
    ['lengthCombinedCapabilities 0xFFFF', (b) => b.writeUInt16LE(0xffff, DA.lengthCombinedCapabilities)],
    ['lengthCombinedCapabilities past the end', (b) => b.writeUInt16LE(honestLength(b) + 5, DA.lengthCombinedCapabilities)],
    ['lengthCombinedCapabilities swallowing the sessionId', (b) => b.writeUInt16LE(honestLength(b) + 4, DA.lengthCombinedCapabilities)],
    ['lengthCombinedCapabilities one byte short', (b) => b.writeUInt16LE(honestLength(b) - 1, DA.lengthCombinedCapabilities)],
    ['numberCapabilities 0xFFFF', (b) => b.writeUInt16LE(0xffff, DA.numberCapabilities)],
    ['the first lengthCapability 0', (b) => b.writeUInt16LE(0, DA.firstSetLength)],
    ['the first lengthCapability 3', (b) => b.writeUInt16LE(3, DA.firstSetLength)],
    ['the first lengthCapability 0xFFFF', (b) => b.writeUInt16LE(0xffff, DA.firstSetLength)],
    ['the first lengthCapability past the end', (b) => b.writeUInt16LE(honestLength(b) - 4 + 1, DA.firstSetLength)],
    ['the General set 8 bytes long (shorter than its fields)', (b) => b.writeUInt16LE(8, DA.firstSetLength)],
  ];
  for (const [label, patch] of cases) {
    it(`${label}: DECODE_ERROR in activation naming the Demand Active or a capability set`, async () => {
      const run = await attempt({
        hooks: {
          afterClientInfo: (s) => {
            const b = s.demandActiveBytes();
            patch(b);
            return [s.licensing(validClientLicensingPdu()), s.demandActive(b)];
          },
        },
      });
      const e = connectorFailure(run, 'DECODE_ERROR', 'activation');
      assert.ok(e.decodeError instanceof DecodeError);
      assert.match(e.decodeError.root().pdu, /^(TS_DEMAND_ACTIVE_PDU|TS_CAPS_SET|CAPSTYPE_\w+)$/, e.message);
      assert.equal(run.outcome!.result?.activation?.reached, 'licensing');
    });
  }

  it('probeServer({ handshake: true }) with lengthCapability 0xFFFF: DECODE_ERROR naming TS_CAPS_SET.lengthCapability', async () => {
    const attempts = bothHandshakesFailed(
      await probeHandshake({
        hooks: {
          afterClientInfo: (s) => {
            const b = s.demandActiveBytes();
            b.writeUInt16LE(0xffff, DA.firstSetLength);
            return [s.licensing(validClientLicensingPdu()), s.demandActive(b)];
          },
        },
      }),
      'DECODE_ERROR',
      'activation',
    );
    for (const a of attempts) {
      assert.equal(a.failure?.pdu, 'TS_CAPS_SET');
      assert.equal(a.failure?.field, 'lengthCapability');
    }
  });
});

describe('5. a Set Error Info PDU then a Disconnect Provider Ultimatum', { concurrency: true }, () => {
  const denied = (s: ScriptedSession): Buffer[] => s.thenClose([s.data({ kind: 'setErrorInfo', value: { errorInfo: ERRINFO_SERVER_DENIED_CONNECTION } }), s.ultimatum()]);

  it('at level LOW (server-to-client in clear), in answer to the Client Info: SERVER_DISCONNECTED in licensing naming ERRINFO_SERVER_DENIED_CONNECTION', async () => {
    const e = connectorFailure(await attempt({ encryptionLevel: ENCRYPTION_LEVEL_LOW, hooks: { afterClientInfo: denied } }), 'SERVER_DISCONNECTED', 'licensing');
    assert.match(e.message, /ERRINFO_SERVER_DENIED_CONNECTION/);
    assert.equal(e.value, ERRINFO_SERVER_DENIED_CONNECTION);
  });

  // At level HIGH the Set Error Info is encrypted. In the Licensing phase ClientActivation.onIoData
  // unwraps (decrypts) the userData as a licensing PDU, sees no SEC_LICENSE_PKT, and unwraps the
  // same bytes AGAIN as 'other': the RC4 stream has moved on, the MAC cannot match.
  it('at level HIGH (encrypted), in answer to the Client Info: SERVER_DISCONNECTED in licensing naming ERRINFO_SERVER_DENIED_CONNECTION', async () => {
    const e = connectorFailure(await attempt({ hooks: { afterClientInfo: denied } }), 'SERVER_DISCONNECTED', 'licensing');
    assert.match(e.message, /ERRINFO_SERVER_DENIED_CONNECTION/);
    assert.equal(e.value, ERRINFO_SERVER_DENIED_CONNECTION);
  });

  it('at level HIGH, after licensing: SERVER_DISCONNECTED in capabilities naming ERRINFO_SERVER_DENIED_CONNECTION', async () => {
    const run = await attempt({ hooks: { afterClientInfo: (s) => [s.licensing(validClientLicensingPdu()), ...denied(s)] } });
    const e = connectorFailure(run, 'SERVER_DISCONNECTED', 'capabilities');
    assert.match(e.message, /ERRINFO_SERVER_DENIED_CONNECTION/);
    assert.equal(run.outcome!.result?.activation?.errorInfo?.name, 'ERRINFO_SERVER_DENIED_CONNECTION');
  });

  it('probeServer({ handshake: true }), after licensing: both handshakes SERVER_DISCONNECTED, errorInfo named in the message', async () => {
    const attempts = bothHandshakesFailed(
      await probeHandshake({ hooks: { afterClientInfo: (s) => [s.licensing(validClientLicensingPdu()), ...denied(s)] } }),
      'SERVER_DISCONNECTED',
      'capabilities',
    );
    for (const a of attempts) assert.match(a.failure!.message, /ERRINFO_SERVER_DENIED_CONNECTION/);
  });

  it('at level NONE (no security header on share PDUs), in answer to the Client Info: SERVER_DISCONNECTED in licensing', async () => {
    const e = connectorFailure(await attempt({ encryptionMethod: ENCRYPTION_METHOD_NONE, hooks: { afterClientInfo: denied } }), 'SERVER_DISCONNECTED', 'licensing');
    assert.match(e.message, /ERRINFO_SERVER_DENIED_CONNECTION/);
  });

  it('at level NONE, a server that skips licensing with a Demand Active whose totalLength has bit 0x80 set: the activation completes', async () => {
    // Without encryption a share PDU has no security header, but in the Licensing phase the
    // connector reads its first 4 bytes as a basic one: totalLength becomes the flags, and
    // 0x0080 in it reads as SEC_LICENSE_PKT.
    const run = await attempt({
      encryptionMethod: ENCRYPTION_METHOD_NONE,
      hooks: {
        afterClientInfo: (s) => {
          let v = s.demandActiveValue();
          let b = s.demandActiveBytes(v);
          for (let pad = 1; (b.readUInt16LE(0) & SEC_LICENSE_PKT) === 0; pad++) {
            v = { ...v, sourceDescriptor: Buffer.concat([Buffer.from('RDP', 'latin1'), Buffer.alloc(pad, 0x20), Buffer.from([0])]) };
            b = s.demandActiveBytes(v);
          }
          return [s.demandActive(b)];
        },
      },
    });
    const o = notCrashed(run);
    assert.equal(o.connectorError, undefined, `${o.connectorError?.code}: ${o.connectorError?.message}`);
    assert.equal(o.result?.activation?.reached, 'finalized');
  });

  it('a server that skips licensing and sends an encrypted Demand Active at once: the activation completes', async () => {
    // MS-RDPBCGR allows no licensing PDU; activation.ts says "a server may skip licensing and go
    // on with the Demand Active". Encrypted, the same double unwrap breaks it (MAC_MISMATCH).
    const run = await attempt({ hooks: { afterClientInfo: (s) => [s.demandActive()] } });
    const o = notCrashed(run);
    assert.equal(o.connectorError, undefined, `${o.connectorError?.code}: ${o.connectorError?.message}`);
    assert.equal(o.result?.activation?.reached, 'finalized');
  });
});

describe('6. licensing errors and the platform challenge', { concurrency: true }, () => {
  it('an ERROR_ALERT ERR_INVALID_CLIENT: LICENSING_ERROR in licensing naming it', async () => {
    const e = connectorFailure(await attempt({ hooks: { afterClientInfo: (s) => s.thenClose([s.licensing(INVALID_CLIENT)]) } }), 'LICENSING_ERROR', 'licensing');
    assert.match(e.message, /ERR_INVALID_CLIENT/);
    assert.equal(e.value, ERR_INVALID_CLIENT);
  });

  it('a license request, then (after the client\'s New License Request) a platform challenge whose MAC does not verify: MAC_MISMATCH in licensing', async () => {
    const run = await attempt({
      hooks: {
        afterClientInfo: (s) => [s.licensing(licenseRequest(proprietaryCertificate(SERVER_KEY.modulusLE)))],
        afterLicenseRequest: (s) => [s.licensing(PLATFORM_CHALLENGE)],
      },
    });
    const e = connectorFailure(run, 'MAC_MISMATCH', 'licensing');
    assert.match(e.message, /EncryptedPlatformChallenge/);
    assert.ok(run.server.sessions[0]!.log.received.includes('Client New License Request'));
    assert.equal(run.outcome!.result?.activation?.licensing, 'new-license-request');
  });

  it('a platform challenge straight after the Client Info (no license request to answer): UNEXPECTED_PDU in licensing', async () => {
    connectorFailure(await attempt({ hooks: { afterClientInfo: (s) => [s.licensing(PLATFORM_CHALLENGE)] } }), 'UNEXPECTED_PDU', 'licensing');
  });

  // Under TLS a license request may come without a certificate; the pre-master secret is then
  // encrypted with the TLS server's key (MS-RDPELE 2.2.2.1), which client-licensing.ts reads as
  // PKCS#1 RSA. In memory: the TLS handshake is pretended with the key given.
  const tlsLicensing = (serverPublicKey: Buffer): { c: ClientConnector; s: ScriptedSession; thrown?: unknown } => {
    const c = new ClientConnector({ ...attemptConfig('unsalted'), requestedProtocols: PROTOCOL.SSL, activation: { macForm: 'unsalted', random: FIXED_RANDOM } });
    const s = new ScriptedSession({ selectedProtocol: PROTOCOL.SSL, encryptionMethod: ENCRYPTION_METHOD_NONE, hooks: { afterClientInfo: (x) => [x.licensing(licenseRequest(new Uint8Array(0)))] } });
    try {
      pumpInMemory(c, s, undefined, { version: 'TLSv1.2', serverPublicKey });
      return { c, s };
    } catch (e) {
      return { c, s, thrown: e };
    }
  };

  it('under TLS with an RSA server key, a license request without certificate: New License Request, then the activation completes', () => {
    const rsa = generateKeyPairSync('rsa', { modulusLength: 1024 }).publicKey.export({ type: 'pkcs1', format: 'der' });
    const { c, s, thrown } = tlsLicensing(rsa);
    assert.equal(thrown, undefined, describeThrown(thrown));
    assert.equal(c.error, undefined, c.error?.message);
    assert.equal(c.result?.activation?.reached, 'finalized');
    assert.equal(c.result?.activation?.licensing, 'new-license-request');
    assert.ok(s.log.received.includes('Client New License Request'));
  });

  it('under TLS with an EC server key (ECDSA certificate), a license request without certificate: LICENSING_ERROR, not a crash', () => {
    const spki = generateKeyPairSync('ec', { namedCurve: 'prime256v1' }).publicKey.export({ type: 'spki', format: 'der' });
    const { c, thrown } = tlsLicensing(Buffer.from(spkiSubjectPublicKey(spki)));
    assert.equal(thrown, undefined, `ClientConnector.step threw (a crash): ${describeThrown(thrown)}`);
    assert.ok(c.error instanceof ConnectorError);
    assert.ok(['LICENSING_ERROR', 'DECODE_ERROR'].includes(c.error.code), `${c.error.code}: ${c.error.message}`);
    assert.match(c.error.phase, /^(licensing|activation)$/);
  });

  it('probeServer({ handshake: true }) with ERR_INVALID_CLIENT: both handshakes LICENSING_ERROR', async () => {
    const attempts = bothHandshakesFailed(await probeHandshake({ hooks: { afterClientInfo: (s) => s.thenClose([s.licensing(INVALID_CLIENT)]) } }), 'LICENSING_ERROR', 'licensing');
    for (const a of attempts) assert.equal(a.reached, 'licensing');
  });
});

describe('7. a server that goes silent', { concurrency: true }, () => {
  it('after the MCS Connect Response: a timeout in activation, stopped while Activating, reached mcs', async () => {
    const run = await attempt({ hooks: { attachUserConfirm: () => [] } });
    const o = notCrashed(run);
    assert.equal(o.connectorError, undefined);
    assert.ok(o.transportError instanceof TransportError);
    assert.equal(o.transportError.kind, 'timeout');
    assert.equal(o.transportError.phase, 'activation');
    assert.equal(o.stoppedIn, 'Activating');
    assert.equal(o.result?.activation?.reached, 'mcs');
    assert.ok(run.elapsedMs >= TIMEOUT_MS - 50 && run.elapsedMs < TIMEOUT_BOUND_MS, `took ${Math.round(run.elapsedMs)} ms`);
  });

  it('after the Client Info: a timeout in activation, reached client-info', async () => {
    const run = await attempt({ hooks: { afterClientInfo: () => [] } });
    const o = notCrashed(run);
    assert.equal(o.transportError?.kind, 'timeout');
    assert.equal(o.transportError?.phase, 'activation');
    assert.equal(o.result?.activation?.reached, 'client-info');
    assert.ok(run.elapsedMs < TIMEOUT_BOUND_MS);
  });

  it('a server that closes after the Client Info: closed in activation', async () => {
    const run = await attempt({ hooks: { afterClientInfo: (s) => s.thenClose([]) } });
    const o = notCrashed(run);
    assert.match(o.transportError?.kind ?? '', /^(closed|reset)$/);
    assert.equal(o.transportError?.phase, 'activation');
    assert.ok(run.elapsedMs < FAST_BOUND_MS);
  });

  it('probeServer({ handshake: true }) silent after the Connect Response: both handshakes time out in activation, reached mcs', async () => {
    const attempts = bothHandshakesFailed(await probeHandshake({ hooks: { attachUserConfirm: () => [] } }), 'timeout', 'activation');
    for (const a of attempts) assert.equal(a.reached, 'mcs');
  });
});

describe('8. MCS refusals', { concurrency: true }, () => {
  const RT_UNSPECIFIED_FAILURE = 14;
  const refuseAttach: ScriptOptions = { hooks: { attachUserConfirm: () => [domain({ kind: 'attachUserConfirm', value: { result: RT_UNSPECIFIED_FAILURE } })] } };

  it('an Attach User Confirm with rt-unspecified-failure: MCS_REFUSED in mcs', async () => {
    const e = connectorFailure(await attempt(refuseAttach), 'MCS_REFUSED', 'mcs');
    assert.match(e.message, /rt-unspecified-failure/);
    assert.equal(e.value, RT_UNSPECIFIED_FAILURE);
  });

  it('an Attach User Confirm rt-successful but without initiator: MCS_REFUSED', async () => {
    connectorFailure(await attempt({ hooks: { attachUserConfirm: () => [domain({ kind: 'attachUserConfirm', value: { result: 0 } })] } }), 'MCS_REFUSED', 'mcs');
  });

  it('a Channel Join Confirm with rt-no-such-channel: MCS_REFUSED', async () => {
    const run = await attempt({
      hooks: { channelJoinConfirm: () => [domain({ kind: 'channelJoinConfirm', value: { result: 3, initiator: 1007, requested: 1007 } })] },
    });
    const e = connectorFailure(run, 'MCS_REFUSED', 'mcs');
    assert.match(e.message, /rt-no-such-channel/);
  });

  it('a Channel Join Confirm where an Attach User Confirm is expected: UNEXPECTED_PDU', async () => {
    connectorFailure(
      await attempt({ hooks: { attachUserConfirm: () => [domain({ kind: 'channelJoinConfirm', value: { result: 0, initiator: 1007, requested: 1003, channelId: 1003 } })] } }),
      'UNEXPECTED_PDU',
      'mcs',
    );
  });

  it('probeServer({ handshake: true }): both handshakes MCS_REFUSED in mcs', async () => {
    const attempts = bothHandshakesFailed(await probeHandshake(refuseAttach), 'MCS_REFUSED', 'mcs');
    for (const a of attempts) assert.equal(a.reached, 'mcs');
  });
});

// --- the property, in memory -------------------------------------------------------------------------

/** Where, after a correct MCS exchange, the random server PDUs start. */
type Stop = 'attach-user' | 'licensing' | 'demand-active' | 'finalization' | 'tls-licensing';

/** A TLS server key for the TLS stop (PKCS#1 RSAPublicKey, what TlsInfo.serverPublicKey holds for RSA). */
const TLS_RSA_KEY = generateKeyPairSync('rsa', { modulusLength: 1024 }).publicKey.export({ type: 'pkcs1', format: 'der' });

/** Each stop: the hook that makes the server fall silent there, and what the activation reached. */
const STOPS: Record<Stop, { opts: ScriptOptions; reached: string; tls?: boolean }> = {
  'attach-user': { opts: { hooks: { attachUserConfirm: () => [] } }, reached: 'mcs' },
  licensing: { opts: { hooks: { afterClientInfo: () => [] } }, reached: 'client-info' },
  'demand-active': { opts: { hooks: { afterClientInfo: (s) => [s.licensing(validClientLicensingPdu())] } }, reached: 'licensing' },
  finalization: { opts: { hooks: { afterFontList: () => [] } }, reached: 'demand-active' },
  // Enhanced RDP Security (the TLS pretended in memory): level NONE, no security header on share PDUs
  'tls-licensing': { opts: { selectedProtocol: PROTOCOL.SSL, encryptionMethod: ENCRYPTION_METHOD_NONE, hooks: { afterClientInfo: () => [] } }, reached: 'client-info', tls: true },
};

const FIXED_RANDOM = (n: number): Uint8Array => new Uint8Array(n).fill(0x3c);

function connectorAt(stop: Stop, macForm: MacForm): { c: ClientConnector; s: ScriptedSession } {
  const tls = STOPS[stop].tls === true;
  const c = new ClientConnector({ ...attemptConfig(macForm), ...(tls ? { requestedProtocols: PROTOCOL.SSL } : {}), activation: { macForm, random: FIXED_RANDOM } });
  const s = new ScriptedSession(STOPS[stop].opts);
  const left = pumpInMemory(c, s, undefined, tls ? { version: 'TLSv1.2', serverPublicKey: TLS_RSA_KEY } : undefined);
  assert.equal(left.length, 0);
  assert.equal(c.done, false, c.error?.message);
  assert.equal(c.result?.activation?.reached, STOPS[stop].reached);
  return { c, s };
}

/** A server frame, made when it is delivered (encrypted frames advance the server's RC4 stream). */
type FrameMaker = { label: string; make: (s: ScriptedSession) => Buffer };

const bytes = (max: number) => fc.uint8Array({ minLength: 0, maxLength: max });
/** Behind a valid RC4 header and MAC once there are session keys; as is otherwise (level NONE, or before the Security Exchange). */
const encryptedOrIo = (s: ScriptedSession, body: Uint8Array, flags = 0): Buffer => (s.rc4 ? s.encrypted(body, flags) : s.io(body));

/** A share PDU with a valid Share Control Header (totalLength right) around a random body. */
function sharePdu(type: number, source: number, body: Uint8Array): Buffer {
  const w = new WriteCursor();
  w.u16le(6 + body.length).u16le((1 << 4) | type).u16le(source).bytes(body);
  return w.finish();
}

/** A Data PDU with a valid Share Data Header and a random body. */
function dataPdu(pduType2: number, body: Uint8Array): Buffer {
  const w = new WriteCursor();
  w.u32le(0x000103ea).u8(0).u8(1).u16le(body.length).u8(pduType2).u8(0).u16le(0).bytes(body);
  return sharePdu(7, 1002, w.finish());
}

/** A Demand Active built by hand from random capability sets, their lengths right or off. */
function demandActiveFrom(sets: { type: number; body: Uint8Array; delta: number }[], countDelta: number, combinedDelta: number, sessionId: boolean): Buffer {
  const caps = new WriteCursor();
  for (const set of sets) caps.u16le(set.type).u16le(Math.max(0, Math.min(0xffff, 4 + set.body.length + set.delta))).bytes(set.body);
  const capBytes = caps.finish();
  const w = new WriteCursor();
  w.u32le(0x000103ea).u16le(4).u16le(Math.max(0, Math.min(0xffff, 4 + capBytes.length + combinedDelta))).bytes(Buffer.from('RDP\0', 'latin1'));
  w.u16le(Math.max(0, Math.min(0xffff, sets.length + countDelta))).u16le(0).bytes(capBytes);
  if (sessionId) w.u32le(0);
  return sharePdu(1, 1002, w.finish());
}

/** A fast-path output frame with a correct length and random flags and body. */
function fastPath(flags: number, body: Uint8Array): Buffer {
  const total = 1 + (body.length + 2 > 0x7f ? 2 : 1) + body.length;
  const w = new WriteCursor();
  w.u8((flags & 0x3) << 6);
  if (total > 0x7f) w.u16be(0x8000 | total);
  else w.u8(total);
  return w.bytes(body).finish();
}

const PDUTYPE2S = [0x02, 0x14, 0x1b, 0x1f, 0x24, 0x25, 0x26, 0x27, 0x28, 0x2f, 0x36, 0x37];

const frameArb: fc.Arbitrary<FrameMaker> = fc.oneof(
  // no framing at all, and framing around random bytes
  bytes(48).map((b) => ({ label: `raw ${Buffer.from(b).toString('hex')}`, make: () => Buffer.from(b) })),
  bytes(64).map((b) => ({ label: 'TPKT(random)', make: () => encodeTpkt(b) })),
  bytes(64).map((b) => ({ label: 'X.224 Data(random)', make: () => encodeX224Data(b) })),
  fastPathArb(),
  // a Send Data Indication around random userData, and behind a basic header
  bytes(64).map((b) => ({ label: 'SDIN(random userData)', make: (s: ScriptedSession) => s.io(b) })),
  fc.tuple(fc.nat(0xffff), bytes(64)).map(([flags, b]) => ({ label: `SDIN(basic 0x${flags.toString(16)} + random)`, make: (s: ScriptedSession) => s.io(joinSecurityHeader({ form: 'basic', flags: flags & ~SEC_ENCRYPT, flagsHi: 0 }, b)) })),
  // a valid RC4 header and MAC around random bodies, share PDUs, Data PDUs, Demand Actives
  fc.tuple(fc.nat(0xffff), bytes(96)).map(([flags, b]) => ({ label: `encrypted(0x${flags.toString(16)}, random)`, make: (s: ScriptedSession) => encryptedOrIo(s, b, flags & ~0x0800) })),
  fc.tuple(fc.constantFrom(1, 2, 3, 4, 0xff, 0x12, 0x42), fc.nat(0xff), bytes(80)).map(([type, flags, b]) => ({
    label: `licensing(type ${type}, random)`,
    make: (s: ScriptedSession) => s.io(joinSecurityHeader({ form: 'basic', flags: SEC_LICENSE_PKT, flagsHi: 0 }, Buffer.concat([Buffer.from([type, flags, (b.length + 4) & 0xff, (b.length + 4) >> 8]), b]))),
  })),
  fc.tuple(fc.constantFrom(1, 3, 6, 7, 0xa, 0xf), fc.nat(0xffff), bytes(64)).map(([type, src, b]) => ({ label: `share(type ${type}, random)`, make: (s: ScriptedSession) => encryptedOrIo(s, sharePdu(type, src, b)) })),
  fc.tuple(fc.oneof(fc.constantFrom(...PDUTYPE2S), fc.nat(0xff)), bytes(40)).map(([t2, b]) => ({ label: `data(pduType2 0x${t2.toString(16)}, random)`, make: (s: ScriptedSession) => encryptedOrIo(s, dataPdu(t2, b)) })),
  fc
    .tuple(
      fc.array(fc.record({ type: fc.oneof(fc.integer({ min: 0, max: 31 }), fc.nat(0xffff)), body: bytes(40), delta: fc.oneof(fc.constant(0), fc.integer({ min: -6, max: 6 }), fc.constantFrom(-0x10000, 0x10000)) }), { maxLength: 6 }),
      fc.oneof(fc.constant(0), fc.integer({ min: -2, max: 2 }), fc.constant(0xffff)),
      fc.oneof(fc.constant(0), fc.integer({ min: -6, max: 6 }), fc.constant(0xffff)),
      fc.boolean(),
    )
    .map(([sets, cd, ld, sid]) => ({ label: `demandActive(${sets.length} random sets, ${cd}, ${ld})`, make: (s: ScriptedSession) => encryptedOrIo(s, demandActiveFrom(sets, cd, ld, sid)) })),
  // the honest PDUs, so that sequences get through the phases
  fc.constantFrom<FrameMaker>(
    { label: 'attach user confirm', make: () => domain({ kind: 'attachUserConfirm', value: { result: 0, initiator: 1007 } }) },
    { label: 'channel join confirm 1007', make: () => domain({ kind: 'channelJoinConfirm', value: { result: 0, initiator: 1007, requested: 1007, channelId: 1007 } }) },
    { label: 'channel join confirm 1003', make: () => domain({ kind: 'channelJoinConfirm', value: { result: 0, initiator: 1007, requested: 1003, channelId: 1003 } }) },
    { label: 'valid client', make: (s) => s.licensing(validClientLicensingPdu()) },
    { label: 'license request', make: (s) => s.licensing(licenseRequest(proprietaryCertificate(SERVER_KEY.modulusLE))) },
    { label: 'license request without certificate', make: (s) => s.licensing(licenseRequest(new Uint8Array(0))) },
    { label: 'demand active', make: (s) => (s.encrypting && !s.rc4 ? s.io(s.demandActiveBytes()) : s.demandActive()) },
    { label: 'synchronize', make: (s) => encryptedOrIo(s, s.dataBytes({ kind: 'synchronize', value: { messageType: 1, targetUser: 1007 } })) },
    { label: 'font map', make: (s) => encryptedOrIo(s, s.dataBytes({ kind: 'fontMap', value: { numberEntries: 0, totalNumEntries: 0, mapFlags: 3, entrySize: 4 } })) },
    { label: 'set error info', make: (s) => encryptedOrIo(s, s.dataBytes({ kind: 'setErrorInfo', value: { errorInfo: ERRINFO_SERVER_DENIED_CONNECTION } })) },
    { label: 'ultimatum', make: (s) => s.ultimatum() },
  ),
);

function fastPathArb(): fc.Arbitrary<FrameMaker> {
  return fc.tuple(fc.nat(3), bytes(64)).map(([flags, b]) => ({ label: `fast-path(flags ${flags}, random)`, make: () => fastPath(flags, b) }));
}

/**
 * Feed the frames; the connector must never throw, and when it fails, fail with a known code
 * in a known phase. Frames the connector's PDU hint rejects are fed anyway: the decoders must
 * cope with any bytes (the in-memory simulation has no framing of its own).
 */
function feed(c: ClientConnector, s: ScriptedSession, frames: FrameMaker[]): void {
  for (const f of frames) {
    if (c.done) break;
    const frame = f.make(s);
    try {
      c.step(frame);
    } catch (e) {
      assert.fail(`step(${f.label}) threw ${describeThrown(e)}`);
    }
  }
  if (c.stateName === 'Failed') {
    const e = c.error;
    assert.ok(e instanceof ConnectorError, `failed without a ConnectorError: ${String(e)}`);
    assert.ok(CODES.has(e.code), `unknown code ${e.code}`);
    assert.ok(PHASES.has(e.phase), `unknown phase ${e.phase} (${e.code}: ${e.message})`);
    if (e.code === 'DECODE_ERROR' && e.decodeError) assert.ok(e.decodeError instanceof DecodeError);
  }
}

describe('property: random server PDUs after a correct MCS exchange (in memory)', () => {
  (Object.keys(STOPS) as Stop[]).forEach((stop, i) => {
    // under TLS nothing is encrypted at this layer: one MAC form is enough
    for (const macForm of STOPS[stop].tls ? (['unsalted'] as const) : (['unsalted', 'salted'] as const)) {
      it(`from ${stop}${STOPS[stop].tls ? '' : ` (${macForm} MAC)`}: the connector never throws; it fails typed, waits, or completes`, () => {
        fc.assert(
          fc.property(fc.array(frameArb, { minLength: 1, maxLength: 6 }), (frames) => {
            const { c, s } = connectorAt(stop, macForm);
            feed(c, s, frames);
          }),
          { seed: SEED + 2 * i + (macForm === 'salted' ? 1 : 0), numRuns: 150 },
        );
      });
    }
  });

  it('every truncation of every honest server PDU of the activation fails typed (or waits)', () => {
    // the honest run, recorded: each server frame with the state the connector was in before it
    const honest = new ScriptedSession();
    const c0 = new ClientConnector({ ...attemptConfig('unsalted'), activation: { macForm: 'unsalted', random: FIXED_RANDOM } });
    const frames: Buffer[] = [];
    const toServer = (outs: Uint8Array[]): void => {
      for (const o of outs) frames.push(...honest.receive(o));
    };
    toServer(c0.step(null).output);
    for (let i = 0; i < frames.length && !c0.done; i++) toServer(c0.step(frames[i]!).output);
    assert.equal(c0.result?.activation?.reached, 'finalized');
    // frames[0] is the Confirm, frames[1] the Connect Response; the activation starts at 2
    for (let k = 2; k < frames.length; k++) {
      const f = frames[k]!;
      for (let cut = 0; cut < f.length; cut += Math.max(1, Math.floor(f.length / 40))) {
        const c = new ClientConnector({ ...attemptConfig('unsalted'), activation: { macForm: 'unsalted', random: FIXED_RANDOM } });
        c.step(null);
        for (let i = 0; i < k && !c.done; i++) c.step(frames[i]!);
        assert.equal(c.done, false);
        const truncated = Buffer.from(f.subarray(0, cut));
        if (truncated.length >= 4 && truncated[0] === 3) truncated.writeUInt16BE(truncated.length, 2); // TPKT length fixed up
        try {
          c.step(truncated);
        } catch (e) {
          assert.fail(`frame ${k} cut at ${cut} threw ${describeThrown(e)}`);
        }
        if (c.stateName === 'Failed') assert.ok(c.error instanceof ConnectorError);
      }
    }
  });
});
