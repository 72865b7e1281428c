/**
 * The licensing knob of the acceptor against our connector, in memory: with 'platform-challenge'
 * the server runs the MS-RDPELE new-license exchange (license request, platform challenge,
 * response checked) and the client gets through it to the end of finalization, under Standard
 * RDP Security (RC4 with both MAC forms, FIPS) and TLS; a response with a bad MAC is refused with
 * ERR_INVALID_CLIENT; random client licensing PDUs in the Licensing phase never make step throw.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { ServerAcceptor } from '../../src/acceptor/acceptor.js';
import { acceptorPolicy } from '../../src/acceptor/from-server-policy.js';
import { ServerIdentity } from '../../src/acceptor/server-identity.js';
import { ClientConnector } from '../../src/connector/connector.js';
import { DEFAULT_CLIENT_DATA } from '../../src/connector/mcs-connect.js';
import { generateRsaKeyPairLE } from '../../src/crypto/rsa.js';
import type { MacForm } from '../../src/crypto/session-keys.js';
import { ENCRYPTION_METHOD_128BIT, ENCRYPTION_METHOD_FIPS } from '../../src/pdu/client-data.js';
import { WriteCursor } from '../../src/pdu/cursor.js';
import { encodeDomainPdu, MCS_GLOBAL_CHANNEL_ID, sendData } from '../../src/pdu/mcs-domain.js';
import { PROTOCOL } from '../../src/pdu/nego.js';
import { joinSecurityHeader, SEC_LICENSE_PKT } from '../../src/pdu/security-header.js';
import { encodeX224Data } from '../../src/pdu/x224.js';
import { preset } from '../../src/policy/presets.js';

const IDENTITY = new ServerIdentity(generateRsaKeyPairLE(1024));

function run(opts: { licensing: 'valid-client' | 'platform-challenge'; protocols: number; methods: number; macForm: MacForm; tamperResponse?: boolean }) {
  const policy = { ...acceptorPolicy(preset(opts.protocols === PROTOCOL.RDP ? 'windows-legacy-rdp' : 'xrdp-debian')), licensing: opts.licensing };
  const s = new ServerAcceptor(policy, IDENTITY, randomBytes);
  const c = new ClientConnector({
    requestedProtocols: opts.protocols,
    stopAfter: 'activation',
    clientData: { ...DEFAULT_CLIENT_DATA, encryptionMethods: opts.methods },
    activation: { macForm: opts.macForm },
  });
  const toClient: Uint8Array[] = [];
  const toServer = (outputs: Uint8Array[]): void => {
    for (const o of outputs) toClient.push(...s.step(o).output);
  };
  toServer(c.step(null).output);
  let guard = 0;
  while (!c.done && guard++ < 200) {
    if (c.pause) {
      s.markSecurityUpgradeDone({ version: 'TLSv1.3' });
      toServer(c.markSecurityUpgradeDone({ version: 'TLSv1.3', serverPublicKey: new Uint8Array(0) }).output);
      continue;
    }
    const next = toClient.shift();
    if (!next) break;
    const r = c.step(next);
    if (opts.tamperResponse && r.events.some((e) => e.type === 'sent' && e.pdu === 'Client Platform Challenge Response')) {
      const frame = Buffer.from(r.output[0]!);
      frame[frame.length - 1]! ^= 1; // the last byte of MACData (licensing PDUs from the client travel unencrypted)
      r.output[0] = frame;
    }
    toServer(r.output);
  }
  return { c, s };
}

describe('acceptor licensing knob x connector (in memory)', () => {
  for (const [label, protocols, methods, macForm] of [
    ['RC4 128-bit, plain MAC', PROTOCOL.RDP, ENCRYPTION_METHOD_128BIT, 'unsalted'],
    ['RC4 128-bit, salted MAC', PROTOCOL.RDP, ENCRYPTION_METHOD_128BIT, 'salted'],
    ['FIPS', PROTOCOL.RDP, ENCRYPTION_METHOD_FIPS, 'unsalted'],
    ['TLS', PROTOCOL.SSL, ENCRYPTION_METHOD_128BIT, 'unsalted'],
  ] as const) {
    it(`platform-challenge, ${label}: the client answers the challenge and reaches the end of finalization`, () => {
      const { c, s } = run({ licensing: 'platform-challenge', protocols, methods, macForm });
      assert.equal(c.error, undefined, c.error?.message);
      assert.equal(c.result?.activation?.reached, 'finalized');
      assert.equal(c.result?.activation?.licensing, 'platform-challenge');
      assert.equal(s.summary.outcome, 'finalized', s.summary.reason);
    });
  }
  it('a challenge response whose MAC does not verify: the server answers ERR_INVALID_CLIENT and refuses; the client reports LICENSING_ERROR', () => {
    const { c, s } = run({ licensing: 'platform-challenge', protocols: PROTOCOL.RDP, methods: ENCRYPTION_METHOD_128BIT, macForm: 'unsalted', tamperResponse: true });
    assert.equal(s.summary.outcome, 'refused');
    assert.match(s.summary.reason, /MACData/);
    assert.equal(c.error?.code, 'LICENSING_ERROR');
    assert.match(c.error?.message ?? '', /ERR_INVALID_CLIENT/);
  });

  it('valid-client (the default) is unchanged', () => {
    const { c } = run({ licensing: 'valid-client', protocols: PROTOCOL.RDP, methods: ENCRYPTION_METHOD_128BIT, macForm: 'unsalted' });
    assert.equal(c.result?.activation?.licensing, 'valid-client');
    assert.equal(c.result?.activation?.reached, 'finalized');
  });
});


describe('acceptor in its Licensing phase fed hostile client licensing PDUs', () => {
  /** A server driven (by our connector) into its Licensing phase, before or after its challenge. */
  function serverIn(wait: 'request' | 'response'): ServerAcceptor {
    const policy = { ...acceptorPolicy(preset('windows-legacy-rdp')), licensing: 'platform-challenge' as const };
    const s = new ServerAcceptor(policy, IDENTITY, randomBytes);
    const c = new ClientConnector({ requestedProtocols: PROTOCOL.RDP, stopAfter: 'activation', clientData: { ...DEFAULT_CLIENT_DATA, encryptionMethods: ENCRYPTION_METHOD_128BIT }, activation: { macForm: 'unsalted' } });
    const toClient: Uint8Array[] = [];
    for (const o of c.step(null).output) toClient.push(...s.step(o).output);
    while (!c.done) {
      const next = toClient.shift();
      if (!next) break;
      const r = c.step(next);
      const sentLicensing = r.events.some((e) => e.type === 'sent' && e.pdu === (wait === 'request' ? 'Client New License Request' : 'Client Platform Challenge Response'));
      if (sentLicensing) return s;
      for (const o of r.output) toClient.push(...s.step(o).output);
    }
    throw new Error('never reached licensing');
  }
  const frame = (userId: number, body: Uint8Array): Buffer => {
    const w = new WriteCursor();
    encodeDomainPdu({ kind: 'sendDataRequest', value: sendData(userId, MCS_GLOBAL_CHANNEL_ID, joinSecurityHeader({ form: 'basic', flags: SEC_LICENSE_PKT, flagsHi: 0 }, body)) }, w);
    return encodeX224Data(w.finish());
  };
  for (const wait of ['request', 'response'] as const) {
    it(`waiting for the client's ${wait}: random bodies never make step throw; the connection ends with a reason or waits`, () => {
      fc.assert(
        fc.property(fc.constantFrom(0x12, 0x13, 0x15, 0xff, 0x01), fc.uint8Array({ maxLength: 300 }), (type, tail) => {
          const s = serverIn(wait);
          const body = Buffer.concat([Buffer.from([type, 3, (tail.length + 4) & 0xff, (tail.length + 4) >> 8]), tail]);
          s.step(frame(1007, body));
          if (s.done) assert.ok(s.summary.reason.length > 0);
        }),
        { numRuns: 100 },
      );
    });
  }
});
