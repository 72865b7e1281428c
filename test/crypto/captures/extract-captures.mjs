#!/usr/bin/env node
// Turns the pcapng files made by make-captures.sh into the JSON fixtures of this folder.
// Run by hand, as root (it reads xrdp's private key), after `npm run build`:
//   node test/crypto/captures/extract-captures.mjs OUTDIR
//
// The private key never leaves the machine: each fixture records the client random that the
// key recovers from the Security Exchange PDU, and the tests check it in the public direction
// (encrypting it again under the captured certificate's key must give the captured bytes).
//
// - <name>.json (short runs): the whole TCP conversation, in the shape of test/fixtures/pcaps
//   (from `tshark -q -z follow,tcp,raw,0`), plus "clientRandom".
// - <name>.json for *-mouse runs (>4096 client-to-server PDUs): only what a key-update check
//   needs: the Connect Response, the Security Exchange, and encrypted PDUs FIRST..FIRST+11 around
//   packet 4096 with "keystreamOffset", the ciphertext bytes the RC4 stream produced before
//   packet FIRST (the keystream depends only on the key and that count, not on the data).
import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const dist = join(here, '..', '..', '..', 'dist');
const { decryptClientRandom } = await import(join(dist, 'src/crypto/rsa.js'));
const { bigintFromLE } = await import(join(dist, 'src/pdu/server-certificate.js'));
const { TPKT_OR_FASTPATH_HINT } = await import(join(dist, 'src/pdu/tpkt.js'));
const { frames } = await import(join(dist, 'test/fixtures/pcaps.js'));

const SERVER_PORT = 34891;
const FIRST = 4090;
const inDir = process.argv[2];
if (!inDir) {
  console.error('usage: extract-captures.mjs OUTDIR-of-make-captures.sh');
  process.exit(2);
}

// xrdp's rsakeys.ini: comma-separated 0xNN bytes, little-endian like the wire
const ini = readFileSync('/etc/xrdp/rsakeys.ini', 'utf8');
const field = (k) => Buffer.from(ini.match(new RegExp(`^${k}=(.*)$`, 'm'))[1].split(',').map((x) => parseInt(x, 16)));
const key = { modulusLE: field('pub_mod'), exponent: bigintFromLE(field('pub_exp')), privateExponentLE: field('pri_exp') };

function follow(file) {
  const text = execFileSync('tshark', ['-r', file, '-q', '-z', 'follow,tcp,raw,0'], { encoding: 'utf8', maxBuffer: 1 << 28, stdio: ['ignore', 'pipe', 'pipe'] });
  let node0Port = null;
  let seps = 0;
  const out = [];
  for (const line of text.split('\n')) {
    if (/^=+$/.test(line)) {
      seps++;
      continue;
    }
    if (seps !== 1) continue;
    const m = /^Node 0: .*:(\d+)$/.exec(line);
    if (m) node0Port = Number(m[1]);
    const h = /^(\t?)([0-9a-f]+)$/.exec(line);
    if (h) out.push({ node1: h[1] === '\t', hex: h[2] });
  }
  const node0IsServer = node0Port === SERVER_PORT;
  return out.map(({ node1, hex }) => ({ dir: node1 === node0IsServer ? 'c2s' : 's2c', hex }));
}

const stream = (chunks, dir) => Buffer.concat(chunks.filter((c) => c.dir === dir).map((c) => Buffer.from(c.hex, 'hex')));

/** MCS Send Data Request / Indication userData of a TPKT frame, or null. */
function sendDataUserData(f) {
  if (f[0] !== 3 || f.length < 8) return null;
  const m = f.subarray(7);
  if (m[0] >> 2 !== 25 && m[0] >> 2 !== 26) return null;
  let p = 6;
  let len = m[p];
  if (len & 0x80) {
    len = ((len & 0x3f) << 8) | m[p + 1];
    p += 2;
  } else p += 1;
  return m.subarray(p, p + len);
}

for (const file of readdirSync(inDir).filter((f) => f.endsWith('.pcapng')).sort()) {
  const name = basename(file, '.pcapng');
  const chunks = follow(join(inDir, file));
  const c2s = frames(stream(chunks, 'c2s'), TPKT_OR_FASTPATH_HINT).frames;
  const s2c = frames(stream(chunks, 's2c'), TPKT_OR_FASTPATH_HINT).frames;
  const exchange = c2s.map(sendDataUserData).find((u) => u && (u.readUInt16LE(0) & 0x0001) !== 0);
  const connectResponse = s2c.find((f) => f[0] === 3 && f[7] === 0x7f && f[8] === 0x66).subarray(7);
  const encrypted = exchange.subarray(8, 8 + exchange.readUInt32LE(4));
  const clientRandom = decryptClientRandom(encrypted, key).toString('hex');
  let json;
  if (!name.endsWith('-mouse')) {
    json = { source: file, serverPort: SERVER_PORT, clientRandom, connections: [{ stream: 0, tcp: chunks, tls: [] }] };
  } else {
    // encrypted client-to-server slow-path PDUs (rdesktop sends its input that way), in order
    const enc = c2s.map(sendDataUserData).filter((u) => u && (u.readUInt16LE(0) & 0x0008) !== 0);
    // an encrypted fast-path input PDU would share the RC4 stream: the offsets below would be wrong
    if (c2s.some((f) => f[0] !== 3 && f[0] >> 7 === 1)) throw new Error(`${name}: encrypted fast-path input, not supported here`);
    const keystreamOffset = enc.slice(0, FIRST).reduce((n, u) => n + u.length - 12, 0);
    json = {
      source: file,
      serverPort: SERVER_PORT,
      clientRandom,
      connectResponse: connectResponse.toString('hex'),
      securityExchange: exchange.toString('hex'),
      encryptedClientToServer: enc.length,
      first: FIRST,
      keystreamOffset,
      userData: enc.slice(FIRST, FIRST + 12).map((u) => u.toString('hex')),
    };
  }
  writeFileSync(join(here, `${name}.json`), JSON.stringify(json, null, 1) + '\n');
  console.log(`${name}.json: client random ${clientRandom.slice(0, 16)}...`);
}
