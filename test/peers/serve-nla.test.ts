/**
 * `rdpsec serve` with NLA (CredSSP + NTLM against a users file) and real clients:
 * - xfreerdp /sec:nla with the right and a wrong password: the same exit code from our server
 *   (freerdp-shadow-nla preset) as from the real FreeRDP shadow server in nla mode, both
 *   reading the SAM line winpr-hash made; against a Windows-style policy, the wrong password
 *   is told with errorCode STATUS_LOGON_FAILURE, which xfreerdp reports by name;
 * - xfreerdp's default mode against windows-2019 (NLA required) now gets in;
 * - impacket's rdp_check: "Access Granted" and the failure;
 * - nmap rdp-ntlm-info prints the names and version we configured.
 */
import assert from 'node:assert/strict';
import { describe, test, type TestContext } from 'node:test';
import { generateSelfSignedCertificate } from '../../src/crypto/self-signed.js';
import { preset } from '../../src/policy/presets.js';
import { parseUsersFile } from '../../src/policy/users-file.js';
import { serve, type ConnectionRecord, type ServeOptions } from '../../src/serve/server.js';
import { runImpacketRdpCheck, runXfreerdp, skipOrFail, startShadow, winprHashSam } from './harness.js';
import { runNmapNtlmInfo } from './nmap.js';

const USER = 'alice';
const PASSWORD = 'S3cret!';

async function ours(t: TestContext, presetName: string, extra: Partial<ServeOptions> = {}) {
  const tls = await generateSelfSignedCertificate('serve-nla', 2);
  const users = parseUsersFile(await winprHashSam(USER, PASSWORD));
  const records: ConnectionRecord[] = [];
  const [l] = await serve({ host: '127.0.0.1', ports: [0], policy: preset(presetName), tls, users, onConnection: (r) => records.push(r), ...extra });
  t.after(() => l!.close());
  return { port: l!.port, records };
}

/** The ERRCONNECT_ name xfreerdp logs, if any. */
function errconnect(out: string): string | null {
  return /(ERRCONNECT_[A-Z_]+)/.exec(out)?.[1] ?? null;
}

describe('serve with NLA against real clients', () => {
  test('xfreerdp /sec:nla: right password passes, wrong one fails, with the exit codes the FreeRDP shadow server gives', async (t) => {
    if (!skipOrFail(t, 'xfreerdp', 'shadow', 'winpr-hash')) return;
    const s = await ours(t, 'freerdp-shadow-nla');
    const shadow = await startShadow('nla', undefined, { t });
    const nla = (port: number, password: string) => runXfreerdp(port, { user: USER, password, args: ['/sec:nla'] });
    const [realOk, oursOk, realBad, oursBad] = await Promise.all([nla(shadow.port, PASSWORD), nla(s.port, PASSWORD), nla(shadow.port, 'Wr0ngPassw0rd'), nla(s.port, 'Wr0ngPassw0rd')]);
    assert.equal(realOk.code, 0, realOk.stderr.slice(-400));
    assert.equal(oursOk.code, 0, oursOk.stderr.slice(-400));
    assert.notEqual(realBad.code, 0);
    assert.equal(oursBad.code, realBad.code, 'the same exit code for a wrong password');
    const ok = s.records.find((r) => r.nla?.credentials === 'password');
    assert.ok(ok, JSON.stringify(s.records.map((r) => r.reason)));
    assert.equal(ok.nla?.user, USER);
    assert.equal(ok.nla?.clientVersion, 6);
    assert.equal(ok.clientFamily, 'freerdp');
    const bad = s.records.find((r) => r.nla?.status === 'STATUS_LOGON_FAILURE');
    assert.ok(bad, JSON.stringify(s.records.map((r) => r.reason)));
    assert.equal(bad.outcome, 'refused');
    for (const r of s.records) assert.ok(!JSON.stringify(r).includes(PASSWORD) && !JSON.stringify(r).includes('Wr0ngPassw0rd'), 'no password in the log');
  });

  test('a Windows-style policy tells xfreerdp the wrong password with errorCode STATUS_LOGON_FAILURE', async (t) => {
    if (!skipOrFail(t, 'xfreerdp', 'winpr-hash')) return;
    const s = await ours(t, 'windows-2019');
    const res = await runXfreerdp(s.port, { user: USER, password: 'wrong', args: ['/sec:nla', '/log-level:DEBUG'] });
    assert.notEqual(res.code, 0);
    assert.equal(errconnect(res.stdout + res.stderr), 'ERRCONNECT_LOGON_FAILURE', (res.stdout + res.stderr).slice(-600));
    assert.equal(s.records[0]?.nla?.status, 'STATUS_LOGON_FAILURE');
  });

  test('xfreerdp in its default mode gets through windows-2019 (NLA required) with the right password', async (t) => {
    if (!skipOrFail(t, 'xfreerdp', 'winpr-hash')) return;
    const s = await ours(t, 'windows-2019');
    const res = await runXfreerdp(s.port, { user: USER, password: PASSWORD });
    assert.equal(res.code, 0, res.stderr.slice(-400));
    assert.equal(s.records[0]?.selectedProtocol, 'HYBRID');
    assert.equal(s.records[0]?.nla?.user, USER);
  });

  test('impacket rdp_check: Access Granted with the right password, denied with a wrong one', async (t) => {
    if (!skipOrFail(t, 'impacket', 'winpr-hash')) return;
    const s = await ours(t, 'windows-2019');
    const good = await runImpacketRdpCheck(s.port, USER, PASSWORD);
    assert.ok(good.granted, good.stdout + good.stderr);
    const bad = await runImpacketRdpCheck(s.port, USER, 'wrong');
    assert.ok(!bad.granted && bad.denied, bad.stdout + bad.stderr);
    const versions = s.records.map((r) => r.nla?.clientVersion);
    assert.ok(versions.every((v) => typeof v === 'number'), JSON.stringify(versions));
    assert.equal(s.records[0]?.nla?.user, USER);
    assert.equal(s.records[1]?.nla?.status, 'STATUS_LOGON_FAILURE');
  });

  test('nmap rdp-ntlm-info prints the names and version we configured', async (t) => {
    if (!skipOrFail(t, 'nmap', 'winpr-hash')) return;
    const s = await ours(t, 'windows-2019', {
      credssp: { ntlmNames: { nbComputerName: 'LABHOST', nbDomainName: 'CORP', dnsComputerName: 'labhost.corp.example', dnsDomainName: 'corp.example', dnsTreeName: 'corp.example' } },
    });
    const info = await runNmapNtlmInfo(s.port);
    assert.equal(info.Target_Name, 'CORP');
    assert.equal(info.NetBIOS_Domain_Name, 'CORP');
    assert.equal(info.NetBIOS_Computer_Name, 'LABHOST');
    assert.equal(info.DNS_Domain_Name, 'corp.example');
    assert.equal(info.DNS_Computer_Name, 'labhost.corp.example');
    assert.equal(info.DNS_Tree_Name, 'corp.example');
    assert.equal(info.Product_Version, '10.0.17763');
    assert.ok(s.records.length >= 1);
  });
});
