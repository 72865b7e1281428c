/**
 * ScanStore across processes, as `rdpsec scan` uses it: two scans writing one history file at
 * once (both creating it), and a scan killed with SIGKILL half-way. Each child is node running a
 * small script against the built store; the record is from a real probe of our own server.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import Database from 'better-sqlite3';
import { generateSelfSignedCertificate } from '../../src/crypto/self-signed.js';
import { postureFindings } from '../../src/diagnose/posture-findings.js';
import { preset } from '../../src/policy/presets.js';
import { probeServer } from '../../src/probe/probe.js';
import type { HostScanRecord } from '../../src/scan/record.js';
import { summarizePosture } from '../../src/scan/summary.js';
import { serve } from '../../src/serve/server.js';
import { ScanStore } from '../../src/store/store.js';

const STORE_JS = new URL('../../src/store/store.js', import.meta.url).href;

/** argv: db, record file, host prefix, count, mode (finish: close cleanly; hang: stop after count and wait; stream: say each commit) */
const WRITER = `
import { readFileSync } from 'node:fs';
import { ScanStore } from ${JSON.stringify(STORE_JS)};
const [path, recordFile, prefix, count, mode] = process.argv.slice(1);
const base = JSON.parse(readFileSync(recordFile, 'utf8'));
const s = ScanStore.open(path);
const id = s.beginScan({ startedAt: new Date().toISOString(), targets: [prefix + '.0.0/16'], options: {}, rdpsecVersion: 'test' });
process.stdout.write('scan ' + id + '\\n');
// BARRIER: writers started together begin writing when the test closes their stdin, once both have opened the file
if (process.env.BARRIER) readFileSync(0);
for (let i = 0; i < Number(count); i++) {
  const r = structuredClone(base);
  const host = prefix + '.' + (i >> 8) + '.' + (i & 255);
  r.target = { host, port: 3389, input: prefix + '.0.0/16' };
  r.posture.target = { host, port: 3389 };
  s.addHost(id, r);
  if (mode === 'stream') process.stdout.write('stored ' + (i + 1) + '\\n'); // synchronous on a pipe: said only after the commit
}
if (mode === 'finish') {
  s.finishScan(id);
  s.close();
} else {
  process.stdout.write('stored ' + count + '\\n');
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0); // a scan stuck half-way, until killed
}
`;

interface Child {
  done: Promise<{ code: number | null; signal: NodeJS.Signals | null; stderr: string }>;
  /** resolves with the line that matched */
  waitFor: (re: RegExp) => Promise<string>;
  kill: () => void;
  /** BARRIER: let it write */
  go: () => void;
  lines: string[];
}

function writer(db: string, recordFile: string, prefix: string, count: number, mode: 'finish' | 'hang' | 'stream', barrier = false): Child {
  const p = spawn(process.execPath, ['--input-type=module', '-e', WRITER, db, recordFile, prefix, String(count), mode], {
    stdio: [barrier ? 'pipe' : 'ignore', 'pipe', 'pipe'],
    env: { ...process.env, ...(barrier ? { BARRIER: '1' } : {}) },
  });
  const lines: string[] = [];
  const waiters: { re: RegExp; resolve: (l: string) => void }[] = [];
  let buf = '';
  let stderr = '';
  p.stdout!.setEncoding('utf8').on('data', (d: string) => {
    buf += d;
    let i;
    while ((i = buf.indexOf('\n')) >= 0) {
      const line = buf.slice(0, i);
      buf = buf.slice(i + 1);
      lines.push(line);
      for (const w of waiters.splice(0)) (w.re.test(line) ? w.resolve(line) : waiters.push(w));
    }
  });
  p.stderr!.setEncoding('utf8').on('data', (d: string) => (stderr += d));
  const done = new Promise<{ code: number | null; signal: NodeJS.Signals | null; stderr: string }>((resolve) => p.on('close', (code, signal) => resolve({ code, signal, stderr })));
  return {
    done,
    lines,
    kill: () => p.kill('SIGKILL'),
    go: () => p.stdin?.end(),
    waitFor: (re) => {
      const hit = lines.find((l) => re.test(l));
      if (hit) return Promise.resolve(hit);
      return Promise.race([
        new Promise<string>((resolve) => waiters.push({ re, resolve })),
        done.then(({ code, stderr }) => Promise.reject(new Error(`writer exited (${code}) before ${re}: ${stderr}`))),
      ]);
    },
  };
}

function integrity(path: string): string {
  const db = new Database(path, { readonly: true });
  try {
    return String(db.pragma('integrity_check', { simple: true }));
  } finally {
    db.close();
  }
}

