import assert from 'node:assert/strict';
import type net from 'node:net';
import { describe, it } from 'node:test';
import { DecodeError } from '../../src/pdu/errors.js';
import { TPKT_HINT, type PduHint } from '../../src/pdu/tpkt.js';
import { TransportError } from '../../src/transport/errors.js';
import { RdpSocket } from '../../src/transport/socket.js';
import { closedPort, delay, startServer, tpkt, withClient } from './helpers.js';

/** Run `body` against a loopback server, always closing both ends. */
async function withServer(
  onConnection: (sock: net.Socket) => void,
  body: (rdp: RdpSocket) => Promise<void>,
): Promise<void> {
  return withClient(await startServer(onConnection), body);
}

async function rejectsWith(p: Promise<unknown>, kind: TransportError['kind']): Promise<TransportError> {
  try {
    await p;
  } catch (err) {
    assert.ok(err instanceof TransportError, `expected a TransportError, got ${String(err)}`);
    assert.equal(err.kind, kind, err.message);
    return err;
  }
  assert.fail(`expected a '${kind}' TransportError`);
}

/** Counts of our listeners on the current stream (private, looked at for leak checks). */
function listenerCounts(rdp: RdpSocket): number[] {
  const sock = (rdp as unknown as { sock: net.Socket }).sock;
  return ['readable', 'end', 'error', 'close', 'data'].map((e) => sock.listenerCount(e));
}

