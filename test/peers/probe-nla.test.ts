/**
 * `probe` and CredSSP against real servers: the FreeRDP shadow server in nla and negotiate
 * modes (SAM file from winpr-hash), with the right password (accepted) and a wrong one (the
 * server closes after our AUTHENTICATE without an errorCode: reported as such, with its likely
 * meaning); and our own server under Windows-style CredSSP policies, where the posture must
 * equal the policy (version, legacy clients, errorCode, restricted admin, HYBRID_EX). The JSON
 * is checked against schemas/probe.schema.json, and nmap's rdp-ntlm-info must agree with the
 * NTLM names.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, test, type TestContext } from 'node:test';
import { Ajv } from 'ajv';
import { generateSelfSignedCertificate } from '../../src/crypto/self-signed.js';
import { ntHash } from '../../src/crypto/md4.js';
import { preset } from '../../src/policy/presets.js';
import { parseUsersFile } from '../../src/policy/users-file.js';
import type { CredsspPolicy } from '../../src/policy/server-policy.js';
import type { ProbeCredentials } from '../../src/probe/credssp-probe.js';
import { probeServer } from '../../src/probe/probe.js';
import { serve, type ConnectionRecord } from '../../src/serve/server.js';
import { REPO_ROOT, skipOrFail, startShadow, winprHashSam } from './harness.js';
import { runNmapNtlmInfo } from './nmap.js';
import { join } from 'node:path';

const USER = 'alice';
const PASSWORD = 'S3cret!';

async function creds(password: string): Promise<ProbeCredentials> {
  return { user: USER, domain: '', password: Buffer.from(password, 'utf16le'), ntHash: await ntHash(password) };
}

const validate = new Ajv({ allErrors: true, strict: false }).compile(JSON.parse(readFileSync(join(REPO_ROOT, 'schemas/probe.schema.json'), 'utf8')));

async function probe(port: number, password?: string, handshake = false) {
  const p = await probeServer({ host: '127.0.0.1', port, timeoutMs: 4000, parallel: 4, handshake, ...(password !== undefined ? { credentials: await creds(password) } : {}) });
  const json = JSON.parse(JSON.stringify(p));
  assert.ok(validate(json), JSON.stringify(validate.errors));
  return p;
}

async function ours(t: TestContext, presetName: string, credssp?: Partial<CredsspPolicy>) {
  const tls = await generateSelfSignedCertificate('probe-nla', 2);
  const users = parseUsersFile(await winprHashSam(USER, PASSWORD));
  const records: ConnectionRecord[] = [];
  const [l] = await serve({ host: '127.0.0.1', ports: [0], policy: preset(presetName), tls, users, ...(credssp ? { credssp: { credssp } } : {}), onConnection: (r) => records.push(r) });
  t.after(() => l!.close());
  return { port: l!.port, records };
}

describe('probe CredSSP against the FreeRDP shadow server', () => {
  for (const mode of ['nla', 'negotiate'] as const) {
    test(`${mode}: right password accepted, wrong one reported as a close after AUTHENTICATE`, async (t) => {
      if (!skipOrFail(t, 'shadow')) return;
      const shadow = await startShadow(mode, undefined, { t });
      const [good, bad] = [await probe(shadow.port, PASSWORD), await probe(shadow.port, 'wrong')];
      const g = good.credssp!;
      assert.equal(g.version, 6);
      assert.equal(g.nlaRequired, mode === 'nla');
      assert.equal(g.credentials?.accepted, true, g.credentials?.observation);
      assert.equal(g.ntlm?.osVersion, '6.1.7601', "FreeRDP's built-in NTLM version");
      assert.equal(g.acceptsLegacyVersions, true, 'the FreeRDP 2.11 server answers a version 2 client');
      const b = bad.credssp!.credentials!;
      assert.equal(b.accepted, false);
      assert.equal(b.errorCode, null, 'FreeRDP 2.11 sends no errorCode');
      assert.match(b.observation, /after our AUTHENTICATE/);
      assert.match(b.meaning ?? '', /failed logon/);
    });
  }
});

describe('our connector through NLA to activation (probe --handshake --user)', () => {
  test('against the FreeRDP shadow server in nla mode', async (t) => {
    if (!skipOrFail(t, 'shadow')) return;
    const shadow = await startShadow('nla', undefined, { t });
    const h = (await probe(shadow.port, PASSWORD, true)).handshake!.layers.HYBRID!;
    assert.equal(h.works, true, JSON.stringify(h));
    assert.equal(h.reached, 'finalized');
  });

  test('against our server (windows-2019), where the log names the logon', async (t) => {
    if (!skipOrFail(t, 'winpr-hash')) return;
    const s = await ours(t, 'windows-2019');
    const h = (await probe(s.port, PASSWORD, true)).handshake!.layers.HYBRID!;
    assert.equal(h.works, true, JSON.stringify(h));
    const done = s.records.find((r) => r.outcome === 'finalized' && r.selectedProtocol === 'HYBRID');
    assert.ok(done, JSON.stringify(s.records.map((r) => r.reason)));
    assert.equal(done.nla?.user, USER);
  });
});

describe('probe CredSSP against our server: the posture equals the policy', () => {
  test('windows-2019: version 6, NLA required, errorCode for a wrong password, names as nmap reads them', async (t) => {
    if (!skipOrFail(t, 'winpr-hash', 'nmap')) return;
    const s = await ours(t, 'windows-2019');
    const good = (await probe(s.port, PASSWORD)).credssp!;
    assert.equal(good.version, 6);
    assert.equal(good.nlaRequired, true);
    assert.equal(good.credentials?.accepted, true);
    assert.equal(good.acceptsLegacyVersions, true, 'Mitigated takes version 2 clients');
    assert.equal(good.hybridEx.advertised, true);
    assert.equal(good.hybridEx.earlyUserAuthorization, 'AUTHZ_SUCCESS');
    assert.equal(good.restrictedAdmin.advertised, false);
    assert.equal(good.restrictedAdmin.accepted, false);
    const bad = (await probe(s.port, 'wrong')).credssp!;
    assert.equal(bad.credentials?.accepted, false);
    assert.equal(bad.credentials?.errorCode, 'STATUS_LOGON_FAILURE');
    const nmap = await runNmapNtlmInfo(s.port);
    assert.equal(nmap.NetBIOS_Computer_Name, good.ntlm?.netbiosComputer);
    assert.equal(nmap.DNS_Computer_Name, good.ntlm?.dnsComputer);
    assert.equal(nmap.Product_Version, good.ntlm?.osVersion);
    assert.ok(s.records.every((r) => !JSON.stringify(r).includes(PASSWORD)));
  });

  test('windows-hardened (Force Updated Clients) refuses a version 2 logon; a version 2 server is unpatched', async (t) => {
    if (!skipOrFail(t, 'winpr-hash')) return;
    const hardened = (await probe((await ours(t, 'windows-hardened')).port, PASSWORD)).credssp!;
    assert.equal(hardened.acceptsLegacyVersions, false);
    assert.equal(hardened.legacyCheck, 'logon');
    assert.equal(hardened.acceptsCurrentVersions, true);
    const old = (await probe((await ours(t, 'windows-2019', { versions: [2] })).port, PASSWORD)).credssp!;
    assert.equal(old.version, 2);
    assert.equal(old.acceptsLegacyVersions, true);
    assert.equal(old.credentials?.accepted, true);
  });

  test('restricted admin: advertised and taken when the policy allows it', async (t) => {
    if (!skipOrFail(t, 'winpr-hash')) return;
    const s = await ours(t, 'windows-2019', { restrictedAdmin: true });
    const c = (await probe(s.port, PASSWORD)).credssp!;
    assert.equal(c.restrictedAdmin.advertised, true);
    assert.equal(c.restrictedAdmin.accepted, true);
    assert.ok(s.records.some((r) => r.nla?.credentials === 'restricted-admin'));
  });
});