let dir: string;
let recordFile: string;

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'rdpsec-store-proc-'));
  const tls = await generateSelfSignedCertificate('store-proc');
  const [l] = await serve({ host: '127.0.0.1', ports: [0], policy: preset('windows-2019'), tls, onConnection: () => {} });
  try {
    const p = await probeServer({ host: '127.0.0.1', port: l!.port, timeoutMs: 3000, parallel: 4 });
    p.findings = postureFindings(p);
    const r: HostScanRecord = { version: 1, target: { host: '127.0.0.1', port: l!.port, input: '127.0.0.1' }, startedAt: p.startedAt, durationMs: p.durationMs, tries: 1, status: 'ok', posture: p, summary: summarizePosture(p) };
    recordFile = join(dir, 'record.json');
    writeFileSync(recordFile, JSON.stringify(r));
  } finally {
    await l!.close();
  }
});
after(() => rmSync(dir, { recursive: true, force: true }));

describe('ScanStore across processes', () => {
  test('two scans writing one new file at once: both complete, integrity ok', async () => {
    const db = join(dir, 'concurrent', 'history.sqlite');
    const N = 300;
    const a = writer(db, recordFile, '10.1', N, 'finish', true);
    const b = writer(db, recordFile, '10.2', N, 'finish', true);
    await Promise.all([a.waitFor(/^scan \d+$/), b.waitFor(/^scan \d+$/)]); // both created or migrated the file and began a scan
    a.go();
    b.go();
    const [ra, rb] = await Promise.all([a.done, b.done]);
    assert.equal(ra.code, 0, ra.stderr);
    assert.equal(rb.code, 0, rb.stderr);
    assert.equal(integrity(db), 'ok');
    // the two really wrote at the same time: their rows interleave
    const raw = new Database(db, { readonly: true });
    const order = raw.prepare<[], { scan_id: number }>('SELECT scan_id FROM hosts ORDER BY id').all().map((r) => r.scan_id);
    raw.close();
    const switches = order.filter((v, i) => i > 0 && v !== order[i - 1]).length;
    assert.ok(switches > 2, `rows of the two scans interleave (${switches} switches)`);
    const s = ScanStore.open(db, { create: false });
    try {
      const scans = s.scans();
      assert.equal(scans.length, 2);
      for (const sc of scans) {
        assert.equal(sc.hosts, N);
        assert.notEqual(sc.finishedAt, null);
        const prefix = sc.targets[0]!.replace('.0.0/16', '');
        let i = 0;
        for (const r of s.records(sc.id)) {
          assert.equal(r.target.host, `${prefix}.${i >> 8}.${i & 255}`);
          assert.equal(r.posture?.findings.length, JSON.parse(JSON.stringify(r)).posture.findings.length);
          i++;
        }
        assert.equal(i, N);
      }
      assert.equal(s.schemaVersion, 2, 'migrated once, by whichever came first');
    } finally {
      s.close();
    }
  });

  test('a scan killed with SIGKILL after N records: the N records are there, the scan unfinished', async () => {
    const db = join(dir, 'crash-n.sqlite');
    const N = 40;
    const w = writer(db, recordFile, '10.3', N, 'hang');
    const scanLine = await w.waitFor(/^scan \d+$/);
    await w.waitFor(new RegExp(`^stored ${N}$`));
    w.kill();
    const end = await w.done;
    assert.equal(end.signal, 'SIGKILL');
    assert.equal(integrity(db), 'ok');
    const s = ScanStore.open(db, { create: false });
    try {
      const id = Number(scanLine.split(' ')[1]);
      const sc = s.scan(id);
      assert.equal(sc.finishedAt, null, 'the scan stays unfinished');
      assert.equal(sc.hosts, N);
      assert.equal([...s.records(id)].length, N);
      assert.equal(s.latestScans(1, { finishedOnly: true }).length, 0);
    } finally {
      s.close();
    }
  });

  test('a scan killed while writing: every commit it announced survives, nothing half-written', async () => {
    const db = join(dir, 'crash-mid.sqlite');
    const w = writer(db, recordFile, '10.4', 100_000, 'stream');
    const scanLine = await w.waitFor(/^scan \d+$/);
    await w.waitFor(/^stored 150$/);
    w.kill();
    await w.done;
    const announced = Math.max(...w.lines.filter((l) => l.startsWith('stored ')).map((l) => Number(l.split(' ')[1])));
    assert.ok(announced >= 150);
    assert.equal(integrity(db), 'ok');
    const s = ScanStore.open(db, { create: false });
    try {
      const id = Number(scanLine.split(' ')[1]);
      const records = [...s.records(id)];
      assert.ok(records.length >= announced, `${records.length} stored, ${announced} announced`);
      assert.ok(records.length <= announced + 1, 'at most the one being committed when killed');
      assert.equal(s.scan(id).finishedAt, null);
      assert.ok(records.every((r) => r.status === 'ok' && r.posture?.reachable === true));
      // the history file still takes scans after the crash
      const next = s.beginScan({ startedAt: new Date().toISOString(), targets: ['again'], options: {}, rdpsecVersion: 'test' });
      s.addHost(next, records[0]!);
      s.finishScan(next);
      assert.equal(s.latestScans(1, { finishedOnly: true })[0]!.id, next);
    } finally {
      s.close();
    }
  });
});
