/** TlsHandshakeSlots alone, then RdpSocket.upgradeToTlsServer waiting for a slot on loopback. */
import assert from 'node:assert/strict';
import net from 'node:net';
import { before, describe, it } from 'node:test';
import tls from 'node:tls';
import { TransportError } from '../../src/transport/errors.js';
import { TlsHandshakeSlots } from '../../src/transport/handshake-slots.js';
import { RdpSocket } from '../../src/transport/socket.js';
import { delay, makeSelfSignedCert, startServer, type TestServer } from './helpers.js';

describe('TlsHandshakeSlots', () => {
  it('first come first served: a free slot goes to the first waiting, not to a newcomer', () => {
    const slots = new TlsHandshakeSlots(1);
    assert.ok(slots.tryTake());
    const woken: string[] = [];
    const a = (): void => void woken.push('a');
    const b = (): void => void woken.push('b');
    slots.enqueue(a);
    slots.enqueue(b);
    assert.equal(slots.takeIfFirst(a), false, 'no slot free yet');
    slots.release();
    assert.deepEqual(woken, ['a']);
    assert.equal(slots.tryTake(), false, 'a newcomer does not jump the queue');
    assert.equal(slots.takeIfFirst(b), false, 'b is not first');
    assert.ok(slots.takeIfFirst(a));
    assert.equal(slots.active, 1);
    assert.equal(slots.queued, 1);
    // b is told it is first now; with no slot free it keeps waiting (extra wake-ups are harmless)
    assert.deepEqual(woken, ['a', 'b']);
    assert.equal(slots.takeIfFirst(b), false);
    slots.release();
    assert.deepEqual(woken, ['a', 'b', 'b']);
    assert.ok(slots.takeIfFirst(b));
    slots.release();
    assert.equal(slots.active, 0);
    assert.ok(slots.tryTake());
  });

  it('one that leaves the head of the queue hands its turn to the next', () => {
    const slots = new TlsHandshakeSlots(1);
    const woken: string[] = [];
    const a = (): void => void woken.push('a');
    const b = (): void => void woken.push('b');
    slots.enqueue(a);
    slots.enqueue(b);
    slots.leave(a);
    assert.deepEqual(woken, ['b']);
    assert.ok(slots.takeIfFirst(b));
    slots.leave(b); // already out: nothing
    assert.equal(slots.queued, 0);
    assert.throws(() => new TlsHandshakeSlots(0), RangeError);
  });
});

let key: Buffer;
let cert: Buffer;
before(() => ({ key, cert } = makeSelfSignedCert()));

/** A loopback server whose accepted connections come out of `next()` as RdpSockets, in order. */
async function acceptor(): Promise<{ server: TestServer; next(): Promise<RdpSocket> }> {
  const queue: RdpSocket[] = [];
  const waiters: ((s: RdpSocket) => void)[] = [];
  const server = await startServer((s) => {
    const r = RdpSocket.fromSocket(s);
    const w = waiters.shift();
    if (w) w(r);
    else queue.push(r);
  });
  return { server, next: () => (queue.length ? Promise.resolve(queue.shift()!) : new Promise((r) => waiters.push(r))) };
}

function rawClient(port: number): net.Socket {
  const raw = net.connect(port, '127.0.0.1');
  raw.on('error', () => {});
  return raw;
}

function tlsClient(raw: net.Socket): tls.TLSSocket {
  const c = tls.connect({ socket: raw, rejectUnauthorized: false });
  c.on('error', () => {});
  return c;
}

describe('RdpSocket.upgradeToTlsServer with handshake slots', () => {
  it('a second handshake waits until the first has ended, then runs', async () => {
    const { server, next } = await acceptor();
    const slots = new TlsHandshakeSlots(1);
    const opts = { timeoutMs: 5000, key, cert, handshakeSlots: slots };
    const rawA = rawClient(server.port);
    const rawB = rawClient(server.port);
    const clients: tls.TLSSocket[] = [];
    try {
      const a = await next();
      const b = await next();
      const order: string[] = [];
      // A holds the slot and waits for a ClientHello that comes 300 ms later; B's comes at once
      const upA = a.upgradeToTlsServer(opts).then((i) => (order.push('a'), i));
      clients.push(tlsClient(rawB));
      const upB = b.upgradeToTlsServer(opts).then((i) => (order.push('b'), i));
      await delay(100);
      assert.equal(slots.active, 1);
      assert.equal(slots.queued, 1);
      clients.push(tlsClient(rawA));
      const [ia, ib] = await Promise.all([upA, upB]);
      assert.deepEqual(order, ['a', 'b']);
      assert.equal(ia.version, 'TLSv1.3');
      assert.equal(ib.version, 'TLSv1.3');
      assert.equal(slots.active, 0);
      assert.equal(slots.queued, 0);
      a.destroy();
      b.destroy();
    } finally {
      for (const c of clients) c.destroy();
      rawA.destroy();
      rawB.destroy();
      await server.close();
    }
  });

  it('no slot within the timeout is a timeout; a peer that resets while waiting is an error; neither stays queued', async () => {
    const { server, next } = await acceptor();
    const slots = new TlsHandshakeSlots(1);
    assert.ok(slots.tryTake()); // held by someone else throughout
    const rawA = rawClient(server.port);
    const rawB = rawClient(server.port);
    try {
      const a = await next();
      const b = await next();
      const t0 = Date.now();
      const err = await a.upgradeToTlsServer({ timeoutMs: 150, key, cert, handshakeSlots: slots }).then(
        () => assert.fail('expected a timeout'),
        (e: unknown) => e,
      );
      assert.ok(err instanceof TransportError);
      assert.equal(err.kind, 'timeout');
      assert.match(err.message, /no tls handshake slot within 150 ms/);
      assert.ok(Date.now() - t0 < 2000);
      assert.equal(slots.queued, 0);

      const waiting = b.upgradeToTlsServer({ timeoutMs: 5000, key, cert, handshakeSlots: slots });
      await delay(50);
      assert.equal(slots.queued, 1);
      rawB.resetAndDestroy();
      const err2 = await waiting.then(
        () => assert.fail('expected an error'),
        (e: unknown) => e,
      );
      assert.ok(err2 instanceof TransportError);
      assert.equal(err2.kind, 'reset');
      assert.equal(slots.queued, 0);
      assert.equal(slots.active, 1, 'only the slot taken at the start');
      a.destroy();
      b.destroy();
    } finally {
      rawA.destroy();
      rawB.destroy();
      await server.close();
    }
  });
});
