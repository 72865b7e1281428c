import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { encodeTpkt } from '../../src/pdu/tpkt.js';
import { RdpSocket } from '../../src/transport/socket.js';

/** A loopback-only TCP server for one test; close() also destroys every accepted socket. */
export interface TestServer {
  port: number;
  sockets: Set<net.Socket>;
  close(): Promise<void>;
}

export async function startServer(
  onConnection: (sock: net.Socket) => void,
  options: net.ServerOpts = {},
): Promise<TestServer> {
  const sockets = new Set<net.Socket>();
  const server = net.createServer(options, (sock) => {
    sockets.add(sock);
    sock.on('error', () => {});
    sock.on('close', () => sockets.delete(sock));
    onConnection(sock);
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const port = (server.address() as net.AddressInfo).port;
  return {
    port,
    sockets,
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}

/** Connect an RdpSocket to a test server, run `body`, and always close both ends. */
export async function withClient(
  server: { port: number; close(): Promise<void> },
  body: (rdp: RdpSocket) => Promise<void>,
): Promise<void> {
  let rdp: RdpSocket | undefined;
  try {
    rdp = await RdpSocket.connect('127.0.0.1', server.port, { timeoutMs: 2000 });
    await body(rdp);
  } finally {
    rdp?.destroy();
    await server.close();
  }
}

/** A port on 127.0.0.1 nobody listens on (bound, then released). */
export async function closedPort(): Promise<number> {
  const s = await startServer(() => {});
  await s.close();
  return s.port;
}

/** A TPKT of the given total length, payload bytes counting 0, 1, 2, ... */
export function tpkt(totalLength: number, fill?: number): Buffer {
  const payload = Buffer.alloc(totalLength - 4);
  for (let i = 0; i < payload.length; i++) payload[i] = fill ?? i & 0xff;
  return encodeTpkt(payload);
}

export const delay = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Read exactly n bytes from a plain socket (test side). */
export function readExactly(sock: net.Socket, n: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    let got = Buffer.alloc(0);
    const onData = (d: Buffer): void => {
      got = Buffer.concat([got, d]);
      if (got.length >= n) {
        sock.off('data', onData);
        sock.off('error', reject);
        sock.pause();
        if (got.length > n) sock.unshift(got.subarray(n));
        resolve(got.subarray(0, n));
      }
    };
    sock.on('data', onData);
    sock.once('error', reject);
    sock.resume();
  });
}

/** A self-signed RSA-2048 certificate made with the openssl CLI (Node cannot make one). */
export function makeSelfSignedCert(): { key: Buffer; cert: Buffer } {
  const dir = mkdtempSync(join(tmpdir(), 'rdpsec-cert-'));
  try {
    const keyPath = join(dir, 'key.pem');
    const certPath = join(dir, 'cert.pem');
    execFileSync(
      'openssl',
      ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-subj', '/CN=test', '-days', '1', '-keyout', keyPath, '-out', certPath],
      { stdio: 'ignore' },
    );
    return { key: readFileSync(keyPath), cert: readFileSync(certPath) };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
