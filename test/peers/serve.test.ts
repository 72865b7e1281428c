/**
 * `rdpsec serve` against real clients. With an xrdp.ini, our server and the real xrdp run the
 * same settings side by side, and xfreerdp (in each of its modes) and nmap must get the same
 * answers from both, including xrdp's quirks: RDP selected for requests it cannot meet, one
 * imposed method per crypt_level, and the salted MAC of FreeRDP rejected.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { policyFromXrdpIni } from '../../src/policy/xrdp-ini.js';
import { serve, type ConnectionRecord } from '../../src/serve/server.js';
import { runXfreerdp, skipOrFail, startXrdp, type XrdpCryptLevel, type XrdpSecurityLayer } from './harness.js';
import { runNmapEnumEncryption } from './nmap.js';

async function ourXrdp(layer: XrdpSecurityLayer, crypt: XrdpCryptLevel, certFile: string, keyFile: string) {
  const ini = `[Globals]\nsecurity_layer=${layer}\ncrypt_level=${crypt}\ncertificate=${certFile}\nkey_file=${keyFile}\nssl_protocols=TLSv1.2, TLSv1.3\n`;
  const policy = policyFromXrdpIni(ini, { file: 'test.ini' });
  const records: ConnectionRecord[] = [];
  const [l] = await serve({
    host: '127.0.0.1',
    ports: [0],
    policy,
    tls: { certPem: readFileSync(certFile, 'utf8'), keyPem: readFileSync(keyFile, 'utf8') },
    onConnection: (r) => records.push(r),
  });
  return { port: l!.port, records, close: () => l!.close() };
}

const MODES: [string, string[]][] = [
  ['default', []],
  ['/sec:rdp', ['/sec:rdp']],
  ['/sec:tls', ['/sec:tls']],
];

describe('serve --xrdp-ini against xfreerdp, side by side with the real xrdp', () => {
  for (const layer of ['rdp', 'tls', 'negotiate'] as XrdpSecurityLayer[]) {
    for (const crypt of ['none', 'high', 'fips'] as XrdpCryptLevel[]) {
      test(`security_layer=${layer} crypt_level=${crypt}`, async (t) => {
        if (!skipOrFail(t, 'xrdp', 'xfreerdp')) return;
        const real = await startXrdp(layer, crypt, undefined, { t });
        const ours = await ourXrdp(layer, crypt, real.cert, real.cert.replace(/cert\.pem$/, 'key.pem'));
        t.after(() => ours.close());
        for (const [name, args] of MODES) {
          const [a, b] = await Promise.all([runXfreerdp(real.port, { args }), runXfreerdp(ours.port, { args })]);
          assert.equal(b.code, a.code, `xfreerdp ${name}: real xrdp exit ${a.code}, ours ${b.code}; ours logged ${JSON.stringify(ours.records.at(-1)?.reason)}`);
        }
        // what our server logged for xfreerdp: the client family and a reason for each connection
        assert.ok(ours.records.length >= MODES.length);
        for (const r of ours.records) {
          assert.ok(r.reason.length > 0);
          if (r.client) assert.equal(r.clientFamily, 'freerdp', JSON.stringify(r.clientEvidence));
        }
      });
    }
  }

  test('nmap rdp-enum-encryption reports the same against ours and the real xrdp', async (t) => {
    if (!skipOrFail(t, 'xrdp', 'nmap')) return;
    for (const crypt of ['low', 'high'] as XrdpCryptLevel[]) {
      const real = await startXrdp('negotiate', crypt, undefined, { t });
      const ours = await ourXrdp('negotiate', crypt, real.cert, real.cert.replace(/cert\.pem$/, 'key.pem'));
      try {
        const [a, b] = await Promise.all([runNmapEnumEncryption(real.port, { debug: true }), runNmapEnumEncryption(ours.port, { debug: true })]);
        assert.deepEqual(b.protocols, a.protocols, `protocols, crypt_level=${crypt}`);
        assert.deepEqual(b.methods, a.methods, `methods, crypt_level=${crypt}`);
        assert.equal(b.encryptionLevel, a.encryptionLevel);
      } finally {
        await ours.close();
        await real.stop();
      }
    }
  });
});
