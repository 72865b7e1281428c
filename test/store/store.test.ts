/**
 * ScanStore on real files: records from a real probe of our own server stored and read back
 * (paged, by history, with findings), migrations from a database made by migration 1, refusal of
 * a newer schema without touching the file, and each typed error (corrupt, newer-schema, locked,
 * not-found, io). Directories and the file are created private.
 */
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
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
import { MIGRATIONS, SCHEMA_VERSION_TABLE } from '../../src/store/migrations.js';
import { SCHEMA_VERSION, ScanStore, StoreError, defaultDbPath, type StoreErrorKind } from '../../src/store/store.js';

let base: HostScanRecord;
let dir: string;

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'rdpsec-store-'));
  const tls = await generateSelfSignedCertificate('store');
  const [l] = await serve({ host: '127.0.0.1', ports: [0], policy: preset('windows-2008r2-tls10'), tls, onConnection: () => {} });
  try {
    const p = await probeServer({ host: '127.0.0.1', port: l!.port, timeoutMs: 3000, parallel: 4 });
    p.findings = postureFindings(p);
    base = { version: 1, target: { host: '127.0.0.1', port: l!.port, input: '127.0.0.1' }, startedAt: p.startedAt, durationMs: p.durationMs, tries: 1, status: 'ok', posture: p, summary: summarizePosture(p) };
  } finally {
    await l!.close();
  }
  assert.ok(base.posture!.findings.length >= 2, 'the 2008 R2 preset has findings to store');
});
after(() => rmSync(dir, { recursive: true, force: true }));

let n = 0;
const file = () => join(dir, `h${n++}.sqlite`);
const at = (host: string, port = 3389, edit?: (r: HostScanRecord) => void): HostScanRecord => {
  const r = structuredClone(base);
  r.target = { host, port, input: host };
  r.posture!.target = { host, port };
  edit?.(r);
  return r;
};
/** What a record is once stored: its JSON form (-0 becomes 0, undefined fields go). */
const json = <T>(v: T): T => JSON.parse(JSON.stringify(v)) as T;
const meta = (targets: string[] = ['10.0.0.0/30']) => ({ startedAt: new Date().toISOString(), targets, options: { timeoutMs: 3000 }, rdpsecVersion: '0.1.0' });

function assertStoreError(fn: () => unknown, kind: StoreErrorKind, message?: RegExp): void {
  assert.throws(fn, (e: unknown) => {
    assert.ok(e instanceof StoreError, `a StoreError, got ${String(e)}`);
    assert.equal(e.kind, kind, e.message);
    if (message) assert.match(e.message, message);
    return true;
  });
}

