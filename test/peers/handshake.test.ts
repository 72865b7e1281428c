/**
 * `probe --handshake` against real servers: a whole connection (Erect Domain to the server's
 * Font Map) with each accepted layer and method, checked against what xrdp logs and against
 * what a real FreeRDP client experiences on the same server.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { postureFindings } from '../../src/diagnose/posture-findings.js';
import { probeServer } from '../../src/probe/probe.js';
import type { HandshakeAttempt } from '../../src/probe/posture.js';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Ajv } from 'ajv';
import { toJson } from '../../src/report/json.js';
import { REPO_ROOT, readXrdpSecurityLog, runXfreerdp, skipOrFail, startShadow, startXrdp, type XrdpCryptLevel } from './harness.js';

const FINALIZATION = ['Synchronize', 'Control Cooperate', 'Control Granted Control', 'Font Map'];

function assertWorks(a: HandshakeAttempt | undefined, encrypted: [boolean, boolean], what: string): void {
  assert.ok(a, `${what}: attempted`);
  assert.equal(a.works, true, `${what}: ${JSON.stringify(a.failure)}`);
  assert.deepEqual(a.encrypted, { clientToServer: encrypted[0], serverToClient: encrypted[1] }, `${what}: directions`);
  assert.deepEqual([...a.finalization!].sort(), [...FINALIZATION].sort(), `${what}: the server's finalization`);
}

/** xrdp's crypt_level: the method it selects and which directions it encrypts (MS-RDPBCGR 5.3.6). */
const XRDP: Record<XrdpCryptLevel, { method: string; s2c: boolean }> = {
  none: { method: 'NONE', s2c: false },
  low: { method: '40BIT', s2c: false },
  medium: { method: '40BIT', s2c: true },
  high: { method: '128BIT', s2c: true },
  fips: { method: 'FIPS', s2c: true },
};

describe('probe --handshake against xrdp 0.9.21-1+deb12u3', () => {
  for (const crypt of Object.keys(XRDP) as XrdpCryptLevel[]) {
    test(`security_layer=rdp crypt_level=${crypt}`, async (t) => {
      if (!skipOrFail(t, 'xrdp')) return;
      const peer = await startXrdp('rdp', crypt, undefined, { t });
      const p = await probeServer({ host: '127.0.0.1', port: peer.port, timeoutMs: 5000, parallel: 4, handshake: true });
      const { method, s2c } = XRDP[crypt];
      const hs = p.handshake!;
      assert.deepEqual(Object.keys(hs.methods), [method], 'xrdp imposes one method whatever is offered');
      const m = hs.methods[method]!;
      const encrypted: [boolean, boolean] = [method !== 'NONE', s2c];
      const ids = postureFindings(p).map((f) => f.id);
      if (method === 'NONE' || method === 'FIPS') {
        assertWorks(m.attempt, encrypted, method);
        assert.ok(!ids.includes('salted-mac-rejected'));
      } else {
        // the plain MAC works; the salted one (FreeRDP's) gets the client disconnected
        assertWorks(m.plainMac, encrypted, `${method} plain MAC`);
        assert.equal(m.saltedMac!.works, false);
        assert.equal(m.saltedMac!.failure?.kind, 'SERVER_DISCONNECTED');
        assert.equal(m.workingMac, 'unsalted');
        assert.match(m.summary, /disconnects after the first encrypted PDU with a salted MAC; works with the plain MAC/);
        assert.ok(ids.includes('salted-mac-rejected'));
        const log = readXrdpSecurityLog(peer.log);
        assert.ok(log.errors.some((e) => e.message === 'MAC checksum error for non-FIPS PDU'), 'xrdp logged the rejected salted MAC');
      }
      if (crypt === 'low') {
        assert.match(m.summary, /server-to-client traffic is NOT encrypted/);
        assert.ok(ids.includes('server-to-client-unencrypted'));
      }
      // xrdp let every working connection on after our new-license request
      for (const a of [m.attempt, m.plainMac].filter(Boolean)) assert.equal(a!.licensing, 'new-license-request');
    });
  }

  test('a real FreeRDP client fails where the probe says the salted MAC fails, and TLS works for both', async (t) => {
    if (!skipOrFail(t, 'xrdp', 'xfreerdp')) return;
    const peer = await startXrdp('negotiate', 'high', undefined, { t });
    const p = await probeServer({ host: '127.0.0.1', port: peer.port, timeoutMs: 5000, parallel: 4, handshake: true });
    assert.equal(p.handshake!.methods['128BIT']!.saltedMac!.works, false);
    assertWorks(p.handshake!.layers.SSL, [false, false], 'SSL');
    // the contract: standardSecurity.handshakes and tls.handshake, valid against the schema
    p.findings = postureFindings(p);
    const json = JSON.parse(toJson(p)) as { standardSecurity: { handshakes: { mac: string; completed: boolean; reached: string; error: { code: string } }[] }; tls: { handshake: unknown } };
    const validate = new Ajv({ strict: false }).compile(JSON.parse(readFileSync(join(REPO_ROOT, 'schemas', 'probe.schema.json'), 'utf8')));
    const valid = validate(json);
    assert.ok(valid, JSON.stringify(validate.errors));
    assert.deepEqual(
      json.standardSecurity.handshakes.map((h) => [h.mac, h.completed, h.reached]),
      [['plain', true, 'finalized'], ['salted', false, 'client-info']],
    );
    assert.equal(json.standardSecurity.handshakes[1]?.error.code, 'SERVER_DISCONNECTED');
    assert.deepEqual(json.tls.handshake, { method: 'NONE', completed: true, reached: 'finalized', mac: null, error: null });
    const rdp = await runXfreerdp(peer.port, { args: ['/sec:rdp'] });
    assert.notEqual(rdp.code, 0, 'xfreerdp /sec:rdp fails on this xrdp (INDEX.md: exit 131)');
    const tls = await runXfreerdp(peer.port, { args: ['/sec:tls'] });
    assert.equal(tls.code, 0, `xfreerdp /sec:tls: ${tls.stderr.slice(-300)}`);
  });
});

describe('probe --handshake against the FreeRDP shadow server', () => {
  for (const mode of ['rdp', 'tls'] as const) {
    test(`mode ${mode}`, async (t) => {
      if (!skipOrFail(t, 'shadow')) return;
      const peer = await startShadow(mode, undefined, { t });
      const p = await probeServer({ host: '127.0.0.1', port: peer.port, timeoutMs: 5000, parallel: 4, handshake: true });
      const hs = p.handshake!;
      if (mode === 'rdp') {
        assert.deepEqual(Object.keys(hs.methods), ['NONE']);
        assertWorks(hs.methods.NONE!.attempt, [false, false], 'NONE');
        assert.equal(hs.methods.NONE!.attempt!.licensing, 'valid-client');
      } else {
        assertWorks(hs.layers.SSL, [false, false], 'SSL');
        assert.equal(hs.layers.SSL!.licensing, 'valid-client');
      }
    });
  }
});
