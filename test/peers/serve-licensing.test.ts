/**
 * `rdpsec serve` with the MS-RDPELE platform challenge (AcceptorPolicy.licensing
 * 'platform-challenge', as a Windows host without a license server in its grace period) against
 * real clients: xfreerdp checks our MACs with its own licensing code (libfreerdp/core/license.c)
 * and must get through to the end of the connection, with RDP security and with TLS.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { generateSelfSignedCertificate } from '../../src/crypto/self-signed.js';
import { preset } from '../../src/policy/presets.js';
import { serve, type ConnectionRecord } from '../../src/serve/server.js';
import { runXfreerdp, skipOrFail } from './harness.js';

async function ours(presetName: string) {
  const tls = await generateSelfSignedCertificate('serve-licensing', 2);
  const records: ConnectionRecord[] = [];
  const [l] = await serve({ host: '127.0.0.1', ports: [0], policy: preset(presetName), tls, licensing: 'platform-challenge', onConnection: (r) => records.push(r) });
  return { port: l!.port, records, close: () => l!.close() };
}

describe('serve with a platform challenge against xfreerdp', () => {
  for (const [presetName, args] of [
    ['windows-legacy-rdp', ['/sec:rdp']],
    ['xrdp-debian', ['/sec:tls']],
  ] as const) {
    test(`xfreerdp ${args.join(' ')} answers our platform challenge and gets in (${presetName})`, async (t) => {
      if (!skipOrFail(t, 'xfreerdp')) return;
      const s = await ours(presetName);
      t.after(() => s.close());
      const res = await runXfreerdp(s.port, { args: [...args] });
      const done = s.records.at(-1);
      assert.equal(done?.outcome, 'finalized', `${done?.reason}\n${res.stderr.slice(-1500)}`);
      assert.equal(res.code, 0, res.stderr.slice(-800));
    });
  }
});