describe('RdpSocket.readPdu', () => {
  it('(a) a truncated TPKT then EOF is closed, with the bytes buffered', async () => {
    await withServer(
      (s) => s.end(tpkt(20).subarray(0, 7)),
      async (rdp) => {
        const err = await rejectsWith(rdp.readPdu(TPKT_HINT, { timeoutMs: 2000, phase: 'x224' }), 'closed');
        assert.equal(err.phase, 'x224');
        assert.equal(err.bytesBuffered, 7);
        assert.match(err.message, /^x224: the peer closed the connection/);
      },
    );
  });

  it('(b) a garbage first byte is malformed, wrapping the DecodeError', async () => {
    await withServer(
      (s) => s.write(Buffer.from('SSH-2.0-OpenSSH_9.6\r\n')),
      async (rdp) => {
        const err = await rejectsWith(rdp.readPdu(TPKT_HINT, { timeoutMs: 2000 }), 'malformed');
        assert.ok(err.cause instanceof DecodeError);
        assert.equal(err.cause.pdu, 'TPKT');
        assert.equal(err.cause.field, 'version');
        assert.equal(err.phase, 'TPKT');
        // what the peer sent stays available for a fingerprint
        assert.match(rdp.peekBuffered().toString('latin1'), /^SSH-2\.0/);
        const json = err.toJSON();
        assert.equal(json.kind, 'malformed');
        assert.deepEqual((json.cause as Record<string, unknown>).pdu, 'TPKT');
      },
    );
  });

  it('(c) a declared 60000-byte TPKT with 10 bytes sent times out within the timeout', async () => {
    await withServer(
      (s) => s.write(tpkt(60000).subarray(0, 10)),
      async (rdp) => {
        const t0 = Date.now();
        const err = await rejectsWith(rdp.readPdu(TPKT_HINT, { timeoutMs: 150 }), 'timeout');
        const elapsed = Date.now() - t0;
        assert.ok(elapsed >= 140 && elapsed < 1000, `elapsed ${elapsed} ms`);
        assert.equal(err.bytesBuffered, 10);
        assert.match(err.message, /10 of 60000 bytes/);
      },
    );
  });

  it('(d) a peer that never answers times out', async () => {
    await withServer(
      () => {},
      async (rdp) => {
        const before = listenerCounts(rdp);
        const t0 = Date.now();
        const err = await rejectsWith(rdp.readPdu(TPKT_HINT, { timeoutMs: 100 }), 'timeout');
        assert.ok(Date.now() - t0 < 1000);
        assert.equal(err.bytesBuffered, 0);
        // nothing left behind by the timed-out read
        assert.deepEqual(listenerCounts(rdp), before);
      },
    );
  });

  it('(e) a length above maxSize is oversized at once', async () => {
    await withServer(
      (s) => s.write(Buffer.from([3, 0, 0xff, 0xff, 2, 0xf0])),
      async (rdp) => {
        const t0 = Date.now();
        const err = await rejectsWith(rdp.readPdu(TPKT_HINT, { timeoutMs: 5000, maxSize: 1000 }), 'oversized');
        assert.ok(Date.now() - t0 < 1000, 'did not wait for the body');
        assert.match(err.message, /65535 bytes, above the limit of 1000/);
      },
    );
  });

  it('(e2) a hint that never decides is oversized once the buffer passes maxSize', async () => {
    const never: PduHint = { name: 'never', findSize: () => null };
    await withServer(
      (s) => s.write(Buffer.alloc(300)),
      async (rdp) => {
        await rejectsWith(rdp.readPdu(never, { timeoutMs: 2000, maxSize: 100 }), 'oversized');
      },
    );
  });

  it('(f) frames PDUs coalesced in one chunk, split in three, and sent byte by byte', async () => {
    const a = tpkt(11, 0xaa);
    const b = tpkt(300, 0xbb);
    const c = tpkt(1000);
    const d = tpkt(19, 0xdd);
    await withServer(
      async (s) => {
        s.setNoDelay(true);
        s.write(Buffer.concat([a, b]));
        await delay(10);
        s.write(c.subarray(0, 2));
        await delay(10);
        s.write(c.subarray(2, 500));
        await delay(10);
        s.write(c.subarray(500));
        for (const byte of d) {
          await delay(1);
          if (s.destroyed) return;
          s.write(Buffer.from([byte]));
        }
      },
      async (rdp) => {
        const opts = { timeoutMs: 2000 };
        const before = listenerCounts(rdp);
        assert.deepEqual(await rdp.readPdu(TPKT_HINT, opts), a);
        assert.deepEqual(await rdp.readPdu(TPKT_HINT, opts), b);
        assert.deepEqual(await rdp.readPdu(TPKT_HINT, opts), c);
        assert.deepEqual(await rdp.readPdu(TPKT_HINT, opts), d);
        assert.equal(rdp.bufferedLength, 0);
        assert.deepEqual(listenerCounts(rdp), before, 'no listener added per read');
      },
    );
  });

  it('returns a whole buffered PDU before reporting EOF', async () => {
    const a = tpkt(12);
    await withServer(
      (s) => s.end(a),
      async (rdp) => {
        await delay(50); // EOF has arrived by now
        assert.deepEqual(await rdp.readPdu(TPKT_HINT, { timeoutMs: 1000 }), a);
        const err = await rejectsWith(rdp.readPdu(TPKT_HINT, { timeoutMs: 1000 }), 'closed');
        assert.equal(err.bytesBuffered, 0);
      },
    );
  });

  it('stores a reset that happens with no read pending and reports it on the next read', async () => {
    await withServer(
      (s) => setTimeout(() => s.resetAndDestroy(), 10),
      async (rdp) => {
        await delay(80);
        const err = await rejectsWith(rdp.readPdu(TPKT_HINT, { timeoutMs: 1000, phase: 'mcs' }), 'reset');
        assert.equal(err.code, 'ECONNRESET');
        assert.equal(err.phase, 'mcs');
        await rejectsWith(rdp.write(tpkt(8)), 'reset');
      },
    );
  });

  it('rejects a second read while one is pending', async () => {
    await withServer(
      () => {},
      async (rdp) => {
        const first = rdp.readPdu(TPKT_HINT, { timeoutMs: 100 });
        await assert.rejects(rdp.readPdu(TPKT_HINT, { timeoutMs: 100 }), /another read/);
        await rejectsWith(first, 'timeout');
      },
    );
  });

  it('readAvailable returns what arrives, empty on EOF', async () => {
    await withServer(
      (s) => s.end('HTTP/1.1 400 Bad Request\r\n\r\n'),
      async (rdp) => {
        const got = await rdp.readAvailable({ timeoutMs: 1000 });
        assert.match(got.toString(), /^HTTP\/1\.1 400/);
        assert.equal((await rdp.readAvailable({ timeoutMs: 1000 })).length, 0);
      },
    );
  });
});

