/**
 * The `rdpsec` command line as a user runs it (`node dist/src/cli/main.js ...`): help, usage
 * errors (exit 2, with a message that names the bad value), an unreachable target (exit 3); and
 * the target parser. Only loopback is ever contacted.
 */
import assert from 'node:assert/strict';
import net from 'node:net';
import { describe, it } from 'node:test';
import { parsePort, parseTarget, UsageError } from '../../src/cli/target.js';
import { EXIT, parseUser } from '../../src/cli/probe-command.js';
import { generateSelfSignedCertificate } from '../../src/crypto/self-signed.js';
import { preset } from '../../src/policy/presets.js';
import { parseUsersFile } from '../../src/policy/users-file.js';
import { serve } from '../../src/serve/server.js';
import { closedPort } from '../transport/helpers.js';

import { cli } from './run-cli.js';

/** True when nothing listens on 127.0.0.1:port (the connection is refused). */
function refused(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.connect({ host: '127.0.0.1', port });
    s.once('connect', () => {
      s.destroy();
      resolve(false);
    });
    s.once('error', () => resolve(true));
  });
}

describe('rdpsec CLI', { concurrency: true }, () => {
  it('no arguments: help on stderr that lists probe, exit 0', async () => {
    const r = await cli([]);
    assert.equal(r.code, EXIT.OK, r.stderr);
    assert.match(r.stdout + r.stderr, /Usage: rdpsec/);
    assert.match(r.stdout + r.stderr, /^\s+probe \[options\] <target>/m);
  });

  it('--help: help on stdout that lists probe and demo, exit 0', async () => {
    const r = await cli(['--help']);
    assert.equal(r.code, EXIT.OK, r.stderr);
    assert.match(r.stdout, /^\s+probe \[options\] <target>\s+map one RDP server/m);
    assert.match(r.stdout, /^\s+demo /m);
  });

  it('probe --help lists its options, exit 0', async () => {
    const r = await cli(['probe', '--help']);
    assert.equal(r.code, EXIT.OK);
    for (const o of ['--port', '--timeout', '--parallel', '--json', '--no-color']) assert.ok(r.stdout.includes(o), `no ${o}`);
  });

  it('probe without a target: exit 2, says what is missing', async () => {
    const r = await cli(['probe']);
    assert.equal(r.code, EXIT.USAGE);
    assert.match(r.stderr, /missing required argument 'target'/);
    assert.equal(r.stdout, '');
  });

  it('probe 127.0.0.1:99999: exit 2, the message names the port', async () => {
    const r = await cli(['probe', '127.0.0.1:99999']);
    assert.equal(r.code, EXIT.USAGE);
    assert.match(r.stderr, /^rdpsec: port 99999 out of range 1-65535$/m);
    assert.equal(r.stdout, '');
  });

  it('probe host --timeout abc: exit 2, names the option and the value', async () => {
    const r = await cli(['probe', 'host', '--timeout', 'abc']);
    assert.equal(r.code, EXIT.USAGE);
    assert.match(r.stderr, /invalid --timeout "abc"/);
  });

  it('bad --port and --parallel values: exit 2', async () => {
    for (const args of [['--port', '0'], ['--port', 'x'], ['--parallel', '0'], ['--parallel', '2.5'], ['--timeout', '-1'], ['--timeout', '301']]) {
      const r = await cli(['probe', '127.0.0.1', ...args]);
      assert.equal(r.code, EXIT.USAGE, `${args.join(' ')}: ${r.stderr}`);
      assert.match(r.stderr, /^rdpsec: /m, args.join(' '));
    }
  });

  it('an unknown command or option: exit 2', async () => {
    assert.equal((await cli(['frobnicate'])).code, EXIT.USAGE);
    assert.equal((await cli(['probe', '127.0.0.1', '--frobnicate'])).code, EXIT.USAGE);
  });

  it('probe 127.0.0.1:1 --timeout 1 (nothing listens): exit 3, the report says unreachable', async () => {
    // port 1 (tcpmux) is closed on any sane machine; fall back to a port we know is closed
    const port = (await refused(1)) ? 1 : await closedPort();
    const r = await cli(['probe', `127.0.0.1:${port}`, '--timeout', '1']);
    assert.equal(r.code, EXIT.UNREACHABLE, r.stderr);
    assert.doesNotMatch(r.stdout, /\x1b\[/, 'NO_COLOR');
    assert.match(r.stdout, new RegExp(`^rdpsec probe 127\\.0\\.0\\.1:${port} `));
    assert.match(r.stdout, /unreachable: no connection got an answer/);
    assert.match(r.stdout, /ECONNREFUSED/);
  });

  it('--port overrides the port in TARGET', async () => {
    const port = await closedPort();
    const r = await cli(['probe', '127.0.0.1:3389', '--port', String(port), '--json', '--timeout', '1']);
    assert.equal(r.code, EXIT.UNREACHABLE, r.stderr);
    assert.deepEqual((JSON.parse(r.stdout) as { target: unknown }).target, { host: '127.0.0.1', port });
  });
});

describe('probe --user (CredSSP logon; the password never on the command line)', () => {
  const NT = '10b2f1961375b20126508c2267862bf0'; // S3cret!
  async function server() {
    const tls = await generateSelfSignedCertificate('cli-user', 2);
    const [l] = await serve({ host: '127.0.0.1', ports: [0], policy: preset('windows-2019'), tls, users: parseUsersFile(`alice::${NT}\n`), onConnection: () => {} });
    return l!;
  }

  it('reads the password from RDPSEC_PASSWORD and reports the logon in the JSON', async (t) => {
    const l = await server();
    t.after(() => l.close());
    const ok = await cli(['probe', `127.0.0.1:${l.port}`, '--user', 'alice', '--json'], 30_000, { RDPSEC_PASSWORD: 'S3cret!' });
    assert.equal(ok.code, 0, ok.stderr);
    const p = JSON.parse(ok.stdout);
    assert.equal(p.credssp.credentials.accepted, true);
    assert.equal(p.credssp.credentials.user, 'alice');
    assert.ok(!ok.stdout.includes('S3cret!'));
    const bad = await cli(['probe', `127.0.0.1:${l.port}`, '--user', 'WORKGROUP\\alice', '--password-env', 'MY_PW'], 30_000, { MY_PW: 'nope' });
    assert.equal(bad.code, 0, bad.stderr);
    assert.match(bad.stdout, /WORKGROUP\\alice: refused \(STATUS_LOGON_FAILURE\)/);
  });

  it('without the variable and without a terminal: exit 2, naming the variable', async () => {
    const r = await cli(['probe', '127.0.0.1:1', '--user', 'alice'], 10_000, { RDPSEC_PASSWORD: undefined });
    assert.equal(r.code, EXIT.USAGE);
    assert.match(r.stderr, /RDPSEC_PASSWORD/);
  });

  it('parseUser: DOMAIN\\user, user@domain, user', () => {
    assert.deepEqual(parseUser('CORP\\bob'), { user: 'bob', domain: 'CORP' });
    assert.deepEqual(parseUser('bob@corp.example'), { user: 'bob', domain: 'corp.example' });
    assert.deepEqual(parseUser('bob'), { user: 'bob', domain: '' });
  });
});

describe('parseTarget', () => {
  it('HOST, HOST:PORT, IPv4', () => {
    assert.deepEqual(parseTarget('rdp.example.com'), { host: 'rdp.example.com', port: 3389 });
    assert.deepEqual(parseTarget('rdp.example.com:3390'), { host: 'rdp.example.com', port: 3390 });
    assert.deepEqual(parseTarget('10.0.0.5:443'), { host: '10.0.0.5', port: 443 });
    assert.deepEqual(parseTarget('  host-1  '), { host: 'host-1', port: 3389 });
    assert.deepEqual(parseTarget('host', 33891), { host: 'host', port: 33891 });
  });

  it('IPv6: [::1]:3390, [::1], a bare ::1 and fe80::1%eth0', () => {
    assert.deepEqual(parseTarget('[::1]:3390'), { host: '::1', port: 3390 });
    assert.deepEqual(parseTarget('[::1]'), { host: '::1', port: 3389 });
    assert.deepEqual(parseTarget('::1'), { host: '::1', port: 3389 });
    assert.deepEqual(parseTarget('2001:db8::5'), { host: '2001:db8::5', port: 3389 });
    assert.deepEqual(parseTarget('[2001:db8::5]:65535'), { host: '2001:db8::5', port: 65535 });
    assert.deepEqual(parseTarget('fe80::1%eth0'), { host: 'fe80::1%eth0', port: 3389 });
  });

  it('bad ports and empty input are UsageErrors that name the value', () => {
    const cases: [string, RegExp][] = [
      ['', /empty target/],
      ['   ', /empty target/],
      ['host:0', /port 0 out of range/],
      ['host:65536', /port 65536 out of range/],
      ['host:99999', /port 99999 out of range/],
      ['host:abc', /invalid port "abc"/],
      ['host:', /invalid port ""/],
      [':3389', /missing host in ":3389"/],
      ['[::1]:0', /port 0 out of range/],
    ];
    for (const [text, re] of cases) {
      assert.throws(() => parseTarget(text), (e: unknown) => e instanceof UsageError && re.test(e.message), JSON.stringify(text));
    }
  });

  it('a bad host without a port is a UsageError', () => {
    for (const text of ['ho st', 'host_name', 'host/path', 'user@host']) {
      assert.throws(() => parseTarget(text), (e: unknown) => e instanceof UsageError && e.message.includes(text), text);
    }
  });

  it('a bad host WITH a port is a UsageError too', () => {
    // parseTarget checks the host's characters only when no port is given
    for (const text of ['ho st:3389', 'host_name:3389', 'user@host:3389']) {
      assert.throws(() => parseTarget(text), UsageError, text);
    }
  });

  it('two or more colons are accepted only when they make an IPv6 address', () => {
    // anything with two colons is taken as a bare IPv6 address today, so a URL or a typo
    // reaches DNS and ends as "unreachable" (exit 3) instead of a usage error (exit 2)
    for (const text of ['rdp://host:3389', 'host:3389:1', 'a:b:c', '[::1]:x', '[not-an-ip]:3389']) {
      assert.throws(() => parseTarget(text), UsageError, text);
    }
  });

  it('parsePort', () => {
    assert.equal(parsePort('1'), 1);
    assert.equal(parsePort('65535'), 65535);
    assert.equal(parsePort('03389'), 3389);
    for (const bad of ['0', '65536', '-1', '1.5', ' 1', '123456', '']) assert.throws(() => parsePort(bad), UsageError, bad);
  });
});
