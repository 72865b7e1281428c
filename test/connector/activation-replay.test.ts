/**
 * The connector's activation (MS-RDPBCGR 1.3.1.1 after the MCS Connect Response) replayed on
 * the server side of real captures: each server PDU is fed in the order the server sent it,
 * and the connector must answer with the right kind of PDU and end activated. Encryption
 * level NONE and TLS captures only: there the client's random plays no part.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { ClientConnector, type ConnectorConfig } from '../../src/connector/connector.js';
import { ConnectorError } from '../../src/connector/errors.js';
import { DEFAULT_CLIENT_DATA } from '../../src/connector/mcs-connect.js';
import { decodeDomainPdu } from '../../src/pdu/mcs-domain.js';
import { TPKT_OR_FASTPATH_HINT } from '../../src/pdu/tpkt.js';
import { decodeX224Data } from '../../src/pdu/x224.js';
import { frames, loadCapture, streamBytes } from '../fixtures/pcaps.js';

const config = (requestedProtocols: number | null): ConnectorConfig => ({
  requestedProtocols,
  stopAfter: 'activation',
  clientData: { ...DEFAULT_CLIENT_DATA, channels: [] },
  activation: { random: (n) => new Uint8Array(n).fill(7) },
});

/** Feed the connector the server frames; returns the domain PDU kinds it sent. */
function replay(c: ClientConnector, serverFrames: Uint8Array[]): string[] {
  const sent: string[] = [];
  for (const f of serverFrames) {
    if (c.done) break;
    const r = c.step(f);
    for (const o of r.output) {
      const payload = decodeX224Data(o);
      if (payload[0] === 0x7f) continue; // the MCS Connect Initial (BER), not a domain PDU
      sent.push(decodeDomainPdu(payload).kind);
    }
  }
  return sent;
}

function serverFrames(name: string, layer: 'tcp' | 'tls'): Buffer[] {
  const conn = loadCapture(name).connections[0]!;
  return frames(streamBytes(conn, 's2c', layer), TPKT_OR_FASTPATH_HINT).frames;
}

for (const [name, legacy, licensing] of [
  ['xrdp-rdp-none--xfreerdp-sec-rdp', true, 'new-license-request'],
  ['shadow-rdp--xfreerdp-sec-rdp', true, 'valid-client'],
] as const) {
  test(`activation replayed on ${name}`, () => {
    const c = new ClientConnector(config(legacy ? null : 0));
    c.step(null); // Connection Request (an X.224 CR, not X.224 Data: not collected)
    const sent = replay(c, serverFrames(name, 'tcp'));
    assert.equal(c.error, undefined, c.error?.message);
    assert.equal(c.stateName, 'Connected');
    const a = c.result!.activation!;
    assert.equal(a.licensing, licensing);
    assert.deepEqual(a.encrypted, { clientToServer: false, serverToClient: false });
    assert.deepEqual(a.finalization.slice(-1), ['Font Map']);
    assert.ok(a.channels.includes(a.userId) && a.channels.includes(1003));
    assert.equal(sent[0], 'erectDomainRequest');
    assert.equal(sent[1], 'attachUserRequest');
    assert.ok(sent.filter((k) => k === 'channelJoinRequest').length === a.channels.length);
    assert.equal(sent.at(-1), 'disconnectProviderUltimatum', 'a clean disconnect at the end');
  });
}

test('activation replayed inside TLS (xrdp-tls--xfreerdp-default)', () => {
  const name = 'xrdp-tls--xfreerdp-default';
  const c = new ClientConnector(config(0x3));
  c.step(null);
  const conn = loadCapture(name).connections[0]!;
  const cc = frames(streamBytes(conn, 's2c', 'tcp'), TPKT_OR_FASTPATH_HINT).frames[0]!;
  c.step(cc);
  assert.equal(c.pause?.kind, 'tls-upgrade');
  c.markSecurityUpgradeDone({ version: 'TLSv1.3', serverPublicKey: new Uint8Array(270) });
  replay(c, serverFrames(name, 'tls'));
  assert.equal(c.error, undefined, c.error?.message);
  assert.equal(c.result!.activation!.licensing, 'new-license-request');
});

test('a server that disconnects during licensing is SERVER_DISCONNECTED in licensing', () => {
  const c = new ClientConnector(config(null));
  c.step(null);
  const all = serverFrames('xrdp-rdp-none--xfreerdp-sec-rdp', 'tcp');
  // up to the license request, then xrdp's Disconnect Provider Ultimatum
  const upto = all.findIndex((f) => f.length > 100 && f[7] === 0x68 && f.includes(0x80)) + 1;
  replay(c, [...all.slice(0, Math.max(upto, 9)), Buffer.from('0300000902f0802180', 'hex')]);
  assert.ok(c.error instanceof ConnectorError);
  assert.equal(c.error.code, 'SERVER_DISCONNECTED');
});

test('activation fed random and mutated server PDUs never throws, always ends typed or waiting', () => {
  const real = serverFrames('shadow-rdp--xfreerdp-sec-rdp', 'tcp');
  fc.assert(
    fc.property(fc.nat({ max: real.length - 1 }), fc.nat(), fc.integer({ min: 0, max: 255 }), (cut, pos, byte) => {
      const c = new ClientConnector(config(null));
      c.step(null);
      const frames = real.slice(0, cut + 1).map((f) => Buffer.from(f));
      const last = frames.at(-1)!;
      last[pos % last.length] = byte;
      for (const f of frames) {
        if (c.done) break;
        c.step(f);
      }
      if (c.done && c.stateName === 'Failed') assert.ok(c.error instanceof ConnectorError);
    }),
    { numRuns: 1500 },
  );
});
