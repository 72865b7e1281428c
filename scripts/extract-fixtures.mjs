#!/usr/bin/env node
// Extracts the TCP payload (and, where the embedded TLS secrets allow it, the decrypted TLS
// application data) of every capture in ../shared/fixtures/pcaps/*.pcapng into
// test/fixtures/pcaps/<name>.json, so tests can replay real peer bytes without tshark.
//
// Run by hand (not by the tests), from anywhere:  node scripts/extract-fixtures.mjs [NAME...]
// Needs tshark (checked with 4.0.17). Output per capture:
//   { "source": "<name>.pcapng", "serverPort": N,
//     "connections": [ { "stream": N, "tcp": [ {"dir":"c2s"|"s2c","hex":"..."} ],
//                                     "tls": [ {"dir":"c2s"|"s2c","hex":"..."} ] } ] }
//
// How (tshark 4.0.17):
// - streams: `-T fields -e tcp.stream -e tcp.len`; streams without any payload are skipped
//   (nmap's port-scan SYN, stray FIN/ACKs of an earlier connection).
// - raw TCP: `-q -z follow,tcp,raw,N` (retransmitted segments are already dropped by tshark).
// - TLS: `-d tcp.port==PORT,tls -q -z follow,tls,raw,N` (the secrets are in the pcapng's
//   Decryption Secrets Block, no key option needed). Each line is one decrypted record.
// - direction: in follow output, lines of "Node 0" are not indented and lines of "Node 1" start
//   with a tab. For follow,tcp Node 0 is the side that sent the stream's first packet (the
//   client, except for leftovers of an earlier connection); for follow,tls Node 0 is whichever
//   side's decrypted record came first (the server with TLS 1.3, the client with TLS 1.2) and
//   Node 1 is printed as ":0". So the direction is derived from Node 0's port: equal to the
//   server port means un-indented lines are s2c.
import { execFileSync } from 'node:child_process';
import { mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { basename, dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const repo = join(dirname(fileURLToPath(import.meta.url)), '..');
const pcapDir = join(repo, '..', 'shared', 'fixtures', 'pcaps');
const outDir = join(repo, 'test', 'fixtures', 'pcaps');

/** The server port is fixed per peer by ../shared/peers/make-fixtures. */
function serverPortFor(name) {
  if (name.startsWith('xrdp-')) return 33891;
  if (name.startsWith('shadow-')) return 33901;
  throw new Error(`${name}: cannot tell the server port (expected an xrdp-* or shadow-* name)`);
}

function tshark(args) {
  return execFileSync('tshark', args, {
    encoding: 'utf8',
    maxBuffer: 64 * 1024 * 1024,
    stdio: ['ignore', 'pipe', 'pipe'], // tshark warns about running as root on stderr
  });
}

/** tcp.stream indexes that carry at least one byte of payload, ascending. */
function streamsWithPayload(file) {
  const bytes = new Map();
  for (const line of tshark(['-r', file, '-T', 'fields', '-e', 'tcp.stream', '-e', 'tcp.len']).split('\n')) {
    const [s, len] = line.split('\t');
    if (s === undefined || s === '') continue;
    const n = Number(s);
    bytes.set(n, (bytes.get(n) ?? 0) + Number(len || 0));
  }
  return [...bytes.entries()].filter(([, b]) => b > 0).map(([s]) => s).sort((a, b) => a - b);
}

/**
 * Parses `-z follow,<proto>,raw,N` output into chunks. `serverPort` fixes the direction via the
 * "Node 0: addr:port" header line (see the top of this file).
 */
function parseFollow(text, serverPort, what) {
  const lines = text.split('\n');
  let node0Port = null;
  const raw = [];
  let inBody = false;
  let seps = 0;
  for (const line of lines) {
    if (/^=+$/.test(line)) {
      seps++;
      inBody = seps === 1;
      continue;
    }
    if (!inBody) continue;
    const m = /^Node 0: .*:(\d+)$/.exec(line);
    if (m) {
      node0Port = Number(m[1]);
      continue;
    }
    if (/^(Follow|Filter|Node \d):/.test(line)) continue;
    const h = /^(\t?)([0-9a-f]+)$/.exec(line);
    if (h) raw.push({ node1: h[1] === '\t', hex: h[2] });
    else if (line.trim() !== '') throw new Error(`${what}: unexpected follow line ${JSON.stringify(line.slice(0, 80))}`);
  }
  if (raw.length === 0) return [];
  if (node0Port === null || node0Port === 0) throw new Error(`${what}: follow output names no port for Node 0`);
  const node0IsServer = node0Port === serverPort;
  return raw.map(({ node1, hex }) => ({ dir: node1 === node0IsServer ? 'c2s' : 's2c', hex }));
}

function extract(file) {
  const name = basename(file, '.pcapng');
  const serverPort = serverPortFor(name);
  const connections = [];
  for (const stream of streamsWithPayload(file)) {
    const what = `${name} stream ${stream}`;
    const tcp = parseFollow(tshark(['-r', file, '-q', '-z', `follow,tcp,raw,${stream}`]), serverPort, `${what} tcp`);
    const tls = parseFollow(
      tshark(['-r', file, '-d', `tcp.port==${serverPort},tls`, '-q', '-z', `follow,tls,raw,${stream}`]),
      serverPort,
      `${what} tls`,
    );
    if (tcp.length === 0) continue;
    // Sanity checks of the direction: an RDP client always speaks first, both on the wire
    // (X.224 Connection Request) and inside TLS (MCS Connect Initial or a CredSSP TSRequest).
    if (tcp[0].dir !== 'c2s') throw new Error(`${what}: first TCP chunk is not client-to-server`);
    if (tls.length > 0 && tls[0].dir !== 'c2s') throw new Error(`${what}: first TLS chunk is not client-to-server`);
    connections.push({ stream, tcp, tls });
  }
  return { source: `${name}.pcapng`, serverPort, connections };
}

/** One chunk per line: small diffs when a capture is re-made, still valid JSON. */
function render(capture) {
  const chunks = (list) =>
    list.length === 0 ? '[]' : `[\n${list.map((c) => `        ${JSON.stringify(c)}`).join(',\n')}\n      ]`;
  const conns = capture.connections
    .map((c) => `    {\n      "stream": ${c.stream},\n      "tcp": ${chunks(c.tcp)},\n      "tls": ${chunks(c.tls)}\n    }`)
    .join(',\n');
  return `{\n  "source": ${JSON.stringify(capture.source)},\n  "serverPort": ${capture.serverPort},\n  "connections": [\n${conns}\n  ]\n}\n`;
}

const only = new Set(process.argv.slice(2).map((a) => basename(a, '.pcapng')));
const files = readdirSync(pcapDir)
  .filter((f) => f.endsWith('.pcapng'))
  .filter((f) => only.size === 0 || only.has(basename(f, '.pcapng')))
  .sort();
if (files.length === 0) {
  console.error(`extract-fixtures: no .pcapng in ${pcapDir}`);
  process.exit(1);
}
mkdirSync(outDir, { recursive: true });
let total = 0;
for (const f of files) {
  const capture = extract(join(pcapDir, f));
  const text = render(capture);
  JSON.parse(text); // never write something the loader cannot read
  const out = join(outDir, `${basename(f, '.pcapng')}.json`);
  writeFileSync(out, text);
  total += text.length;
  const sum = (dirName, layer) =>
    capture.connections.reduce((n, c) => n + c[layer].filter((x) => x.dir === dirName).reduce((m, x) => m + x.hex.length / 2, 0), 0);
  console.log(
    `${relative(repo, out)}: ${capture.connections.length} conn(s), tcp c2s ${sum('c2s', 'tcp')} B / s2c ${sum('s2c', 'tcp')} B, ` +
      `tls c2s ${sum('c2s', 'tls')} B / s2c ${sum('s2c', 'tls')} B`,
  );
}
console.log(`${files.length} file(s), ${total} bytes of JSON`);