describe('ScanStore', () => {
  test('a scan stored and read back: meta, records in order, summary columns, findings', () => {
    const s = ScanStore.open(file());
    try {
      assert.equal(s.schemaVersion, SCHEMA_VERSION);
      const id = s.beginScan(meta());
      const hosts = ['10.0.0.1', '10.0.0.2', "a'; DROP TABLE scans; --"];
      for (const h of hosts) s.addHost(id, at(h));
      s.addHost(id, { ...at('10.0.0.3'), status: 'unreachable', posture: null, summary: null, error: { kind: 'timeout', phase: 'connect', message: 'no answer' } });
      assert.equal(s.scan(id).finishedAt, null);
      s.finishScan(id, new Date('2026-01-02T03:04:05Z'));
      const info = s.scan(id);
      assert.deepEqual({ ...info, startedAt: '' }, { id, startedAt: '', finishedAt: '2026-01-02T03:04:05.000Z', targets: ['10.0.0.0/30'], options: { timeoutMs: 3000 }, rdpsecVersion: '0.1.0', hosts: 4 });
      const back = [...s.records(id)];
      assert.deepEqual(back.map((r) => r.target.host), [...hosts, '10.0.0.3']);
      assert.deepEqual(back[0], json(at('10.0.0.1')), 'the record round-trips whole (as JSON)');
      const counts = s.findingCounts(id);
      for (const f of base.posture!.findings) assert.deepEqual(counts.find((c) => c.id === f.id), { id: f.id, severity: f.severity, hosts: 3 });
    } finally {
      s.close();
    }
  });

  test('queryable columns hold the summary', () => {
    const path = file();
    const s = ScanStore.open(path);
    const id = s.beginScan(meta());
    s.addHost(id, at('10.0.0.1'));
    s.close();
    const db = new Database(path, { readonly: true });
    const row = db.prepare('SELECT host, port, status, nla_required, tls_range, weakest_encryption, cert_expires, worst_severity FROM hosts').get();
    db.close();
    const sum = base.summary!;
    assert.deepEqual(row, {
      host: '10.0.0.1',
      port: 3389,
      status: 'ok',
      nla_required: sum.nlaRequired ? 1 : 0,
      tls_range: sum.tlsRange,
      weakest_encryption: sum.weakestEncryption,
      cert_expires: sum.certificateExpires,
      worst_severity: sum.worstFinding!.severity,
    });
  });

  test('records() is paged: 600 records, and writes between pages still work', () => {
    const s = ScanStore.open(file());
    try {
      const id = s.beginScan(meta());
      for (let i = 0; i < 600; i++) s.addHost(id, at(`10.1.${i >> 8}.${i & 255}`));
      const other = s.beginScan(meta());
      let seen = 0;
      for (const r of s.records(id)) {
        assert.equal(r.target.host, `10.1.${seen >> 8}.${seen & 255}`);
        if (seen % 100 === 0) s.addHost(other, at(`10.2.0.${seen / 100}`)); // the connection is not held by the iteration
        seen++;
      }
      assert.equal(seen, 600);
      assert.equal(s.scan(other).hosts, 6);
    } finally {
      s.close();
    }
  });

  test('history of an endpoint, oldest first; latestScans newest first; the same endpoint twice keeps the later', () => {
    const s = ScanStore.open(file());
    try {
      const a = s.beginScan(meta());
      s.addHost(a, at('web1', 3389));
      s.addHost(a, at('web1', 3390));
      s.finishScan(a);
      const b = s.beginScan(meta());
      s.addHost(b, at('db1'));
      s.finishScan(b);
      const c = s.beginScan(meta());
      s.addHost(c, at('web1', 3389, (r) => (r.tries = 1)));
      s.addHost(c, at('web1', 3389, (r) => (r.tries = 2)));
      assert.deepEqual(s.history('web1', 3389).map((h) => [h.scan.id, h.record.tries]), [[a, 1], [c, 2]]);
      assert.deepEqual(s.history('web1').map((h) => [h.scan.id, h.record.target.port]), [[a, 3389], [a, 3390], [c, 3389]]);
      assert.deepEqual(s.history('nowhere'), []);
      assert.equal(s.scan(c).hosts, 1);
      assert.equal(s.findingCounts(c)[0]!.hosts, 1, 'the replaced record took its findings along');
      assert.deepEqual(s.latestScans(2).map((x) => x.id), [c, b]);
      assert.deepEqual(s.latestScans(2, { finishedOnly: true }).map((x) => x.id), [b, a]);
      assert.deepEqual(s.scans().map((x) => x.id), [a, b, c]);
    } finally {
      s.close();
    }
  });

  test('not-found: a missing scan, and a missing file when it must exist', () => {
    const s = ScanStore.open(':memory:');
    try {
      assertStoreError(() => s.scan(42), 'not-found', /no scan 42/);
      assertStoreError(() => s.records(42), 'not-found');
      assertStoreError(() => s.addHost(42, at('x')), 'not-found');
      assertStoreError(() => s.finishScan(42), 'not-found');
    } finally {
      s.close();
    }
    const missing = join(dir, 'nope', 'history.sqlite');
    assertStoreError(() => ScanStore.open(missing, { create: false }), 'not-found', /no scan history/);
    assert.throws(() => statSync(join(dir, 'nope')), /ENOENT/, 'nothing created');
  });

  test('a bad record is a TypeError before anything is written', () => {
    const s = ScanStore.open(':memory:');
    try {
      const id = s.beginScan(meta());
      assert.throws(() => s.addHost(id, { ...at('x'), target: { host: 'x', port: 70000, input: 'x' } }), TypeError);
      assert.equal(s.scan(id).hosts, 0);
    } finally {
      s.close();
    }
  });

  test('created directories are 0700 and the file 0600; defaultDbPath follows XDG', () => {
    const path = join(dir, 'fresh', 'deeper', 'history.sqlite');
    ScanStore.open(path).close();
    assert.equal(statSync(join(dir, 'fresh')).mode & 0o777, 0o700);
    assert.equal(statSync(join(dir, 'fresh', 'deeper')).mode & 0o777, 0o700);
    assert.equal(statSync(path).mode & 0o777, 0o600);
    assert.equal(defaultDbPath({ XDG_DATA_HOME: '/data/u', HOME: '/home/u' }), '/data/u/rdpsec/history.sqlite');
    assert.equal(defaultDbPath({ HOME: '/home/u' }), '/home/u/.local/share/rdpsec/history.sqlite');
    assert.equal(defaultDbPath({ XDG_DATA_HOME: 'relative', HOME: '/home/u' }), '/home/u/.local/share/rdpsec/history.sqlite', 'a relative XDG_DATA_HOME is ignored');
  });

  test('the file is left in WAL mode (persistent, for every later connection)', () => {
    const path = file();
    ScanStore.open(path).close();
    const db = new Database(path);
    assert.equal(db.pragma('journal_mode', { simple: true }), 'wal', 'WAL is persistent in the file');
    db.close();
  });
});

