/**
 * The history's schema, as ordered migrations. A database records each migration applied in
 * `schema_version`; opening it applies the ones it lacks, all in one write transaction (an upgrade
 * cut short leaves the database as it was), and
 * refuses a database that records a version above the last one here (a newer rdpsec wrote it).
 *
 * Rules for adding one: append, never edit or reorder a released migration; a migration must be
 * correct on a database holding data (backfill what it adds from the stored record JSON), because
 * histories outlive rdpsec versions.
 */
export interface Migration {
  version: number;
  name: string;
  sql: string;
}

export const MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    name: 'scans and host records',
    sql: `
      CREATE TABLE scans (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        started_at TEXT NOT NULL,
        finished_at TEXT,
        targets TEXT NOT NULL,        -- JSON array of the target texts as given
        options TEXT NOT NULL,        -- JSON object
        rdpsec_version TEXT NOT NULL
      );
      CREATE TABLE hosts (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        scan_id INTEGER NOT NULL REFERENCES scans(id) ON DELETE CASCADE,
        host TEXT NOT NULL,
        port INTEGER NOT NULL,
        status TEXT NOT NULL,         -- ok, unreachable, error
        started_at TEXT NOT NULL,
        record TEXT NOT NULL,         -- the HostScanRecord, JSON
        UNIQUE (scan_id, host, port)
      );
      CREATE INDEX hosts_by_endpoint ON hosts (host, port, scan_id);
    `,
  },
  {
    // The table's columns and the findings, queryable without parsing records (`worst severity
    // per scan`, `which hosts have finding X`). Backfilled from the JSON that migration 1 stored.
    version: 2,
    name: 'summary columns and findings',
    sql: `
      ALTER TABLE hosts ADD COLUMN nla_required INTEGER;       -- 1, 0, NULL (unknown)
      ALTER TABLE hosts ADD COLUMN tls_range TEXT;
      ALTER TABLE hosts ADD COLUMN weakest_encryption TEXT;
      ALTER TABLE hosts ADD COLUMN cert_expires TEXT;
      ALTER TABLE hosts ADD COLUMN worst_severity TEXT;
      UPDATE hosts SET
        nla_required = json_extract(record, '$.summary.nlaRequired'),
        tls_range = json_extract(record, '$.summary.tlsRange'),
        weakest_encryption = json_extract(record, '$.summary.weakestEncryption'),
        cert_expires = json_extract(record, '$.summary.certificateExpires'),
        worst_severity = json_extract(record, '$.summary.worstFinding.severity')
      WHERE json_valid(record);
      CREATE TABLE findings (
        scan_id INTEGER NOT NULL REFERENCES scans(id) ON DELETE CASCADE,
        host_id INTEGER NOT NULL REFERENCES hosts(id) ON DELETE CASCADE,
        host TEXT NOT NULL,
        port INTEGER NOT NULL,
        finding_id TEXT NOT NULL,
        severity TEXT NOT NULL
      );
      CREATE INDEX findings_by_id ON findings (finding_id, scan_id);
      CREATE INDEX findings_by_host_row ON findings (host_id);
      INSERT INTO findings (scan_id, host_id, host, port, finding_id, severity)
        SELECT h.scan_id, h.id, h.host, h.port, json_extract(f.value, '$.id'), json_extract(f.value, '$.severity')
        FROM hosts h, json_each(h.record, '$.posture.findings') f
        WHERE json_valid(h.record) AND json_extract(f.value, '$.id') IS NOT NULL AND json_extract(f.value, '$.severity') IS NOT NULL;
    `,
  },
];

export const SCHEMA_VERSION = MIGRATIONS[MIGRATIONS.length - 1]!.version;

/** The bookkeeping table itself; created before any migration runs. */
export const SCHEMA_VERSION_TABLE = `
  CREATE TABLE IF NOT EXISTS schema_version (
    version INTEGER PRIMARY KEY,
    name TEXT NOT NULL,
    applied_at TEXT NOT NULL
  )`;
