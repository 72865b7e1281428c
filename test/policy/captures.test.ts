/**
 * The xrdp policy replayed against real xrdp 0.9.21 captures (../shared/fixtures/pcaps,
 * INDEX.md there): for every captured connection, the policy built from the capture's config
 * (security_layer and crypt_level from its name) must answer the captured Connection Request as
 * xrdp did, and, where the connection went on to an MCS Connect Response, select the encryption
 * level and method xrdp sent for the client's encryptionMethods.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { collectClientData, decodeClientDataBlocks } from '../../src/pdu/client-data.js';
import { decodeConferenceCreateRequest, decodeConferenceCreateResponse } from '../../src/pdu/gcc.js';
import { decodeMcsConnectInitial, decodeMcsConnectReply } from '../../src/pdu/mcs.js';
import { FAILURE_CODE } from '../../src/pdu/nego.js';
import { collectServerData, decodeServerDataBlocks } from '../../src/pdu/server-data.js';
import { TPKT_HINT } from '../../src/pdu/tpkt.js';
import { decodeConnectionRequest, decodeServerConnectionAnswer, decodeX224Data } from '../../src/pdu/x224.js';
import { selectEncryptionMethod } from '../../src/policy/encryption-method.js';
import { xrdpNegotiation } from '../../src/policy/negotiation.js';
import { fromXrdpSettings } from '../../src/policy/xrdp-ini.js';
import { frames, listCaptures, loadCapture, streamBytes, type Connection } from '../fixtures/pcaps.js';

function tpktFrames(conn: Connection, dir: 'c2s' | 's2c', layer: 'tcp' | 'tls'): Buffer[] {
  return frames(streamBytes(conn, dir, layer), TPKT_HINT).frames;
}

/** xrdp-LAYER[-CRYPT]--CLIENT: the config `xrdp-serve` ran with (INDEX.md; tls12 = tls with ssl_protocols=TLSv1.2). */
function policyFor(name: string) {
  const m = /^xrdp-(rdp|tls12|tls|negotiate)(?:-(none|low|medium|high|fips))?--/.exec(name);
  assert.ok(m, name);
  const layer = m[1] === 'tls12' ? 'tls' : (m[1] ?? 'negotiate');
  return fromXrdpSettings({ security_layer: layer, crypt_level: m[2] ?? 'high', ...(m[1] === 'tls12' ? { ssl_protocols: 'TLSv1.2' } : {}) });
}

const MCS_CONNECT_INITIAL = (f: Buffer): boolean => f[7] === 0x7f && f[8] === 0x65;

/** how many connections each check ran on, so a silent `continue` cannot hide a test that checks nothing */
const checked = { negotiation: 0, refusal: 0, method: 0 };

describe('xrdp policy against the xrdp 0.9.21 captures', () => {
  const names = listCaptures().filter((n) => n.startsWith('xrdp-'));

  it('has captures to replay', () => {
    assert.ok(names.length >= 10, `found ${names.length}`);
  });

  for (const name of names) {
    it(name, () => {
      const policy = policyFor(name);
      for (const conn of loadCapture(name).connections) {
        const where = `${name}/${conn.stream}`;
        const c2s = tpktFrames(conn, 'c2s', 'tcp');
        const s2c = tpktFrames(conn, 's2c', 'tcp');
        const crFrame = c2s[0];
        if (!crFrame) continue;
        const cr = decodeConnectionRequest(crFrame);
        const decision = xrdpNegotiation(policy, cr.negReq ? cr.negReq.requestedProtocols : null, cr.negReq?.flags ?? 0);
        const ccFrame = s2c[0];
        if (decision.outcome === 'drop') {
          assert.equal(ccFrame, undefined, `${where}: xrdp answered a request the policy drops`);
          continue;
        }
        assert.ok(ccFrame, `${where}: no Connection Confirm`);
        const cc = decodeServerConnectionAnswer(ccFrame);
        assert.equal(cc.tpdu, 'CC', where);
        if (cc.tpdu !== 'CC') continue;

        checked.negotiation++;
        if (decision.outcome === 'failure' && decision.delivery === 'neg-failure') {
          checked.refusal++;
          assert.deepEqual(cc.negotiation, { type: 'RDP_NEG_FAILURE', flags: 0, failureCode: FAILURE_CODE[decision.failureCode] }, where);
          continue;
        }
        if (decision.outcome === 'failure') {
          // bare Connection Confirm, then an ultimatum in answer to the MCS Connect Initial
          assert.equal(cc.negotiation, undefined, where);
          const reply = s2c[1];
          assert.ok(reply, `${where}: no answer to the Connect Initial`);
          assert.equal(decodeMcsConnectReply(decodeX224Data(reply)).kind, 'ultimatum', where);
          checked.refusal++;
          continue;
        }

        if (decision.negData) {
          assert.deepEqual(cc.negotiation, { type: 'RDP_NEG_RSP', flags: decision.responseFlags, selectedProtocol: decision.selectedProtocol }, where);
        } else {
          assert.equal(cc.negotiation, undefined, `${where}: legacy client answered with negData`);
        }

        // the MCS Connect Response, in clear (RDP) or inside TLS
        const layer = decision.selected === 'RDP' ? 'tcp' : 'tls';
        const ciFrame = tpktFrames(conn, 'c2s', layer).find(MCS_CONNECT_INITIAL);
        const respFrame = tpktFrames(conn, 's2c', layer).find((f) => f[7] === 0x7f && f[8] === 0x66);
        if (!ciFrame || !respFrame) continue;
        const gccReq = decodeConferenceCreateRequest(decodeMcsConnectInitial(decodeX224Data(ciFrame)).userData);
        const client = collectClientData(decodeClientDataBlocks(gccReq.userData));
        const reply = decodeMcsConnectReply(decodeX224Data(respFrame));
        assert.equal(reply.kind, 'response', where);
        if (reply.kind !== 'response') continue;
        const server = collectServerData(decodeServerDataBlocks(decodeConferenceCreateResponse(reply.response.userData).userData));
        const sel = selectEncryptionMethod(policy, client.security ?? { encryptionMethods: 0 }, decision.selected);
        assert.equal(sel.outcome, 'selected', where);
        if (sel.outcome !== 'selected') continue;
        checked.method++;
        assert.deepEqual(
          [sel.methodValue, sel.levelValue],
          [server.security?.encryptionMethod, server.security?.encryptionLevel],
          `${where}: client offered 0x${(client.security?.encryptionMethods ?? 0).toString(16)}`,
        );
      }
    });
  }

  it('checked the negotiation, a refusal and the method on enough connections', () => {
    // xrdp-negotiate-high--nmap-rdp-enum-encryption alone has 9 negotiations and 4 method checks
    assert.ok(checked.negotiation >= 20, JSON.stringify(checked));
    assert.ok(checked.refusal >= 1, JSON.stringify(checked));
    assert.ok(checked.method >= 12, JSON.stringify(checked));
  });
});
