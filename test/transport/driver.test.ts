import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import tls from 'node:tls';
import type { Pause, Sequence, StepResult } from '../../src/connector/sequence.js';
import { TPKT_HINT, type PduHint } from '../../src/pdu/tpkt.js';
import { runSequence, type SecurityUpgradeTarget } from '../../src/transport/driver.js';
import { RdpSocket } from '../../src/transport/socket.js';
import type { TlsInfo } from '../../src/transport/tls-info.js';
import { makeSelfSignedCert, readExactly, startServer, tpkt, type TestServer } from './helpers.js';

type State = 'send-request' | 'wait-confirm' | 'tls' | 'wait-inner' | 'done';

/**
 * A toy client: send a request, read the confirm, pause for TLS, send and read one PDU inside
 * TLS, finish. Only for exercising the driver.
 */
class ToySequence implements Sequence<string>, SecurityUpgradeTarget<string> {
  state: State = 'send-request';
  get pause(): Pause | null {
    return this.state === 'tls' ? { kind: 'tls-upgrade', role: 'client' } : null;
  }
  get done(): boolean {
    return this.state === 'done';
  }
  nextPduHint(): PduHint | null {
    return this.state === 'wait-confirm' || this.state === 'wait-inner' ? TPKT_HINT : null;
  }
  step(input: Uint8Array | null): StepResult<string> {
    switch (this.state) {
      case 'send-request':
        this.state = 'wait-confirm';
        return { output: [tpkt(19)], events: ['request sent'] };
      case 'wait-confirm':
        this.state = 'tls';
        return { output: [], events: [`confirm ${input!.length}`] };
      case 'wait-inner':
        this.state = 'done';
        return { output: [], events: [`inner ${input!.length}`] };
      default:
        throw new Error(`step in state ${this.state}`);
    }
  }
  markSecurityUpgradeDone(info: TlsInfo): StepResult<string> {
    this.state = 'wait-inner';
    return { output: [tpkt(8)], events: [`tls ${info.version} key ${info.serverPublicKey.length}`] };
  }
}

let key: Buffer;
let cert: Buffer;
before(() => ({ key, cert } = makeSelfSignedCert()));

/** An RDP-shaped toy server: request -> confirm, TLS in place, 8 bytes -> 12 bytes. */
function toyServer(closeAfterRequest = false): Promise<TestServer> {
  return startServer(async (s) => {
    try {
      await readExactly(s, 19);
      if (closeAfterRequest) return void s.end();
      s.write(tpkt(11));
      const t = new tls.TLSSocket(s, { isServer: true, secureContext: tls.createSecureContext({ key, cert }) });
      t.on('error', () => {});
      await readExactly(t, 8);
      t.write(tpkt(12));
    } catch {
      s.destroy();
    }
  });
}

describe('runSequence (k)', () => {
  let server: TestServer | undefined;
  after(async () => server?.close());

  it('drives a sequence through a request, a TLS pause and a PDU inside TLS', async () => {
    server = await toyServer();
    const rdp = await RdpSocket.connect('127.0.0.1', server.port, { timeoutMs: 2000 });
    const seen: string[] = [];
    const pauses: Pause[] = [];
    try {
      const seq = new ToySequence();
      const result = await runSequence(seq, rdp, {
        readTimeoutMs: 2000,
        tls: () => ({ role: 'client', timeoutMs: 3000 }),
        onEvent: (e) => seen.push(e),
        onPause: (p) => pauses.push(p),
      });
      assert.equal(result.error, null);
      assert.ok(seq.done);
      const expected = ['request sent', 'confirm 11', 'tls TLSv1.3 key 270', 'inner 12'];
      assert.deepEqual(result.events, expected);
      assert.deepEqual(seen, expected);
      assert.deepEqual(pauses, [{ kind: 'tls-upgrade', role: 'client' }]);
      assert.deepEqual(
        result.transcript.map((t) => [t.dir, t.length]),
        [
          ['sent', 19],
          ['received', 11],
          ['tls', 0],
          ['sent', 8],
          ['received', 12],
        ],
      );
      assert.match(result.transcript[2]!.detail!, /^TLSv1\.3 TLS_/);
      const times = result.transcript.map((t) => t.at);
      assert.deepEqual([...times].sort((a, b) => a - b), times);
      assert.equal(result.tls?.version, 'TLSv1.3');
    } finally {
      await rdp.close();
      await server.close();
      server = undefined;
    }
  });

  it('returns the events and transcript so far with the transport error', async () => {
    server = await toyServer(true);
    const rdp = await RdpSocket.connect('127.0.0.1', server.port, { timeoutMs: 2000 });
    try {
      const seq = new ToySequence();
      const result = await runSequence(seq, rdp, {
        readTimeoutMs: 2000,
        tls: () => ({ role: 'client', timeoutMs: 3000 }),
        phase: () => seq.state,
      });
      assert.equal(result.error?.kind, 'closed');
      assert.equal(result.error?.phase, 'wait-confirm');
      assert.deepEqual(result.events, ['request sent']);
      assert.deepEqual(result.transcript.map((t) => t.dir), ['sent']);
    } finally {
      rdp.destroy();
      await server.close();
      server = undefined;
    }
  });

  it('record: false keeps neither events nor transcript, and still hands every event to onEvent', async () => {
    server = await toyServer();
    const rdp = await RdpSocket.connect('127.0.0.1', server.port, { timeoutMs: 2000 });
    const seen: string[] = [];
    try {
      const seq = new ToySequence();
      const result = await runSequence(seq, rdp, {
        readTimeoutMs: 2000,
        tls: () => ({ role: 'client', timeoutMs: 3000 }),
        onEvent: (e) => seen.push(e),
        record: false,
      });
      assert.equal(result.error, null);
      assert.ok(seq.done);
      assert.deepEqual(seen, ['request sent', 'confirm 11', 'tls TLSv1.3 key 270', 'inner 12']);
      assert.deepEqual(result.events, []);
      assert.deepEqual(result.transcript, []);
      assert.equal(result.tls?.version, 'TLSv1.3');
    } finally {
      await rdp.close();
      await server.close();
      server = undefined;
    }
  });

  it('rejects a pausing sequence without markSecurityUpgradeDone', async () => {
    server = await startServer(() => {});
    const rdp = await RdpSocket.connect('127.0.0.1', server.port, { timeoutMs: 2000 });
    const paused: Sequence<string> = {
      pause: { kind: 'tls-upgrade', role: 'client' },
      done: false,
      nextPduHint: () => null,
      step: () => ({ output: [], events: [] }),
    };
    try {
      await assert.rejects(
        runSequence(paused, rdp, { readTimeoutMs: 100, tls: () => ({ role: 'client', timeoutMs: 100 }) }),
        /markSecurityUpgradeDone/,
      );
    } finally {
      rdp.destroy();
      await server.close();
      server = undefined;
    }
  });
});
