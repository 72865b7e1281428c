/**
 * The scan history: every `rdpsec scan` is kept in one SQLite file (better-sqlite3, the SQLite
 * embedded in it) so that `rdpsec history HOST` and `rdpsec diff` can read past scans.
 *
 * - WAL journal: readers never block the writer and two scans may write the same file at once
 *   (writers take turns; `busy_timeout` waits for the other's short transaction).
 * - One transaction per host record, committed at once: a scan killed half-way keeps every record
 *   it wrote, and the scan stays unfinished (finishedAt null).
 * - synchronous=NORMAL by default: with WAL a committed transaction survives a crash of the
 *   process; a power loss may drop the last few commits but never corrupts the file
 *   (https://www.sqlite.org/pragma.html#pragma_synchronous). `durable: true` gives FULL (an fsync
 *   per record) for those who want the last commits to survive a power loss too.
 * - Every statement is prepared with bound parameters; no SQL text is built from data.
 */
import { closeSync, existsSync, mkdirSync, openSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import Database from 'better-sqlite3';
import type { Finding } from '../probe/posture.js';
import type { HostScanRecord, ScanMeta } from '../scan/record.js';
import { StoreError, storeError } from './errors.js';
import { MIGRATIONS, SCHEMA_VERSION, SCHEMA_VERSION_TABLE } from './migrations.js';

export { StoreError, type StoreErrorKind } from './errors.js';
export { SCHEMA_VERSION } from './migrations.js';

export interface OpenOptions {
  /** false: the file must exist already (`rdpsec history`, `rdpsec diff`); default true */
  create?: boolean;
  /** how long a write waits for another process's transaction before failing as 'locked' (ms) */
  busyTimeoutMs?: number;
  /** synchronous=FULL: an fsync per record, so a power loss loses nothing committed either */
  durable?: boolean;
}

/** A scan as listed, with how many host records it holds. */
export interface ScanInfo extends ScanMeta {
  hosts: number;
}

/** One scan's record for one endpoint (`rdpsec history HOST`). */
export interface HistoryEntry {
  scan: Pick<ScanMeta, 'id' | 'startedAt' | 'finishedAt'>;
  record: HostScanRecord;
}

/** How many hosts of a scan have each finding (the HTML report's fleet summary). */
export interface FindingCount {
  id: string;
  severity: Finding['severity'];
  hosts: number;
}

export const DEFAULT_BUSY_TIMEOUT_MS = 10_000;
/** Records read per query by `records()`: bounded memory whatever the scan's size. */
const PAGE = 256;

/** $XDG_DATA_HOME/rdpsec/history.sqlite, else ~/.local/share/rdpsec/history.sqlite (XDG Base Directory spec). */
export function defaultDbPath(env: NodeJS.ProcessEnv = process.env): string {
  // the spec: a relative XDG_DATA_HOME is invalid and must be ignored
  const xdg = env.XDG_DATA_HOME;
  const base = xdg && xdg.startsWith('/') ? xdg : join(env.HOME || homedir(), '.local', 'share');
  return join(base, 'rdpsec', 'history.sqlite');
}

interface ScanRow {
  id: number;
  started_at: string;
  finished_at: string | null;
  targets: string;
  options: string;
  rdpsec_version: string;
  hosts: number;
}

interface HostRow {
  id: number;
  record: string;
}

export class ScanStore {
  private readonly stmt;

  private constructor(
    private readonly db: Database.Database,
    /** the database file (or ':memory:') */
    readonly path: string,
  ) {
    this.stmt = {
      insertScan: db.prepare<[string, string, string, string]>(
        'INSERT INTO scans (started_at, targets, options, rdpsec_version) VALUES (?, ?, ?, ?)',
      ),
      finishScan: db.prepare<[string, number]>('UPDATE scans SET finished_at = ? WHERE id = ? AND finished_at IS NULL'),
      scanExists: db.prepare<[number], { id: number }>('SELECT id FROM scans WHERE id = ?'),
      scans: db.prepare<[], ScanRow>(`SELECT s.*, (SELECT COUNT(*) FROM hosts h WHERE h.scan_id = s.id) AS hosts FROM scans s ORDER BY s.id`),
      scan: db.prepare<[number], ScanRow>(`SELECT s.*, (SELECT COUNT(*) FROM hosts h WHERE h.scan_id = s.id) AS hosts FROM scans s WHERE s.id = ?`),
      latest: db.prepare<[number, number], ScanRow>(
        `SELECT s.*, (SELECT COUNT(*) FROM hosts h WHERE h.scan_id = s.id) AS hosts FROM scans s
         WHERE (? = 0 OR s.finished_at IS NOT NULL) ORDER BY s.id DESC LIMIT ?`,
      ),
      deleteHost: db.prepare<[number, string, number]>('DELETE FROM hosts WHERE scan_id = ? AND host = ? AND port = ?'),
      insertHost: db.prepare(
        `INSERT INTO hosts (scan_id, host, port, status, started_at, record, nla_required, tls_range, weakest_encryption, cert_expires, worst_severity)
         VALUES (@scanId, @host, @port, @status, @startedAt, @record, @nlaRequired, @tlsRange, @weakestEncryption, @certExpires, @worstSeverity)`,
      ),
      insertFinding: db.prepare<[number, number, string, number, string, string]>(
        'INSERT INTO findings (scan_id, host_id, host, port, finding_id, severity) VALUES (?, ?, ?, ?, ?, ?)',
      ),
      page: db.prepare<[number, number, number], HostRow>('SELECT id, record FROM hosts WHERE scan_id = ? AND id > ? ORDER BY id LIMIT ?'),
      historyAll: db.prepare<[string], HostRow & { scan_id: number; s_started: string; s_finished: string | null }>(
        `SELECT h.id, h.record, h.scan_id, s.started_at AS s_started, s.finished_at AS s_finished
         FROM hosts h JOIN scans s ON s.id = h.scan_id WHERE h.host = ? ORDER BY h.scan_id, h.port`,
      ),
      historyPort: db.prepare<[string, number], HostRow & { scan_id: number; s_started: string; s_finished: string | null }>(
        `SELECT h.id, h.record, h.scan_id, s.started_at AS s_started, s.finished_at AS s_finished
         FROM hosts h JOIN scans s ON s.id = h.scan_id WHERE h.host = ? AND h.port = ? ORDER BY h.scan_id`,
      ),
      findingCounts: db.prepare<[number], FindingCount>(
        `SELECT finding_id AS id, severity, COUNT(DISTINCT host_id) AS hosts FROM findings WHERE scan_id = ?
         GROUP BY finding_id, severity ORDER BY hosts DESC, finding_id`,
      ),
    };
  }

  /**
   * Opens (creating it unless `create: false`) the history at `path`, or an in-memory one for
   * ':memory:'. Directories it creates are 0700 and a file it creates is 0600: a history lists
   * hosts and their weaknesses. Applies pending migrations; refuses (StoreError 'newer-schema')
   * a file a newer rdpsec wrote, before writing anything to it.
   */
  static open(path: string, opts: OpenOptions = {}): ScanStore {
    const memory = path === ':memory:';
    const file = memory ? path : resolve(path);
    const timeout = opts.busyTimeoutMs ?? DEFAULT_BUSY_TIMEOUT_MS;
    let db: Database.Database | undefined;
    try {
      if (!memory && !existsSync(file)) {
        if (opts.create === false) throw new StoreError('not-found', `no scan history at ${file}`, file);
        mkdirSync(dirname(file), { recursive: true, mode: 0o700 });
        try {
          closeSync(openSync(file, 'wx', 0o600));
        } catch (e) {
          if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e; // another process created it first
        }
      }
      db = new Database(file, { fileMustExist: !memory, timeout });
      checkSchemaVersion(db, file);
      if (!memory) {
        const mode = withBusyRetry(timeout, () => db!.pragma('journal_mode = WAL', { simple: true }));
        if (String(mode).toLowerCase() !== 'wal') throw new StoreError('io', `cannot use a write-ahead log on ${file} (journal_mode ${String(mode)})`, file);
      }
      db.pragma(`synchronous = ${opts.durable ? 'FULL' : 'NORMAL'}`);
      db.pragma('foreign_keys = ON');
      migrate(db, file);
      return new ScanStore(db, file);
    } catch (e) {
      db?.close();
      throw storeError(e, file, 'opening the scan history');
    }
  }

  /** The schema version of this file (after the migrations open applied). */
  get schemaVersion(): number {
    return this.run('reading the schema version', () => currentVersion(this.db));
  }

  /** Starts a scan; its records go in with addHost, and finishScan marks it complete. */
  beginScan(meta: Omit<ScanMeta, 'id' | 'finishedAt'>): number {
    return this.run('starting a scan', () => {
      const r = this.stmt.insertScan.run(meta.startedAt, JSON.stringify(meta.targets ?? []), JSON.stringify(meta.options ?? {}), meta.rdpsecVersion);
      return Number(r.lastInsertRowid);
    });
  }

  /**
   * Stores one endpoint's record (and its findings) in its own transaction, committed when this
   * returns. The same endpoint stored twice in one scan keeps the later record.
   */
  addHost(scanId: number, record: HostScanRecord): void {
    checkRecord(record);
    const { host, port } = record.target;
    const s = record.summary;
    const findings = (record.posture?.findings ?? []).filter((f) => typeof f?.id === 'string' && typeof f.severity === 'string');
    const json = JSON.stringify(record);
    this.run(`storing ${host}:${port}`, () => {
      this.db
        .transaction(() => {
          if (!this.stmt.scanExists.get(scanId)) throw new StoreError('not-found', `no scan ${scanId}`, this.path);
          this.stmt.deleteHost.run(scanId, host, port);
          const hostId = Number(
            this.stmt.insertHost.run({
              scanId,
              host,
              port,
              status: record.status,
              startedAt: record.startedAt,
              record: json,
              nlaRequired: s?.nlaRequired == null ? null : s.nlaRequired ? 1 : 0,
              tlsRange: s?.tlsRange ?? null,
              weakestEncryption: s?.weakestEncryption ?? null,
              certExpires: s?.certificateExpires ?? null,
              worstSeverity: s?.worstFinding?.severity ?? null,
            }).lastInsertRowid,
          );
          for (const f of findings) this.stmt.insertFinding.run(scanId, hostId, host, port, f.id, f.severity);
        })
        .immediate();
    });
  }

  /** Marks a scan complete (at `at`, now by default). A scan finished already keeps its time. */
  finishScan(id: number, at: Date = new Date()): void {
    this.run(`finishing scan ${id}`, () => {
      const r = this.stmt.finishScan.run(at.toISOString(), id);
      if (r.changes === 0 && !this.stmt.scanExists.get(id)) throw new StoreError('not-found', `no scan ${id}`, this.path);
    });
  }

  /** Every scan, oldest first. */
  scans(): ScanInfo[] {
    return this.run('listing scans', () => this.stmt.scans.all().map((r) => this.scanInfo(r)));
  }

  /** One scan; StoreError 'not-found' when there is none with that id. */
  scan(id: number): ScanInfo {
    return this.run(`reading scan ${id}`, () => {
      const r = this.stmt.scan.get(id);
      if (!r) throw new StoreError('not-found', `no scan ${id}`, this.path);
      return this.scanInfo(r);
    });
  }

  /** The `n` most recent scans, newest first; `finishedOnly` skips scans still running or cut short. */
  latestScans(n: number, opts: { finishedOnly?: boolean } = {}): ScanInfo[] {
    const limit = Math.max(0, Math.floor(n));
    return this.run('listing scans', () => this.stmt.latest.all(opts.finishedOnly ? 1 : 0, limit).map((r) => this.scanInfo(r)));
  }

  /**
   * A scan's records in the order they were stored, read a page at a time: a 5,000-host scan is
   * never in memory at once. StoreError 'not-found' (thrown here, not on first iteration) when
   * the scan does not exist.
   */
  records(scanId: number): IterableIterator<HostScanRecord> {
    this.scan(scanId);
    return this.pages(scanId);
  }

  private *pages(scanId: number): Generator<HostScanRecord, void, undefined> {
    let after = 0;
    for (;;) {
      // each page is its own statement: the connection is free between pages (a caller may write meanwhile)
      const rows = this.run(`reading scan ${scanId}`, () => this.stmt.page.all(scanId, after, PAGE));
      for (const r of rows) yield this.parseRecord(r);
      if (rows.length < PAGE) return;
      after = rows[rows.length - 1]!.id;
    }
  }

  /** Each scan's record for host (every port, or one), oldest scan first. */
  history(host: string, port?: number): HistoryEntry[] {
    return this.run(`reading the history of ${host}`, () => {
      const rows = port === undefined ? this.stmt.historyAll.all(host) : this.stmt.historyPort.all(host, port);
      return rows.map((r) => ({ scan: { id: r.scan_id, startedAt: r.s_started, finishedAt: r.s_finished }, record: this.parseRecord(r) }));
    });
  }

  /** Per finding, how many hosts of the scan have it, most common first. */
  findingCounts(scanId: number): FindingCount[] {
    this.scan(scanId);
    return this.run(`counting findings of scan ${scanId}`, () => this.stmt.findingCounts.all(scanId));
  }

  close(): void {
    if (this.db.open) this.db.close();
  }

  private run<T>(doing: string, fn: () => T): T {
    try {
      return fn();
    } catch (e) {
      throw storeError(e, this.path, doing);
    }
  }

  private scanInfo(r: ScanRow): ScanInfo {
    return {
      id: r.id,
      startedAt: r.started_at,
      finishedAt: r.finished_at,
      targets: this.parseJson(r.targets, `scan ${r.id} targets`) as string[],
      options: this.parseJson(r.options, `scan ${r.id} options`) as Record<string, unknown>,
      rdpsecVersion: r.rdpsec_version,
      hosts: r.hosts,
    };
  }

  private parseRecord(r: HostRow): HostScanRecord {
    const v = this.parseJson(r.record, `host row ${r.id}`) as HostScanRecord;
    if (typeof v !== 'object' || v === null || typeof v.target?.host !== 'string') {
      throw new StoreError('corrupt', `host row ${r.id} does not hold a scan record`, this.path);
    }
    return v;
  }

  private parseJson(text: string, what: string): unknown {
    try {
      return JSON.parse(text);
    } catch (e) {
      throw new StoreError('corrupt', `${what} is not valid JSON`, this.path, { cause: e });
    }
  }
}

function currentVersion(db: Database.Database): number {
  const table = db.prepare<[], { n: number }>("SELECT COUNT(*) AS n FROM sqlite_master WHERE type = 'table' AND name = 'schema_version'").get();
  if (!table?.n) return 0;
  return db.prepare<[], { v: number | null }>('SELECT MAX(version) AS v FROM schema_version').get()?.v ?? 0;
}

/** Read-only: refuses a newer schema, and a file that is some other program's database. */
function checkSchemaVersion(db: Database.Database, file: string): void {
  const v = currentVersion(db);
  if (v > SCHEMA_VERSION) {
    throw new StoreError('newer-schema', `${file} has schema version ${v}, written by a newer rdpsec (this one knows up to ${SCHEMA_VERSION}); it was left untouched`, file);
  }
  if (v === 0) {
    const tables = db.prepare<[], { name: string }>("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'").all();
    if (tables.length) {
      throw new StoreError('corrupt', `${file} is an SQLite database but not an rdpsec scan history (tables ${tables.map((t) => t.name).join(', ')}, no schema_version)`, file);
    }
  }
}

/** Applies the missing migrations in one immediate (write-locked) transaction; a second process opening the same new file waits, then finds them applied. */
function migrate(db: Database.Database, file: string): void {
  db.transaction(() => {
    db.exec(SCHEMA_VERSION_TABLE);
    const v = currentVersion(db);
    if (v > SCHEMA_VERSION) throw new StoreError('newer-schema', `${file} has schema version ${v}, written by a newer rdpsec`, file);
    const record = db.prepare<[number, string, string]>('INSERT INTO schema_version (version, name, applied_at) VALUES (?, ?, ?)');
    for (const m of MIGRATIONS) {
      if (m.version <= v) continue;
      db.exec(m.sql);
      record.run(m.version, m.name, new Date().toISOString());
    }
  }).immediate();
}

/**
 * Switching to WAL needs a moment alone with the file; SQLite's busy handler does not cover
 * every case of it (a process in the middle of the same switch), so retry within the timeout.
 */
function withBusyRetry<T>(timeoutMs: number, fn: () => T): T {
  const end = Date.now() + timeoutMs;
  for (;;) {
    try {
      return fn();
    } catch (e) {
      const code = (e as { code?: unknown }).code;
      if (typeof code !== 'string' || !code.startsWith('SQLITE_BUSY') || Date.now() >= end) throw e;
      Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 20);
    }
  }
}

function checkRecord(r: HostScanRecord): void {
  const t = r?.target;
  if (!t || typeof t.host !== 'string' || !t.host || !Number.isInteger(t.port) || t.port < 0 || t.port > 65535) {
    throw new TypeError(`a scan record needs target.host and an integer target.port (got ${JSON.stringify(t)})`);
  }
  if (typeof r.status !== 'string' || typeof r.startedAt !== 'string') {
    throw new TypeError(`the scan record of ${t.host}:${t.port} needs status and startedAt`);
  }
}