describe('RdpSocket.write and close', () => {
  it('writes reach the peer and close() ends gracefully', async () => {
    let received = Buffer.alloc(0);
    let peerEnded!: () => void;
    const ended = new Promise<void>((r) => (peerEnded = r));
    const server = await startServer((s) => {
      s.on('data', (d: Buffer) => (received = Buffer.concat([received, d])));
      s.on('end', () => {
        s.end();
        peerEnded();
      });
    });
    try {
      const rdp = await RdpSocket.connect('127.0.0.1', server.port, { timeoutMs: 2000 });
      await rdp.write(tpkt(20));
      await rdp.write(tpkt(30));
      await rdp.close();
      await ended;
      assert.equal(received.length, 50);
      await rejectsWith(rdp.write(tpkt(8)), 'closed');
      await rejectsWith(rdp.readPdu(TPKT_HINT, { timeoutMs: 100 }), 'closed');
    } finally {
      await server.close();
    }
  });

  it('a write the kernel takes at once makes no timer; one the peer does not read times out', async () => {
    // the peer never reads: loopback buffers fill after a few MiB, then our bytes stay queued
    const server = await startServer((s) => s.pause());
    try {
      const rdp = await RdpSocket.connect('127.0.0.1', server.port, { timeoutMs: 2000 });
      const timers = (): number => process.getActiveResourcesInfo().filter((r) => r === 'Timeout').length;
      const before = timers();
      const small = rdp.write(tpkt(20), { timeoutMs: 5000 });
      assert.equal(timers(), before, 'no timer for bytes the kernel took');
      await small;
      const big = Buffer.alloc(64 * 1024 * 1024);
      const t0 = Date.now();
      const pending = rdp.write(big, { timeoutMs: 200, phase: 'mcs' });
      assert.equal(timers(), before + 1, 'a timer for bytes still queued');
      const err = await rejectsWith(pending, 'timeout');
      assert.equal(err.phase, 'mcs');
      assert.match(err.message, /did not take 67108864 bytes within 200 ms/);
      assert.ok(Date.now() - t0 < 2000);
      rdp.destroy();
    } finally {
      await server.close();
    }
  });

  it('a PDU that is a whole chunk is returned as it came, one of several as a view: nothing is copied', async () => {
    const a = tpkt(11, 0xaa);
    const b = tpkt(30, 0xbb);
    await withServer(
      (s) => s.write(Buffer.concat([a, b])),
      async (rdp) => {
        const ra = await rdp.readPdu(TPKT_HINT, { timeoutMs: 2000 });
        const rb = await rdp.readPdu(TPKT_HINT, { timeoutMs: 2000 });
        assert.deepEqual(ra, a);
        assert.deepEqual(rb, b);
        // both views of the one chunk the stream gave us, side by side
        assert.equal(ra.buffer, rb.buffer);
        assert.equal(rb.byteOffset, ra.byteOffset + a.length);
      },
    );
  });

  it('close() destroys after the grace period when the peer does not close', async () => {
    // half-open: the peer never ends its side
    const server = await startServer((s) => s.on('end', () => {}), { allowHalfOpen: true });
    try {
      const rdp = await RdpSocket.connect('127.0.0.1', server.port, { timeoutMs: 2000 });
      const t0 = Date.now();
      await rdp.close(50);
      assert.ok(Date.now() - t0 < 1000);
    } finally {
      await server.close();
    }
  });
});

describe('RdpSocket.connect', () => {
  it('(g) a closed port is refused', async () => {
    const port = await closedPort();
    const err = await rejectsWith(RdpSocket.connect('127.0.0.1', port, { timeoutMs: 2000 }), 'refused');
    assert.equal(err.phase, 'connect');
    assert.equal(err.code, 'ECONNREFUSED');
    assert.deepEqual(err.toJSON().kind, 'refused');
  });
});
