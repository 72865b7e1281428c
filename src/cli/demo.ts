import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { accessSync, constants, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, connect } from 'node:net';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { EXIT, probeAndReport } from './probe-command.js';
import { wantColor } from '../report/terminal.js';

/**
 * The main job with no arguments (`npm start`): start a real RDP server on loopback and probe
 * it. Until rdpsec has its own server (`serve`), that server is xrdp, set up as Debian ships it
 * (security_layer=negotiate, crypt_level=high) in a throwaway directory.
 */
const XRDP_RSA_KEYS = '/etc/xrdp/rsakeys.ini';

function onPath(cmd: string): string | null {
  for (const dir of (process.env.PATH ?? '').split(delimiter)) {
    const p = join(dir, cmd);
    try {
      accessSync(p, constants.X_OK);
      return p;
    } catch {
      /* not here */
    }
  }
  for (const dir of ['/usr/sbin', '/sbin']) {
    try {
      accessSync(join(dir, cmd), constants.X_OK);
      return join(dir, cmd);
    } catch {
      /* not here */
    }
  }
  return null;
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const a = s.address();
      s.close(() => (a && typeof a === 'object' ? resolve(a.port) : reject(new Error('no port'))));
    });
  });
}

async function waitForPort(port: number, child: ChildProcess, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) return false;
    const ok = await new Promise<boolean>((resolve) => {
      const c = connect({ host: '127.0.0.1', port });
      const done = (v: boolean) => {
        c.destroy();
        resolve(v);
      };
      c.once('connect', () => done(true));
      c.once('error', () => done(false));
      c.setTimeout(500, () => done(false));
    });
    if (ok) return true;
    await new Promise((r) => setTimeout(r, 100));
  }
  return false;
}

function noServer(why: string): number {
  process.stderr.write(
    `rdpsec: no RDP server to probe: ${why}.\n` +
      'Install a real one on this machine (Debian/Ubuntu: `sudo apt-get install xrdp`, or the whole test lab:\n' +
      '`bash ../shared/peers/install-peers`), run this as a user who can read /etc/xrdp/rsakeys.ini,\n' +
      'or probe a server of yours: `node dist/src/cli/main.js probe HOST[:PORT]`.\n',
  );
  return EXIT.UNREACHABLE;
}

export async function runDemo(opts: { json: boolean }): Promise<number> {
  const xrdp = onPath('xrdp');
  if (!xrdp) return noServer('xrdp is not installed');
  try {
    accessSync(XRDP_RSA_KEYS, constants.R_OK);
  } catch {
    return noServer(`${XRDP_RSA_KEYS} is missing or not readable`);
  }
  if (!onPath('openssl')) return noServer('openssl is not installed (needed for a certificate)');
  const dir = mkdtempSync(join(tmpdir(), 'rdpsec-demo-'));
  let child: ChildProcess | undefined;
  try {
    const cert = spawnSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '365', '-subj', '/CN=rdpsec-demo', '-keyout', join(dir, 'key.pem'), '-out', join(dir, 'cert.pem')], { stdio: 'ignore' });
    if (cert.status !== 0) return noServer('openssl could not make a certificate');
    const port = await freePort();
    writeFileSync(
      join(dir, 'xrdp.ini'),
      [
        '[Globals]',
        'ini_version=1',
        'fork=true',
        `port=tcp://127.0.0.1:${port}`,
        'security_layer=negotiate',
        'crypt_level=high',
        `certificate=${join(dir, 'cert.pem')}`,
        `key_file=${join(dir, 'key.pem')}`,
        'ssl_protocols=TLSv1.2, TLSv1.3',
        '[Logging]',
        `LogFile=${join(dir, 'xrdp.log')}`,
        'LogLevel=INFO',
        'EnableSyslog=false',
        '[Xorg]',
        'name=Xorg',
        'lib=libxup.so',
        'username=ask',
        'password=ask',
        'ip=127.0.0.1',
        'port=-1',
        'code=20',
        '',
      ].join('\n'),
    );
    child = spawn(xrdp, ['--nodaemon', '--config', join(dir, 'xrdp.ini')], { detached: true, stdio: 'ignore' });
    child.on('error', () => {});
    if (!(await waitForPort(port, child, 10_000))) return noServer(`xrdp did not start (see ${join(dir, 'xrdp.log')})`);
    process.stderr.write(`rdpsec: started xrdp (Debian defaults: security_layer=negotiate, crypt_level=high) on 127.0.0.1:${port}; probing it\n`);
    return await probeAndReport('127.0.0.1', port, { timeoutMs: 5000, parallel: 4, json: opts.json, color: wantColor(process.stdout) });
  } finally {
    if (child?.pid && child.exitCode === null) {
      const exited = new Promise((r) => child!.once('exit', r));
      try {
        process.kill(-child.pid, 'SIGTERM'); // xrdp leads its group; its per-connection children go too
      } catch {
        /* already gone */
      }
      await Promise.race([exited, new Promise((r) => setTimeout(r, 3000).unref())]);
    }
    rmSync(dir, { recursive: true, force: true });
  }
}
