/** `npm start` runs `rdpsec demo`: a real xrdp on loopback, probed, then stopped. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { REPO_ROOT, runCommand, skipOrFail } from './harness.js';

test('demo starts xrdp, probes it and leaves nothing behind', async (t) => {
  if (!skipOrFail(t, 'xrdp')) return;
  const before = readdirSync(tmpdir()).filter((d) => d.startsWith('rdpsec-demo-'));
  const res = await runCommand(process.execPath, ['dist/src/cli/main.js', 'demo', '--json'], { cwd: REPO_ROOT, timeoutMs: 60_000 });
  assert.equal(res.code, 0, res.stderr);
  const p = JSON.parse(res.stdout);
  assert.equal(p.schemaVersion, 1);
  assert.equal(p.target.host, '127.0.0.1');
  // Debian's default xrdp: negotiate + high
  assert.equal(p.protocols.SSL.status, 'accepted');
  assert.equal(p.standardSecurity.encryptionLevel, 'HIGH');
  assert.ok(p.findings.some((f: { id: string }) => f.id === 'rdp-security-accepted'));
  assert.match(res.stderr, /started xrdp/);
  const after = readdirSync(tmpdir()).filter((d) => d.startsWith('rdpsec-demo-'));
  assert.deepEqual(after, before, 'the demo removes its directory');
  const ps = await runCommand('pgrep', ['-f', 'rdpsec-demo-'], { timeoutMs: 5000 });
  assert.equal(ps.stdout.trim(), '', 'no xrdp of the demo left running');
});