describe('ScanStore migrations and refusals', () => {
  test('a database made by migration 1 is upgraded: columns and findings backfilled from the stored JSON', () => {
    const path = file();
    const db = new Database(path);
    db.exec(SCHEMA_VERSION_TABLE);
    db.exec(MIGRATIONS[0]!.sql);
    db.prepare('INSERT INTO schema_version VALUES (1, ?, ?)').run(MIGRATIONS[0]!.name, new Date().toISOString());
    const scanId = Number(db.prepare("INSERT INTO scans (started_at, targets, options, rdpsec_version) VALUES ('2026-01-01T00:00:00Z', '[\"h\"]', '{}', '0.0.9')").run().lastInsertRowid);
    const r = at('old-host');
    db.prepare("INSERT INTO hosts (scan_id, host, port, status, started_at, record) VALUES (?, 'old-host', 3389, 'ok', ?, ?)").run(scanId, r.startedAt, JSON.stringify(r));
    db.close();

    const s = ScanStore.open(path);
    try {
      assert.equal(s.schemaVersion, 2);
      assert.deepEqual([...s.records(scanId)], [json(r)]);
      assert.deepEqual(
        s.findingCounts(scanId).map((c) => c.id).sort(),
        r.posture!.findings.map((f) => f.id).sort(),
        'findings backfilled',
      );
      const id2 = s.beginScan(meta());
      s.addHost(id2, at('new-host'));
      assert.equal(s.scan(id2).hosts, 1);
    } finally {
      s.close();
    }
    const check = new Database(path, { readonly: true });
    assert.deepEqual(check.prepare('SELECT version FROM schema_version ORDER BY version').all(), [{ version: 1 }, { version: 2 }]);
    assert.deepEqual(check.prepare("SELECT tls_range, worst_severity FROM hosts WHERE host = 'old-host'").get(), {
      tls_range: r.summary!.tlsRange,
      worst_severity: r.summary!.worstFinding!.severity,
    });
    check.close();
  });

  test('a database from a newer rdpsec is refused and left byte for byte as it was', () => {
    const path = file();
    ScanStore.open(path).close();
    const db = new Database(path);
    db.prepare("INSERT INTO schema_version VALUES (99, 'from the future', '2030-01-01T00:00:00Z')").run();
    db.pragma('wal_checkpoint(TRUNCATE)');
    db.close();
    const bytes = readFileSync(path);
    assertStoreError(() => ScanStore.open(path), 'newer-schema', /schema version 99.*newer rdpsec/);
    assert.ok(readFileSync(path).equals(bytes), 'not damaged');
  });

  test('corrupt: not a database, a damaged one, or another program\'s database', () => {
    const garbage = file();
    writeFileSync(garbage, Buffer.alloc(8192, 0x5a));
    assertStoreError(() => ScanStore.open(garbage), 'corrupt', /not a database/);

    const damaged = file();
    const s = ScanStore.open(damaged);
    const id = s.beginScan(meta());
    for (let i = 0; i < 50; i++) s.addHost(id, at(`10.3.0.${i}`));
    s.close();
    const b = readFileSync(damaged);
    b.fill(0xa5, 4096, b.length); // every page after the first (the schema) overwritten
    writeFileSync(damaged, b);
    assertStoreError(() => {
      const t = ScanStore.open(damaged);
      try {
        [...t.records(id)];
      } finally {
        t.close();
      }
    }, 'corrupt');

    const foreign = file();
    const db = new Database(foreign);
    db.exec('CREATE TABLE recipes (name TEXT)');
    db.close();
    assertStoreError(() => ScanStore.open(foreign), 'corrupt', /not an rdpsec scan history/);
  });

  test('locked: a writer that holds the lock past the busy timeout', () => {
    const path = file();
    const s = ScanStore.open(path, { busyTimeoutMs: 100 });
    const id = s.beginScan(meta());
    const other = new Database(path);
    other.exec('BEGIN IMMEDIATE');
    try {
      const t0 = Date.now();
      assertStoreError(() => s.addHost(id, at('x')), 'locked', /storing x:3389/);
      assert.ok(Date.now() - t0 >= 90, 'waited for the busy timeout');
    } finally {
      other.exec('ROLLBACK');
      other.close();
    }
    s.addHost(id, at('x'));
    assert.equal(s.scan(id).hosts, 1);
    s.close();
  });

  test('io: a path under a regular file', () => {
    const f = file();
    writeFileSync(f, 'not a directory');
    assertStoreError(() => ScanStore.open(join(f, 'sub', 'history.sqlite')), 'io');
    mkdirSync(join(dir, 'ro'), { mode: 0o500 });
    if (process.getuid?.() !== 0) assertStoreError(() => ScanStore.open(join(dir, 'ro', 'history.sqlite')), 'io');
  });
});
