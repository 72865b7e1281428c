// The peer harness itself: unit tests of its parsers and gating (no peers needed), and one real
// smoke test that starts xrdp (negotiate/high) and a FreeRDP shadow server (tls) on loopback,
// connects, runs xfreerdp against xrdp, reads xrdp's security log line, and stops both.
import { describe, it, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import {
  INSTALL_HINT,
  parseKeyValues,
  parseXrdpLog,
  peerAvailable,
  readXrdpSecurityLog,
  runXfreerdp,
  skipOrFail,
  startShadow,
  startXrdp,
  tcpConnects,
  waitFor,
  type RunningPeer,
} from './harness.js';

/** Real lines from xrdp 0.9.21.1 logs (xrdp-serve, LogLevel DEBUG), one connection each. */
const XRDP_LOG = `[20261121-23:58:31] [INFO ] starting xrdp with pid 9476
[20261121-23:58:31] [INFO ] Socket 12: AF_INET connection received from 127.0.0.1 port 54938
[20261121-23:58:31] [ERROR] [ITU-T X.224] Connection Sequence: CR-TPDU (Connection Request) failed
[20261121-23:58:33] [INFO ] Socket 12: AF_INET connection received from 127.0.0.1 port 54950
[20261121-23:58:33] [INFO ] Security protocol: configured [SSL|RDP], requested [SSL|HYBRID|RDP], selected [SSL]
[20261121-23:58:33] [DEBUG] Using TLS security, and setting RDP security crypto to LEVEL_NONE and METHOD_NONE
[20261121-23:58:34] [INFO ] TLS connection established from 127.0.0.1 port 54950: TLSv1.3 with cipher TLS_AES_256_GCM_SHA384
[20261121-23:58:40] [INFO ] Security protocol: configured [RDP], requested [RDP], selected [RDP]
[20261121-23:58:40] [DEBUG] Client supports 40 bit encryption
[20261121-23:58:40] [DEBUG] Client supports 128 bit encryption
[20261121-23:58:40] [DEBUG] Client and server both support high encryption, using RDP 128-bit encryption.
[20261121-23:58:40] [INFO ] Non-TLS connection established from 127.0.0.1 port 53590: with security level : high
[20261121-23:58:40] [ERROR] MAC checksum error for non-FIPS PDU
[20261121-23:58:45] [ERROR] Server requires TLS for security, but the client did not request TLS.
[20261121-23:58:45] [INFO ] Security protocol: configured [SSL], requested [RDP], selected []
[20261121-23:58:50] [INFO ] Security protocol: configured [SSL|RDP], requested [HYBRID_EX|RDP], selected [RDP]
[20261121-23:58:50] [DEBUG] Client supports fips encryption
[20261121-23:58:50] [WARN ] Client and server do not both support the same encryption.
[20261121-23:58:51] [DEBUG] Client and server both support fips encryption, using RDP fips encryption.
not an xrdp line
`;

describe('peer harness', () => {
  it('parseXrdpLog extracts the security, TLS, non-TLS, connection and encryption lines', () => {
    const log = parseXrdpLog(XRDP_LOG);
    assert.equal(log.lines.length, 19);
    assert.deepEqual(
      log.security.map((s) => [s.configured, s.requested, s.selected]),
      [
        [['SSL', 'RDP'], ['SSL', 'HYBRID', 'RDP'], ['SSL']],
        [['RDP'], ['RDP'], ['RDP']],
        [['SSL'], ['RDP'], []],
        [['SSL', 'RDP'], ['HYBRID_EX', 'RDP'], ['RDP']],
      ],
    );
    assert.equal(log.security[0]!.time, '20261121-23:58:33');
    assert.equal(log.security[0]!.level, 'INFO');
    assert.equal(log.security[0]!.lineNo, 5);
    assert.deepEqual(
      log.tls.map(({ address, port, version, cipher }) => ({ address, port, version, cipher })),
      [{ address: '127.0.0.1', port: 54950, version: 'TLSv1.3', cipher: 'TLS_AES_256_GCM_SHA384' }],
    );
    assert.deepEqual(log.nonTls.map((n) => [n.port, n.securityLevel]), [[53590, 'high']]);
    assert.deepEqual(log.connections.map((c) => c.port), [54938, 54950]);
    assert.deepEqual(
      log.encryption.map((e) => [e.kind, e.offered ?? e.cryptLevel, e.method]),
      [
        ['client-supports', '40 bit', undefined],
        ['client-supports', '128 bit', undefined],
        ['agreed', 'high', '128-bit'],
        ['client-supports', 'fips', undefined],
        ['no-common', undefined, undefined],
        ['agreed', 'fips', 'fips'],
      ],
    );
    assert.equal(log.errors.length, 3);
    assert.equal(log.warnings.length, 1);
  });

  it('parseKeyValues reads the serve scripts’ output', () => {
    assert.deepEqual(parseKeyValues('dir=/tmp/x\npid=12\nnoise\npassword=S3cret!=x\n'), { dir: '/tmp/x', pid: '12', password: 'S3cret!=x' });
  });

  it('skipOrFail skips, or fails with RDPSEC_REQUIRE_PEERS=1, naming the peer and the install command', () => {
    const saved = { PATH: process.env.PATH, req: process.env.RDPSEC_REQUIRE_PEERS };
    const skipped: string[] = [];
    const fake = { skip: (m?: string) => skipped.push(m ?? '') } as unknown as TestContext;
    try {
      process.env.PATH = '/nonexistent-rdpsec-path';
      assert.equal(peerAvailable('nmap'), false);
      delete process.env.RDPSEC_REQUIRE_PEERS;
      assert.equal(skipOrFail(fake, 'nmap'), false);
      assert.equal(skipped.length, 1);
      assert.match(skipped[0]!, /peer "nmap" is not available \(nmap not found on PATH\)/);
      assert.ok(skipped[0]!.includes(INSTALL_HINT));
      process.env.RDPSEC_REQUIRE_PEERS = '1';
      assert.throws(() => skipOrFail(fake, 'nmap'), (e: Error) => /RDPSEC_REQUIRE_PEERS=1/.test(e.message) && e.message.includes(INSTALL_HINT));
    } finally {
      process.env.PATH = saved.PATH;
      if (saved.req === undefined) delete process.env.RDPSEC_REQUIRE_PEERS;
      else process.env.RDPSEC_REQUIRE_PEERS = saved.req;
    }
  });

  it('smoke: xrdp (negotiate/high) + shadow (tls) start, accept TCP, xfreerdp negotiates TLS, both stop', { timeout: 120_000 }, async (t) => {
    if (!skipOrFail(t, 'xrdp', 'shadow', 'xfreerdp')) return;
    // t.after (registered by start*) stops them even if an assertion below fails
    const [xrdp, shadow] = await Promise.all([startXrdp('negotiate', 'high', undefined, { t }), startShadow('tls', undefined, { t })]);
    assert.notEqual(xrdp.port, shadow.port);
    for (const peer of [xrdp, shadow]) {
      assert.equal(peer.host, '127.0.0.1');
      assert.ok(peer.pid > 1);
      assert.ok(existsSync(peer.dir) && existsSync(peer.log) && existsSync(peer.cert), `${peer.kind}: dir/log/cert`);
      assert.equal(await tcpConnects(peer.port), true, `${peer.kind}: TCP connect to ${peer.port}`);
    }
    assert.equal(shadow.info.mode, 'tls');
    assert.match(shadow.info.display ?? '', /^:\d+$/);

    const client = await runXfreerdp(xrdp.port);
    assert.equal(client.code, 0, `xfreerdp exit ${client.code}: ${client.stderr.slice(-2000)}`);
    const log = await waitFor(() => {
      const l = readXrdpSecurityLog(xrdp.log);
      return l.security.length > 0 && l.tls.length > 0 ? l : null;
    }, 10_000);
    assert.equal(log.security.length, 1, 'one negotiation (the readiness probe sends no CR)');
    const sec = log.security[0]!;
    assert.deepEqual(sec.configured, ['SSL', 'RDP']);
    assert.deepEqual(sec.requested, ['SSL', 'HYBRID', 'RDP']); // xfreerdp default req=0x3
    assert.deepEqual(sec.selected, ['SSL']);
    assert.match(log.tls[0]!.version, /^TLSv1\.[23]$/);
    assert.ok(log.tls[0]!.cipher.length > 0);
    assert.ok(log.connections.length >= 2, 'readiness probe + xfreerdp');

    await stopAndCheck(xrdp);
    await stopAndCheck(shadow);
  });
});

/** Running and not a zombie (the servers are reparented when the serve script exits). */
function pidAlive(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const state = stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3);
    return state !== 'Z' && state !== 'X';
  } catch {
    return false;
  }
}

async function stopAndCheck(peer: RunningPeer): Promise<void> {
  await peer.stop();
  await peer.stop(); // idempotent
  assert.equal(existsSync(peer.dir), false, `${peer.kind}: dir removed`);
  await waitFor(() => !pidAlive(peer.pid), 5000).catch(() => assert.fail(`${peer.kind}: pid ${peer.pid} still alive`));
  assert.equal(await tcpConnects(peer.port, 1000), false, `${peer.kind}: port ${peer.port} closed`);
}
