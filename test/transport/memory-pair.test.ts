/**
 * The in-memory pair simulate runs on (transport/memory-pair.ts) and RdpSocket over it: bytes
 * both ways in order, EOF and destroy seen by the peer as a closed connection, backpressure,
 * and a real TLS handshake in both orders of arrival (the server upgrading after the
 * ClientHello is already buffered: the case that lost bytes before the raw listeners came off).
 */
import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import { generateSelfSignedCertificate, type PemPair } from '../../src/crypto/self-signed.js';
import { TPKT_HINT } from '../../src/pdu/tpkt.js';
import { TransportError } from '../../src/transport/errors.js';
import { memoryPair } from '../../src/transport/memory-pair.js';
import { RdpSocket } from '../../src/transport/socket.js';

let cert: PemPair;
before(async () => {
  cert = await generateSelfSignedCertificate('memory-pair-test');
});

const tpkt = (payload: number[]): Buffer => Buffer.from([3, 0, 0, 4 + payload.length, ...payload]);
const sockets = (): [RdpSocket, RdpSocket] => {
  const [a, b] = memoryPair();
  return [RdpSocket.fromStream(a), RdpSocket.fromStream(b)];
};

describe('memoryPair', () => {
  it('carries PDUs both ways, in order, split or joined as they come', async () => {
    const [c, s] = sockets();
    await c.write(tpkt([1, 2]));
    await c.write(tpkt([3]));
    assert.deepEqual([...(await s.readPdu(TPKT_HINT, { timeoutMs: 1000 }))], [...tpkt([1, 2])]);
    assert.deepEqual([...(await s.readPdu(TPKT_HINT, { timeoutMs: 1000 }))], [...tpkt([3])]);
    const whole = tpkt([9, 8, 7, 6]);
    await s.write(whole.subarray(0, 3));
    const read = c.readPdu(TPKT_HINT, { timeoutMs: 1000 });
    await s.write(whole.subarray(3));
    assert.deepEqual([...(await read)], [...whole]);
  });

  it("reports the peer's end as 'closed', with what was buffered", async () => {
    const [c, s] = sockets();
    await c.write(Buffer.from([3, 0, 0, 10, 1]));
    await c.close(100);
    await assert.rejects(s.readPdu(TPKT_HINT, { timeoutMs: 1000 }), (e: unknown) => e instanceof TransportError && e.kind === 'closed' && e.bytesBuffered === 5);
  });

  it("reports a destroyed peer as 'closed' and refuses writes to it", async () => {
    const [c, s] = sockets();
    c.destroy();
    await assert.rejects(s.readPdu(TPKT_HINT, { timeoutMs: 1000 }), (e: unknown) => e instanceof TransportError && e.kind === 'closed');
    await assert.rejects(s.write(tpkt([1])), TransportError);
  });

  it('times out a read nobody answers', async () => {
    const [, s] = sockets();
    await assert.rejects(s.readPdu(TPKT_HINT, { timeoutMs: 50 }), (e: unknown) => e instanceof TransportError && e.kind === 'timeout');
  });

  it('holds a writer back until the reader makes room (backpressure), then delivers every byte', async () => {
    const [a, b] = memoryPair();
    const big = Buffer.alloc(1024 * 1024, 7);
    let done = false;
    const write = new Promise<void>((resolve) => a.write(big, () => resolve())).then(() => {
      done = true;
    });
    await new Promise((r) => setTimeout(r, 20));
    assert.equal(done, false, 'a megabyte does not fit in the reader before it reads');
    let got = 0;
    b.on('data', (chunk: Buffer) => {
      got += chunk.length;
    });
    await write;
    await new Promise((r) => setImmediate(r));
    assert.equal(got, big.length);
  });

  for (const order of ['server first', 'client first'] as const) {
    it(`runs a real TLS handshake and protects data over it (${order})`, async () => {
      const [c, s] = sockets();
      await c.write(tpkt([1]));
      await s.readPdu(TPKT_HINT, { timeoutMs: 1000 });
      const server = (): Promise<unknown> => s.upgradeToTlsServer({ timeoutMs: 2000, key: cert.keyPem, cert: cert.certPem });
      let sp: Promise<unknown> | undefined;
      if (order === 'server first') sp = server();
      const cp = c.upgradeToTls({ timeoutMs: 2000 });
      if (order === 'client first') {
        await new Promise((r) => setTimeout(r, 30)); // the ClientHello is buffered before the server upgrades
        sp = server();
      }
      const [ci] = await Promise.all([cp, sp]);
      assert.equal(ci.version, 'TLSv1.3');
      await c.write(tpkt([5, 5]));
      assert.deepEqual([...(await s.readPdu(TPKT_HINT, { timeoutMs: 1000 }))], [...tpkt([5, 5])]);
      assert.equal(s.tls?.serverPublicKey.length, ci.serverPublicKey.length);
      await Promise.all([c.close(100), s.close(100)]);
    });
  }

  it('fails a TLS handshake with no common version as a typed tls error on both sides', async () => {
    const [c, s] = sockets();
    const results = await Promise.allSettled([
      c.upgradeToTls({ timeoutMs: 2000, maxVersion: 'TLSv1.2' }),
      s.upgradeToTlsServer({ timeoutMs: 2000, key: cert.keyPem, cert: cert.certPem, minVersion: 'TLSv1.3' }),
    ]);
    for (const r of results) {
      assert.equal(r.status, 'rejected');
      assert.ok(r.reason instanceof TransportError && r.reason.kind === 'tls', String(r.reason));
    }
  });
});
