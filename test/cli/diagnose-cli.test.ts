/**
 * `rdpsec simulate`, `doctor` and `profiles` as a user runs them: exit codes (0 connects, 1 does
 * not, 2 usage, 3 unreachable for doctor), the JSON contract of issue 6
 * (schemas/simulate.schema.json), the inputs users have (.rdp, .reg, xrdp.ini), and the words a
 * user reads. Only loopback is contacted.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { Ajv } from 'ajv';
import { generateSelfSignedCertificate } from '../../src/crypto/self-signed.js';
import { preset } from '../../src/policy/presets.js';
import { serve } from '../../src/serve/server.js';
import { closedPort } from '../transport/helpers.js';
import { cli } from './run-cli.js';

const SCHEMA = JSON.parse(readFileSync(fileURLToPath(new URL('../../../schemas/simulate.schema.json', import.meta.url)), 'utf8')) as object;
const ajvValidate = new Ajv({ allErrors: true, strict: false }).compile(SCHEMA);
/** null when the document matches schemas/simulate.schema.json, else the errors */
const schemaErrors = (d: unknown): string | null => (ajvValidate(d) ? null : JSON.stringify(ajvValidate.errors));
const fixture = (p: string): string => fileURLToPath(new URL(`../../../test/fixtures/${p}`, import.meta.url));

