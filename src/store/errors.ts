/**
 * Typed errors of the scan history. Every SQLite or file-system failure that reaches a caller is
 * one of these, with a kind the CLI can act on (`rdpsec diff` on a missing scan says so; a history
 * written by a newer rdpsec is refused before anything is written to it).
 */
export type StoreErrorKind =
  /** not an SQLite database, or damaged pages, or a stored row that does not parse */
  | 'corrupt'
  /** written by a newer rdpsec: its schema version is above the migrations we know */
  | 'newer-schema'
  /** another process held the write lock past the busy timeout */
  | 'locked'
  /** no such scan, or no database file where one must exist */
  | 'not-found'
  /** the file or its directory cannot be created, read or written (permissions, read-only disk, full disk) */
  | 'io';

export class StoreError extends Error {
  override readonly name = 'StoreError';
  constructor(
    readonly kind: StoreErrorKind,
    message: string,
    /** the database file */
    readonly path: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/** SQLite result codes (https://www.sqlite.org/rescode.html) by the family better-sqlite3 names them with. */
const KIND_BY_CODE: ReadonlyArray<[prefix: string, kind: StoreErrorKind]> = [
  ['SQLITE_NOTADB', 'corrupt'],
  ['SQLITE_CORRUPT', 'corrupt'],
  ['SQLITE_BUSY', 'locked'],
  ['SQLITE_LOCKED', 'locked'],
  ['SQLITE_CANTOPEN', 'io'],
  ['SQLITE_READONLY', 'io'],
  ['SQLITE_IOERR', 'io'],
  ['SQLITE_FULL', 'io'],
  ['SQLITE_PERM', 'io'],
];

/**
 * The StoreError for what better-sqlite3 (or node:fs) threw; `doing` says what we were at, in
 * lowercase so messages compose ("opening the history: database disk image is malformed").
 * Errors that are not SQLite's nor the file system's (a bug) are returned unchanged.
 */
export function storeError(e: unknown, path: string, doing: string): unknown {
  if (e instanceof StoreError) return e;
  const code = (e as { code?: unknown } | null)?.code;
  const message = e instanceof Error ? e.message : String(e);
  if (typeof code === 'string') {
    const hit = KIND_BY_CODE.find(([p]) => code === p || code.startsWith(`${p}_`));
    if (hit) return new StoreError(hit[1], `${doing}: ${message} (${code})`, path, { cause: e });
    if (/^E[A-Z]+$/.test(code)) return new StoreError('io', `${doing}: ${message}`, path, { cause: e });
  }
  return e;
}
