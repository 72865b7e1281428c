/**
 * `doctor` predicts what a real client does (issue 6): for every xrdp and FreeRDP shadow
 * configuration of the lab and every serve preset, `doctor --client freerdp-2` (probe, inferred
 * policy, simulation) must give exactly the exit code and ERRCONNECT / ERRINFO name that the real
 * xfreerdp 2.11 gets from that server, and `doctor --client rdesktop-1.9` exactly what the real
 * rdesktop 1.9 does. Nothing is compared with a table: the prediction comes from our connector
 * against our acceptor under the policy inferred from the probe, the truth from the real client.
 *
 * Connected runs: xfreerdp with +auth-only exits 0; rdesktop stays in its session until
 * `timeout` kills it (124), except with our own server, which ends a session as soon as it is
 * active (Set Error Info ERRINFO_RPC_INITIATED_DISCONNECT, issue 4): rdesktop then prints
 * "disconnect: Administrator initiated disconnect." and exits 1.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test, type TestContext } from 'node:test';
import { clientProfile } from '../../src/connector/client-profiles.js';
import { generateSelfSignedCertificate } from '../../src/crypto/self-signed.js';
import { doctor, type DoctorResult } from '../../src/diagnose/doctor.js';
import { preset, presetNames } from '../../src/policy/presets.js';
import { parseUsersFile } from '../../src/policy/users-file.js';
import { serve } from '../../src/serve/server.js';
import { runCommand, runXfreerdp, skipOrFail, startShadow, startXrdp, type CommandResult, type ShadowMode, type XrdpCryptLevel, type XrdpSecurityLayer } from './harness.js';

const USER = 'alice';
const PASSWORD = 'S3cret!';
const ALICE = `alice::10b2f1961375b20126508c2267862bf0\n`; // NT hash of S3cret!
/** rdesktop's run: a session it keeps is killed by `timeout` after this many seconds */
const RDESKTOP_SECONDS = 8;

interface Server {
  name: string;
  port: number;
  stop?: () => Promise<void>;
  /** rdpsec serve: the session ends once active */
  ours?: boolean;
}

interface Prediction {
  exitCode: number;
  names: string[];
}

/** What doctor says the client's process will do. */
function predicted(r: DoctorResult, connected: Prediction): Prediction {
  if (r.connects) return connected;
  const f = r.failure!;
  return { exitCode: f.exitCode ?? -1, names: f.clientCode && /^ERR(CONNECT|INFO)_/.test(f.clientCode) ? [f.clientCode] : [] };
}

function rdesktop(port: number): Promise<CommandResult> {
  const home = mkdtempSync(join(tmpdir(), 'rdesktop-home-'));
  return runCommand('bash', ['-c', `echo yes | timeout ${RDESKTOP_SECONDS} xvfb-run -a rdesktop -u ${USER} -p '${PASSWORD}' 127.0.0.1:${port}`], {
    env: { HOME: home },
    timeoutMs: (RDESKTOP_SECONDS + 15) * 1000,
  }).finally(() => rmSync(home, { recursive: true, force: true }));
}

async function check(server: Server, clients: ('freerdp-2' | 'rdesktop-1.9')[]): Promise<string[]> {
  const problems: string[] = [];
  for (const client of clients) {
    const { result } = await doctor({ host: '127.0.0.1', port: server.port, client: clientProfile(client), timeoutMs: 5000, fixes: false });
    const real = client === 'freerdp-2' ? await runXfreerdp(server.port, { user: USER, password: PASSWORD }) : await rdesktop(server.port);
    const connected: Prediction =
      client === 'freerdp-2' ? { exitCode: 0, names: [] } : server.ours ? { exitCode: 1, names: ['Administrator initiated disconnect'] } : { exitCode: 124, names: [] };
    const want = predicted(result, connected);
    const out = real.stdout + real.stderr;
    const saw = `${server.name} x ${client}: doctor says ${result.connects ? `connects (${result.negotiated?.protocol})` : `${result.failure?.code} at ${result.failure?.stage}`} -> exit ${want.exitCode} ${want.names.join(' ')}; the real client exited ${real.code}`;
    if (real.code !== want.exitCode) problems.push(`${saw}\n${out.slice(-600)}`);
    for (const n of want.names) if (!out.includes(n)) problems.push(`${saw}, without ${n} in its output\n${out.slice(-600)}`);
  }
  return problems;
}

async function xrdpServer(t: TestContext, layer: XrdpSecurityLayer, crypt: XrdpCryptLevel): Promise<Server> {
  const p = await startXrdp(layer, crypt, undefined, { t });
  return { name: `xrdp ${layer}/${crypt}`, port: p.port, stop: () => p.stop() };
}

async function shadowServer(t: TestContext, mode: ShadowMode): Promise<Server> {
  const p = await startShadow(mode, undefined, { t });
  return { name: `shadow ${mode}`, port: p.port, stop: () => p.stop() };
}

describe('doctor predicts the real clients', () => {
  test('xrdp, every security_layer (and every crypt_level with Standard RDP Security)', async (t) => {
    if (!skipOrFail(t, 'xrdp', 'xfreerdp', 'rdesktop')) return;
    const configs: [XrdpSecurityLayer, XrdpCryptLevel][] = [
      ['rdp', 'none'],
      ['rdp', 'low'],
      ['rdp', 'medium'],
      ['rdp', 'high'],
      ['rdp', 'fips'],
      ['tls', 'high'],
      ['negotiate', 'high'],
    ];
    const problems: string[] = [];
    for (const [layer, crypt] of configs) {
      const s = await xrdpServer(t, layer, crypt);
      problems.push(...(await check(s, ['freerdp-2', 'rdesktop-1.9'])));
      await s.stop?.();
    }
    assert.deepEqual(problems, []);
  });

  test('the FreeRDP shadow server in each mode', async (t) => {
    if (!skipOrFail(t, 'shadow', 'xfreerdp', 'rdesktop')) return;
    const modes: ShadowMode[] = ['nla', 'tls', 'rdp', 'negotiate', 'default', 'ext'];
    const problems: string[] = [];
    for (const mode of modes) {
      const s = await shadowServer(t, mode);
      problems.push(...(await check(s, ['freerdp-2', 'rdesktop-1.9'])));
      await s.stop?.();
    }
    assert.deepEqual(problems, []);
  });

  test('rdpsec serve with each preset', async (t) => {
    if (!skipOrFail(t, 'xfreerdp', 'rdesktop')) return;
    const tls = await generateSelfSignedCertificate('doctor-peers', 2);
    const problems: string[] = [];
    for (const name of presetNames()) {
      const [l] = await serve({ host: '127.0.0.1', ports: [0], policy: preset(name), tls, users: parseUsersFile(ALICE), onConnection: () => undefined });
      try {
        problems.push(...(await check({ name: `serve ${name}`, port: l!.port, ours: true }, ['freerdp-2', 'rdesktop-1.9'])));
      } finally {
        await l!.close();
      }
    }
    assert.deepEqual(problems, []);
  });
});