describe('rdpsec simulate / doctor / profiles', { concurrency: true }, () => {
  it('simulate --json: a client that gets in, in the contract of issue 6, exit 0', async () => {
    const r = await cli(['simulate', '--client', 'freerdp-2', '--server', 'windows-2019', '--json'], 30_000);
    assert.equal(r.code, 0, r.stderr);
    const doc = JSON.parse(r.stdout);
    assert.equal(schemaErrors(doc), null);
    assert.equal(doc.client, 'freerdp-2');
    assert.equal(doc.connects, true);
    assert.deepEqual(doc.negotiated, { protocol: 'HYBRID', tlsVersion: 'TLSv1.2', encryptionMethod: 'NONE', encryptionLevel: 'NONE', credsspVersion: 6 });
    assert.equal(doc.failure, null);
  });

  it('simulate: the PAM proxy against SecurityLayer 0 fails as in the field, the safe fix first, the weakening one says so, exit 1', async () => {
    const r = await cli(['simulate', '--client', 'pam-proxy', '--server', 'windows-legacy-rdp'], 30_000);
    assert.equal(r.code, 1, r.stderr);
    assert.match(r.stdout, /FAILS: SSL_NOT_ALLOWED_BY_SERVER at x224/);
    assert.match(r.stdout, /ERRCONNECT_SECURITY_NEGO_CONNECT_FAILED/);
    assert.match(r.stdout, /\|-- X\.224 Connection Request -+>\|  RDP_NEG_REQ requestedProtocols=0x3/);
    assert.match(r.stdout, /1\. \[safe\] server: Require TLS with NLA/);
    assert.match(r.stdout, /\[weakens security\] client: Configure the PAM proxy[^\n]*\n(?:.*\n)*?\s+weakens: .*\n\s+prefer: Require TLS with NLA/);
  });

  it('simulate takes the files users have: an mstsc .rdp with CredSSP off against a reg export of a LOW-level SecurityLayer 0 host', async () => {
    const r = await cli(['simulate', '--client', fixture('clients/credssp-off.rdp'), '--server', fixture('servers/rdp-tcp-layer0-low.reg'), '--json'], 30_000);
    assert.equal(r.code, 0, r.stderr);
    const doc = JSON.parse(r.stdout);
    assert.equal(schemaErrors(doc), null);
    assert.equal(doc.negotiated.encryptionLevel, 'LOW');
    assert.ok(doc.risks.some((x: { id: string }) => x.id === 'server-to-client-in-clear'));
    assert.ok(doc.fixes.length > 0 && doc.fixes.every((f: { safety: string }) => f.safety === 'safe'));
    assert.ok(doc.clientNotes.some((n: string) => /enablecredsspsupport/.test(n)));
  });

  it('simulate with an xrdp.ini: xfreerdp /sec:rdp meets the MAC check of Debian 12 xrdp (exit 131 predicted)', async () => {
    const r = await cli(['simulate', '--client', 'freerdp-2-sec-rdp', '--server', fixture('servers/xrdp-rdp-low.ini'), '--json', '--no-fixes'], 30_000);
    assert.equal(r.code, 1, r.stderr);
    const doc = JSON.parse(r.stdout);
    assert.deepEqual([doc.failure.code, doc.failure.exitCode], ['SERVER_DISCONNECTED', 131]);
  });

  it('simulate usage errors: unknown profile (naming the known ones), a missing --server, a bad --logon: exit 2', async () => {
    const [a, b, c] = await Promise.all([
      cli(['simulate', '--client', 'nosuch', '--server', 'windows-2019']),
      cli(['simulate', '--client', 'freerdp-2']),
      cli(['simulate', '--client', 'freerdp-2', '--server', 'windows-2019', '--logon', 'maybe']),
    ]);
    assert.equal(a.code, 2);
    assert.match(a.stderr, /nosuch is neither a client profile \(mstsc-win10,/);
    assert.equal(b.code, 2);
    assert.match(b.stderr, /needs --client and --server/);
    assert.equal(c.code, 2);
  });

  it('simulate --matrix --server: every client profile against one server', async () => {
    const r = await cli(['simulate', '--matrix', '--server', 'xrdp-debian', '--json'], 60_000);
    assert.equal(r.code, 0, r.stderr);
    const doc = JSON.parse(r.stdout);
    const profiles = JSON.parse((await cli(['profiles', '--json'])).stdout) as { clients: { name: string }[] };
    assert.deepEqual(doc.matrix.map((m: { client: string }) => m.client), profiles.clients.map((c) => c.name));
    assert.equal(doc.matrix.find((m: { client: string }) => m.client === 'freerdp-2-sec-nla').failure.code, 'UNEXPECTED_PROTOCOL');
  });

  it('doctor against a live server: the policy inferred from the probe, the client simulated, fixes ranked; exit 1', async (t) => {
    const tls = await generateSelfSignedCertificate('doctor-cli', 2);
    const [l] = await serve({ host: '127.0.0.1', ports: [0], policy: preset('windows-legacy-rdp'), tls, onConnection: () => undefined });
    t.after(() => l!.close());
    const r = await cli(['doctor', `127.0.0.1:${l!.port}`, '--client', 'pam-proxy', '--json'], 60_000);
    assert.equal(r.code, 1, r.stderr);
    const doc = JSON.parse(r.stdout);
    assert.equal(schemaErrors(doc), null);
    assert.deepEqual(doc.target, { host: '127.0.0.1', port: l!.port });
    assert.equal(doc.failure.clientCode, 'ERRCONNECT_SECURITY_NEGO_CONNECT_FAILED');
    assert.equal(doc.fixes[0].id, 'windows-require-tls-and-nla');
    assert.ok(doc.evidence.length > 0);
  });

  it('doctor against a port where nothing listens: exit 3', async () => {
    const port = await closedPort();
    const r = await cli(['doctor', `127.0.0.1:${port}`, '--client', 'freerdp-2', '--timeout', '2'], 30_000);
    assert.equal(r.code, 3, r.stderr);
    assert.match(r.stderr, /did not answer/);
  });

  it('profiles: the client profiles and server presets, with aliases', async () => {
    const r = await cli(['profiles']);
    assert.equal(r.code, 0);
    assert.match(r.stdout, /^ {2}freerdp-2 +xfreerdp 2\.11 .*\(also: xfreerdp-2\.11\)$/m);
    assert.match(r.stdout, /^ {2}windows-legacy-rdp +/m);
  });
});
