/**
 * `rdpsec serve` with Windows-style policies against real clients: xfreerdp's fallback chain
 * against SecurityLayer=0 (as INDEX.md records it against the FreeRDP shadow server in rdp
 * mode), the NLA refusal compared with the FreeRDP shadow server's, and rdesktop with RDP
 * security and with TLS reaching activation and reading our Set Error Info.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { generateSelfSignedCertificate } from '../../src/crypto/self-signed.js';
import { preset } from '../../src/policy/presets.js';
import { fromWindowsFlags } from '../../src/policy/windows-settings.js';
import { parseUsersFile } from '../../src/policy/users-file.js';
import { ntHash } from '../../src/crypto/md4.js';
import { probeServer } from '../../src/probe/probe.js';
import { serve, type ConnectionRecord } from '../../src/serve/server.js';
import { runCommand, runXfreerdp, skipOrFail, startShadow } from './harness.js';

async function ours(presetName: string) {
  const tls = await generateSelfSignedCertificate('serve-windows', 2);
  const records: ConnectionRecord[] = [];
  const [l] = await serve({ host: '127.0.0.1', ports: [0], policy: preset(presetName), tls, onConnection: (r) => records.push(r) });
  return { port: l!.port, records, close: () => l!.close() };
}

describe('serve (Windows policies) against real clients', () => {
  test('xfreerdp falls back from SSL|HYBRID to SSL to RDP against SecurityLayer=0 and gets in', async (t) => {
    if (!skipOrFail(t, 'xfreerdp')) return;
    const s = await ours('windows-legacy-rdp');
    t.after(() => s.close());
    const res = await runXfreerdp(s.port);
    assert.equal(res.code, 0, res.stderr.slice(-400));
    const chain = s.records.map((r) => [r.requestedProtocols?.join('|') ?? 'legacy', r.failureCode ?? r.selectedProtocol, r.outcome]);
    // the same chain as shared/fixtures/pcaps/shadow-rdp--xfreerdp-default
    assert.deepEqual(chain, [
      ['SSL|HYBRID', 'SSL_NOT_ALLOWED_BY_SERVER', 'refused'],
      ['SSL', 'SSL_NOT_ALLOWED_BY_SERVER', 'refused'],
      ['RDP', 'RDP', 'finalized'],
    ]);
    assert.equal(s.records[2]!.clientFamily, 'freerdp');
    assert.equal(s.records[2]!.user, 'test');
  });

  test('an NLA-only policy refuses xfreerdp /sec:tls as the FreeRDP shadow server in nla mode does', async (t) => {
    if (!skipOrFail(t, 'xfreerdp', 'shadow')) return;
    const s = await ours('windows-hardened');
    t.after(() => s.close());
    const shadow = await startShadow('nla', undefined, { t });
    const [a, b] = await Promise.all([runXfreerdp(shadow.port, { args: ['/sec:tls'] }), runXfreerdp(s.port, { args: ['/sec:tls'] })]);
    assert.notEqual(a.code, 0);
    assert.equal(b.code, a.code, 'same exit code as against the real NLA-only server');
    assert.equal(s.records[0]!.failureCode, 'HYBRID_REQUIRED_BY_SERVER');
  });

  for (const [presetName, how] of [
    ['windows-legacy-rdp', 'RDP security'],
    ['windows-2008r2-tls10', 'TLS'],
  ] as const) {
    test(`rdesktop reaches activation with ${how} (${presetName}) and reads our Set Error Info`, async (t) => {
      if (!skipOrFail(t, 'rdesktop')) return;
      const s = await ours(presetName);
      t.after(() => s.close());
      const home = mkdtempSync(join(tmpdir(), 'rdesktop-home-'));
      const res = await runCommand('bash', ['-c', `echo yes | timeout 10 xvfb-run -a rdesktop -u test -p test 127.0.0.1:${s.port}`], { env: { HOME: home }, timeoutMs: 20_000 });
      const out = res.stdout + res.stderr;
      assert.match(out, /Administrator initiated disconnect/, out.slice(-500));
      const done = s.records.find((r) => r.outcome === 'finalized');
      assert.ok(done, JSON.stringify(s.records.map((r) => r.reason)));
      assert.equal(done.clientFamily, 'rdesktop');
      if (how === 'TLS') assert.equal(done.tls?.version, 'TLSv1');
      else assert.ok(done.encryption!.method > 0, 'RC4 in use');
    });
  }
});

describe('serve: Windows SecurityLayer x MinEncryptionLevel against xfreerdp, checked against our own probe', () => {
  for (const securityLayer of [0, 1, 2]) {
    for (const minEncryptionLevel of [1, 2, 3, 4]) {
      test(`SecurityLayer=${securityLayer} MinEncryptionLevel=${minEncryptionLevel}`, async (t) => {
        if (!skipOrFail(t, 'xfreerdp')) return;
        const policy = fromWindowsFlags({ securityLayer, userAuthentication: 0, minEncryptionLevel });
        const tls = await generateSelfSignedCertificate('serve-grid', 2);
        const records: ConnectionRecord[] = [];
        // xfreerdp logs on as test/test; NLA (HYBRID, selected for its default SSL|HYBRID) checks it
        const users = parseUsersFile(`test::${(await ntHash('test')).toString('hex')}\n`);
        const [l] = await serve({ host: '127.0.0.1', ports: [0], policy, tls, users, onConnection: (r) => records.push(r) });
        t.after(() => l!.close());
        const p = await probeServer({ host: '127.0.0.1', port: l!.port, timeoutMs: 3000, parallel: 4, handshake: true });
        // what the probe says each xfreerdp mode will meet
        const rdpWorks = p.legacy.status === 'accepted' && Object.values(p.handshake!.methods).some((m) => m.attempt?.works || m.saltedMac?.works);
        const tlsWorks = p.handshake!.layers.SSL?.works === true;
        const [rdp, tlsRun, dflt] = await Promise.all([
          runXfreerdp(l!.port, { args: ['/sec:rdp'] }),
          runXfreerdp(l!.port, { args: ['/sec:tls'] }),
          runXfreerdp(l!.port),
        ]);
        assert.equal(rdp.code === 0, rdpWorks, `/sec:rdp exit ${rdp.code}, probe says ${rdpWorks}`);
        assert.equal(tlsRun.code === 0, tlsWorks, `/sec:tls exit ${tlsRun.code}, probe says ${tlsWorks}`);
        if (p.protocols.HYBRID.status === 'accepted') {
          // xfreerdp asks for SSL|HYBRID and gets HYBRID: CredSSP with test/test, then (+auth-only) it leaves
          assert.equal(dflt.code, 0, `default exit ${dflt.code}: ${dflt.stderr.slice(-300)}`);
          assert.ok(records.some((r) => r.nla?.user === 'test' && r.nla.credentials === 'password'));
        } else {
          // FreeRDP's default falls back through SSL|HYBRID, SSL and RDP (shadow-rdp--xfreerdp-default)
          assert.equal(dflt.code === 0, rdpWorks || tlsWorks, `default exit ${dflt.code}`);
        }
        assert.ok(records.every((r) => r.reason.length > 0));
      });
    }
  }
});
