/** `npm start` runs `rdpsec demo`: our own server as a SecurityLayer=0 Windows host, probed with full handshakes. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));

test('demo: serve the misconfiguration, probe it, report it, leave nothing running', () => {
  const res = spawnSync(process.execPath, ['dist/src/cli/main.js', 'demo', '--json'], { cwd: ROOT, encoding: 'utf8', timeout: 60_000 });
  assert.equal(res.status, 0, res.stderr);
  const p = JSON.parse(res.stdout);
  assert.equal(p.schemaVersion, 1);
  assert.equal(p.target.host, '127.0.0.1');
  assert.equal(p.protocols.RDP.status, 'accepted');
  assert.deepEqual([p.protocols.SSL.status, p.protocols.SSL.failureCode], ['refused', 'SSL_NOT_ALLOWED_BY_SERVER']);
  assert.ok(p.findings.some((f: { id: string }) => f.id === 'rdp-security-accepted'));
  assert.ok(p.standardSecurity.handshakes.every((h: { completed: boolean }) => h.completed), 'every method completes a real handshake');
  assert.match(res.stderr, /built-in server/);
  // diagnosed for several clients: the PAM proxy of issue 6 fails as it does in the field, the others get in over RDP
  const byClient = new Map(p.diagnoses.map((d: { client: string }) => [d.client, d]));
  const pam = byClient.get('pam-proxy') as { connects: boolean; failure: { code: string; clientCode: string }; fixes: { id: string; safety: string }[] };
  assert.equal(pam.connects, false);
  assert.deepEqual([pam.failure.code, pam.failure.clientCode], ['SSL_NOT_ALLOWED_BY_SERVER', 'ERRCONNECT_SECURITY_NEGO_CONNECT_FAILED']);
  assert.deepEqual([pam.fixes[0]!.id, pam.fixes[0]!.safety], ['windows-require-tls-and-nla', 'safe']);
  const mstsc = byClient.get('mstsc-win10') as { connects: boolean; negotiated: { protocol: string }; risks: { id: string }[] };
  assert.equal(mstsc.connects, true);
  assert.equal(mstsc.negotiated.protocol, 'RDP');
  assert.ok(mstsc.risks.some((r) => r.id === 'no-server-authentication'));
});
