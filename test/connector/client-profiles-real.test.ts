/**
 * The failure wordings of the clients we can run (data/clients/freerdp.yaml, rdesktop.yaml)
 * against the real clients: xfreerdp 2.11 and rdesktop 1.9 are run against servers that make
 * each failure (rdpsec serve with a preset and a users file, and the real xrdp), and what they
 * print and their exit code must be what clientFailureWording says for that failure. Each line of
 * a wording's message must appear in the client's output.
 */
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test, type TestContext } from 'node:test';
import { clientFailureWording, clientProfile, type FailureCode, type SimulationStage } from '../../src/connector/client-profiles.js';
import { generateSelfSignedCertificate } from '../../src/crypto/self-signed.js';
import { preset } from '../../src/policy/presets.js';
import { parseUsersFile } from '../../src/policy/users-file.js';
import { serve } from '../../src/serve/server.js';
import { runCommand, runXfreerdp, skipOrFail, startXrdp, type CommandResult } from '../peers/harness.js';

const HASH = '10b2f1961375b20126508c2267862bf0'; // NT hash of S3cret!
const USERS = ['alice', 'bob:locked', 'carol:disabled', 'dave:password-expired', 'erin:must-change', 'frank:restricted', 'gina:expired']
  .map((u) => {
    const [name, state] = u.split(':');
    return `${name}::${HASH}${state ? `:${state}` : ''}`;
  })
  .join('\n');

async function ours(t: TestContext, presetName: string): Promise<number> {
  const tls = await generateSelfSignedCertificate('client-wording', 2);
  const [l] = await serve({ host: '127.0.0.1', ports: [0], policy: preset(presetName), tls, users: parseUsersFile(`${USERS}\n`), onConnection: () => undefined });
  t.after(() => l!.close());
  return l!.port;
}

function expectWording(res: CommandResult, profile: string, code: FailureCode, stage: SimulationStage, detail?: string): void {
  const w = clientFailureWording(clientProfile(profile), code, stage, detail);
  const out = res.stdout + res.stderr;
  assert.equal(res.code, w.exitCode, `${profile} ${code}: exit code\n${out.slice(-800)}`);
  for (const line of w.message.split('\n')) assert.ok(out.includes(line), `${profile} ${code}: "${line}" not in the output\n${out.slice(-800)}`);
}

function rdesktop(port: number): Promise<CommandResult> {
  const home = mkdtempSync(join(tmpdir(), 'rdesktop-home-'));
  return runCommand('bash', ['-c', `echo yes | timeout 10 xvfb-run -a rdesktop -u alice -p 'S3cret!' 127.0.0.1:${port}`], { env: { HOME: home }, timeoutMs: 20_000 });
}

describe('xfreerdp 2.11 says what data/clients/freerdp.yaml says', () => {
  test('against rdpsec serve: RDP_NEG_FAILURE, TLS failure, a legacy request dropped, each CredSSP errorCode', async (t) => {
    if (!skipOrFail(t, 'xfreerdp')) return;
    const [w2019, hardened, tls10] = await Promise.all([ours(t, 'windows-2019'), ours(t, 'windows-hardened'), ours(t, 'windows-2008r2-tls10')]);
    expectWording(await runXfreerdp(hardened, { user: 'alice', password: 'S3cret!', args: ['/sec:tls'] }), 'freerdp-2-sec-tls', 'HYBRID_REQUIRED_BY_SERVER', 'x224');
    expectWording(await runXfreerdp(tls10, { user: 'alice', password: 'S3cret!', args: ['/sec:tls'] }), 'freerdp-2-sec-tls', 'TLS_HANDSHAKE_FAILED', 'tls');
    expectWording(await runXfreerdp(w2019, { user: 'alice', password: 'S3cret!', args: ['/sec:rdp'] }), 'freerdp-2-sec-rdp', 'TRANSPORT_CLOSED', 'x224');
    const logons: [string, string, string][] = [
      ['alice', 'wrong', 'STATUS_LOGON_FAILURE'],
      ['bob', 'S3cret!', 'STATUS_ACCOUNT_LOCKED_OUT'],
      ['carol', 'S3cret!', 'STATUS_ACCOUNT_DISABLED'],
      ['dave', 'S3cret!', 'STATUS_PASSWORD_EXPIRED'],
      ['erin', 'S3cret!', 'STATUS_PASSWORD_MUST_CHANGE'],
      ['frank', 'S3cret!', 'STATUS_ACCOUNT_RESTRICTION'],
      ['gina', 'S3cret!', 'STATUS_ACCOUNT_EXPIRED'],
    ];
    const runs = await Promise.all(logons.map(([user, password]) => runXfreerdp(w2019, { user, password, args: ['/sec:nla'] })));
    runs.forEach((res, i) => expectWording(res, 'freerdp-2-sec-nla', 'CREDSSP_LOGON_FAILED', 'credssp', logons[i]![2]));
  });

  test('against xrdp: a selection it refuses, a close after the MCS Connect Initial, the MAC failure', async (t) => {
    if (!skipOrFail(t, 'xfreerdp', 'xrdp')) return;
    const rdp = await startXrdp('rdp', 'high', undefined, { t });
    expectWording(await runXfreerdp(rdp.port, { args: ['/sec:tls'] }), 'freerdp-2-sec-tls', 'UNEXPECTED_PROTOCOL', 'x224');
    expectWording(await runXfreerdp(rdp.port, { args: ['/log-level:DEBUG'] }), 'freerdp-2', 'SERVER_DISCONNECTED', 'licensing');
    await rdp.stop();
    const tls = await startXrdp('tls', 'high', undefined, { t });
    expectWording(await runXfreerdp(tls.port, { args: ['/sec:rdp'] }), 'freerdp-2-sec-rdp', 'TRANSPORT_CLOSED', 'mcs');
    expectWording(await runXfreerdp(tls.port, { args: ['/sec:nla'] }), 'freerdp-2-sec-nla', 'UNEXPECTED_PROTOCOL', 'x224');
  });
});

describe('rdesktop 1.9 says what data/clients/rdesktop.yaml says', () => {
  test('against rdpsec serve with NLA required: no Kerberos ticket, then CredSSP required', async (t) => {
    if (!skipOrFail(t, 'rdesktop')) return;
    const res = await rdesktop(await ours(t, 'windows-2019'));
    expectWording(res, 'rdesktop-1.9', 'HYBRID_REQUIRED_BY_SERVER', 'x224');
    const first = clientFailureWording(clientProfile('rdesktop-1.9'), 'CREDSSP_NOT_ATTEMPTED', 'credssp');
    assert.ok((res.stdout + res.stderr).includes(first.message), 'the first attempt\'s line comes before');
  });

  test('against xrdp with crypt_level=fips: exit 76 and no error line', async (t) => {
    if (!skipOrFail(t, 'rdesktop', 'xrdp')) return;
    const fips = await startXrdp('rdp', 'fips', undefined, { t });
    const res = await rdesktop(fips.port);
    const w = clientFailureWording(clientProfile('rdesktop-1.9'), 'SERVER_DISCONNECTED', 'licensing');
    assert.equal(res.code, w.exitCode, (res.stdout + res.stderr).slice(-500));
    assert.match(res.stdout + res.stderr, /Connection established using plain RDP\./);
    assert.doesNotMatch(res.stdout + res.stderr, /Failed|ERROR/);
  });
});
