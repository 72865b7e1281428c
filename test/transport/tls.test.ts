import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import net from 'node:net';
import { before, describe, it } from 'node:test';
import tls from 'node:tls';
import { TPKT_HINT } from '../../src/pdu/tpkt.js';
import { TransportError } from '../../src/transport/errors.js';
import { RdpSocket, type TlsClientOptions, type TlsInfo } from '../../src/transport/socket.js';
import { makeSelfSignedCert, readExactly, startServer, tpkt, withClient } from './helpers.js';

let key: Buffer;
let cert: Buffer;
let certDer: Buffer;
let rsaPublicKeyDer: Buffer;

before(() => {
  ({ key, cert } = makeSelfSignedCert());
  const x509 = new X509Certificate(cert);
  certDer = x509.raw;
  // for RSA, the SubjectPublicKey BIT STRING holds exactly the PKCS#1 RSAPublicKey
  rsaPublicKeyDer = x509.publicKey.export({ type: 'pkcs1', format: 'der' });
});

interface TlsServer {
  port: number;
  close(): Promise<void>;
}

/** A TLS server on loopback that answers each 8-byte TPKT with a 12-byte one. */
async function startTlsServer(options: tls.TlsOptions): Promise<TlsServer> {
  const sockets = new Set<tls.TLSSocket>();
  const server = tls.createServer({ key, cert, ...options }, (s) => {
    sockets.add(s);
    s.on('error', () => {});
    s.on('close', () => sockets.delete(s));
    void readExactly(s, 8).then(
      () => s.write(tpkt(12)),
      () => {},
    );
  });
  server.on('tlsClientError', () => {});
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  return {
    port: (server.address() as net.AddressInfo).port,
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}

async function withTls(
  serverOptions: tls.TlsOptions,
  body: (rdp: RdpSocket) => Promise<void>,
): Promise<void> {
  return withClient(await startTlsServer(serverOptions), body);
}

async function tlsFailure(p: Promise<unknown>, kind: TransportError['kind'] = 'tls'): Promise<TransportError> {
  try {
    await p;
  } catch (err) {
    assert.ok(err instanceof TransportError, `expected a TransportError, got ${String(err)}`);
    assert.equal(err.kind, kind, err.message);
    return err;
  }
  assert.fail('the handshake succeeded');
}

describe('RdpSocket.upgradeToTls (h)', () => {
  const cases: { name: string; server: tls.TlsOptions; client: Partial<TlsClientOptions>; version: string }[] = [
    { name: 'TLS 1.3', server: {}, client: { maxVersion: 'TLSv1.3' }, version: 'TLSv1.3' },
    { name: 'TLS 1.2', server: {}, client: { maxVersion: 'TLSv1.2' }, version: 'TLSv1.2' },
    {
      name: 'TLS 1.0',
      server: { minVersion: 'TLSv1', maxVersion: 'TLSv1', ciphers: 'DEFAULT:@SECLEVEL=0' },
      client: { maxVersion: 'TLSv1' },
      version: 'TLSv1',
    },
    {
      name: 'defaults down to TLS 1.0 against a TLS 1.0-only server',
      server: { minVersion: 'TLSv1', maxVersion: 'TLSv1', ciphers: 'DEFAULT:@SECLEVEL=0' },
      client: {},
      version: 'TLSv1',
    },
  ];
  for (const c of cases) {
    it(c.name, async () => {
      await withTls(c.server, async (rdp) => {
        const info = await rdp.upgradeToTls({ timeoutMs: 3000, servername: '127.0.0.1', ...c.client });
        assert.equal(info.version, c.version);
        assert.ok(info.cipher.name.length > 0);
        assert.match(info.cipher.standardName, /^TLS_/);
        assert.equal(info.peerCertificateChain.length, 1);
        assert.deepEqual(info.peerCertificateChain[0], certDer);
        assert.equal(info.serverPublicKey.length, 270);
        assert.deepEqual(info.serverPublicKey, rsaPublicKeyDer);
        assert.equal(rdp.tls, info);
        // framing goes on inside TLS
        await rdp.write(tpkt(8));
        assert.deepEqual(await rdp.readPdu(TPKT_HINT, { timeoutMs: 2000 }), tpkt(12));
        await rdp.close();
      });
    });
  }
});

describe('RdpSocket.upgradeToTls failures', () => {
  it('(i) forcing TLS 1.3 against a TLS 1.2-only server is a tls error with a reason', async () => {
    await withTls({ maxVersion: 'TLSv1.2' }, async (rdp) => {
      const err = await tlsFailure(rdp.upgradeToTls({ timeoutMs: 3000, minVersion: 'TLSv1.3' }));
      assert.equal(err.phase, 'tls');
      assert.match(err.reason ?? '', /protocol version/);
      assert.match(err.message, /^tls: tls handshake failed: /);
      // the socket is dead afterwards
      await tlsFailure(rdp.readPdu(TPKT_HINT, { timeoutMs: 100 }), 'tls');
    });
  });

  it('(j) a server that sends garbage is a tls error', async () => {
    const server = await startServer((s) => s.write(Buffer.from('HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n')));
    try {
      const rdp = await RdpSocket.connect('127.0.0.1', server.port, { timeoutMs: 2000 });
      const err = await tlsFailure(rdp.upgradeToTls({ timeoutMs: 3000 }));
      assert.ok(err.reason, 'has a reason');
      assert.match(err.reason!, /wrong version number|packet length too long|record layer failure/);
      rdp.destroy();
    } finally {
      await server.close();
    }
  });

  it('a server that closes on the ClientHello is a tls error keeping the OS code', async () => {
    const server = await startServer((s) => s.once('data', () => s.end()));
    try {
      const rdp = await RdpSocket.connect('127.0.0.1', server.port, { timeoutMs: 2000 });
      const err = await tlsFailure(rdp.upgradeToTls({ timeoutMs: 3000 }));
      assert.equal(err.reason, 'connection closed or reset during handshake');
      assert.equal(err.code, 'ECONNRESET');
    } finally {
      await server.close();
    }
  });

  it('a server that never answers the ClientHello times out', async () => {
    const server = await startServer(() => {});
    try {
      const rdp = await RdpSocket.connect('127.0.0.1', server.port, { timeoutMs: 2000 });
      const t0 = Date.now();
      await tlsFailure(rdp.upgradeToTls({ timeoutMs: 100 }), 'timeout');
      assert.ok(Date.now() - t0 < 1000);
    } finally {
      await server.close();
    }
  });

  it('bytes received before the handshake are an error', async () => {
    const server = await startServer((s) => s.write(Buffer.concat([tpkt(11), Buffer.from([0x16, 3, 1])])));
    try {
      const rdp = await RdpSocket.connect('127.0.0.1', server.port, { timeoutMs: 2000 });
      await rdp.readPdu(TPKT_HINT, { timeoutMs: 2000 });
      await tlsFailure(rdp.upgradeToTls({ timeoutMs: 1000 }), 'malformed');
      rdp.destroy();
    } finally {
      await server.close();
    }
  });
});

describe('RdpSocket.upgradeToTlsServer', () => {
  it('accepts a client handshake after an X.224-like exchange', async () => {
    let serverSide!: (r: RdpSocket) => void;
    const accepted = new Promise<RdpSocket>((r) => (serverSide = r));
    const server = await startServer((s) => serverSide(RdpSocket.fromSocket(s)));
    let client: tls.TLSSocket | undefined;
    const raw = net.connect(server.port, '127.0.0.1');
    raw.on('error', () => {});
    try {
      const rdp = await accepted;
      raw.write(tpkt(19)); // the "connection request"
      assert.deepEqual(await rdp.readPdu(TPKT_HINT, { timeoutMs: 2000 }), tpkt(19));
      await rdp.write(tpkt(19, 0xcc)); // the "connection confirm"
      assert.deepEqual(await readExactly(raw, 19), tpkt(19, 0xcc));
      // the client starts TLS at once: its ClientHello may arrive before the server upgrades
      client = tls.connect({ socket: raw, rejectUnauthorized: false });
      client.on('error', () => {});
      const clientUp = new Promise<void>((r) => client!.once('secureConnect', () => r()));
      const info = await rdp.upgradeToTlsServer({ timeoutMs: 3000, key, cert });
      await clientUp;
      assert.equal(info.version, 'TLSv1.3');
      assert.deepEqual(info.peerCertificateChain, []);
      assert.deepEqual(info.serverPublicKey, rsaPublicKeyDer);
      assert.equal(info.ephemeralKey, null);
      client.write(tpkt(8));
      assert.deepEqual(await rdp.readPdu(TPKT_HINT, { timeoutMs: 2000 }), tpkt(8));
      await rdp.close();
    } finally {
      client?.destroy();
      raw.destroy();
      await server.close();
    }
  });

  it('a second connection with the same options gets the same key from the cache, in a buffer of its own', async () => {
    const opts = { timeoutMs: 3000, key, cert };
    const infos: TlsInfo[] = [];
    for (let i = 0; i < 2; i++) {
      let serverSide!: (r: RdpSocket) => void;
      const accepted = new Promise<RdpSocket>((r) => (serverSide = r));
      const server = await startServer((s) => serverSide(RdpSocket.fromSocket(s)));
      const raw = net.connect(server.port, '127.0.0.1');
      raw.on('error', () => {});
      const client = tls.connect({ socket: raw, rejectUnauthorized: false });
      client.on('error', () => {});
      try {
        const rdp = await accepted;
        const info = await rdp.upgradeToTlsServer(opts);
        // a connection that changes its copy changes neither the cache nor anyone else's
        if (i === 0) info.serverPublicKey[0] = info.serverPublicKey[0]! ^ 0xff;
        infos.push(info);
        rdp.destroy();
      } finally {
        client.destroy();
        raw.destroy();
        await server.close();
      }
    }
    const [first, second] = infos as [TlsInfo, TlsInfo];
    assert.deepEqual(second.serverPublicKey, rsaPublicKeyDer);
    assert.notDeepEqual(first.serverPublicKey, rsaPublicKeyDer);
    assert.equal(second.serverPublicKey.buffer.byteLength, second.serverPublicKey.length, 'not a slice of the pool');
  });
});
