import { DataError, loadDataFolder } from '../data/load.js';
import { phraseWords } from './explain-text.js';

/**
 * The error catalogue behind `rdpsec explain`: data/errors/*.yaml, one file per family, every
 * file checked against data/schemas/errors.schema.json at build and at load. This module adds
 * the checks a schema cannot express and builds the lookup index the matcher (explain.ts) uses.
 */

export type ErrorFamily = 'rdp-neg-failure' | 'freerdp' | 'mstsc' | 'credssp' | 'xrdp' | 'openssl' | 'gateway';
export type FixWhere = 'server' | 'client' | 'gateway' | 'network';
export type FixSafety = 'safe' | 'weakens-security';

export interface CodeSpec {
  value: number;
  /** Words one of which must come shortly before the number on its line. */
  context?: string[];
}

export interface ErrorCause {
  summary: string;
  /** How to confirm this cause. */
  confirm: string;
  /** The rdpsec command that confirms it, where one exists. */
  command?: string;
}

export interface ErrorFix {
  summary: string;
  where: FixWhere;
  safety: FixSafety;
  /** What the fix weakens (fixes marked weakens-security only). */
  weakens?: string;
  /** The safer fix to prefer (fixes marked weakens-security only). */
  saferAlternative?: string;
  steps: string[];
  undo: string;
}

/** One entry as written in data/errors/FAMILY.yaml. */
export interface ErrorEntryData {
  id: string;
  title: string;
  meaning: string;
  /** False when no source documents what the code means. */
  documented: boolean;
  codes?: CodeSpec[];
  names?: string[];
  phrases?: string[];
  exitCodes?: number[];
  causes: ErrorCause[];
  fixes: ErrorFix[];
  investigate?: { summary: string; command?: string }[];
  related?: string[];
  /** A log line that only follows from an earlier error: ranked below the error it follows. */
  consequence?: boolean;
  source: string;
}

export interface ErrorEntry extends ErrorEntryData {
  family: ErrorFamily;
  /** The file it comes from, e.g. "xrdp.yaml". */
  file: string;
}

interface ErrorFileDoc {
  family: ErrorFamily;
  entries: ErrorEntryData[];
}

/** Prefixes a user may leave out of a constant's name ("SECURITY_NEGO_CONNECT_FAILED"). */
export const NAME_PREFIXES = [
  'freerdp_error_connect_',
  'freerdp_error_',
  'errconnect_',
  'xf_exit_',
  'status_',
  'errinfo_',
  'e_proxy_',
  'sec_e_',
  'ssl_r_',
  'authz_',
] as const;

/** The forms of a constant's name without a known prefix (only forms that keep an underscore). */
export function strippedNames(lowerName: string): string[] {
  const out: string[] = [];
  for (const p of NAME_PREFIXES) {
    if (lowerName.startsWith(p)) {
      const rest = lowerName.slice(p.length);
      if (rest.includes('_')) out.push(rest);
    }
  }
  return out;
}

export interface IndexedPhrase {
  entry: ErrorEntry;
  text: string;
  words: string[];
}

/** Everything the matcher looks things up in, built once per catalogue. */
export interface CatalogueIndex {
  entries: ReadonlyMap<string, ErrorEntry>;
  byCode: ReadonlyMap<number, readonly { entry: ErrorEntry; context?: ReadonlySet<string> }[]>;
  byName: ReadonlyMap<string, readonly ErrorEntry[]>;
  byStrippedName: ReadonlyMap<string, readonly ErrorEntry[]>;
  byExitCode: ReadonlyMap<number, readonly ErrorEntry[]>;
  phrases: readonly IndexedPhrase[];
  /** Phrase word -> global positions holding it, highest first (see explain.ts). */
  wordPositions: ReadonlyMap<string, Int32Array>;
  /** Global position -> phrase index, and -> offset in that phrase. */
  positionPhrase: Int32Array;
  positionOffset: Int32Array;
}

function push<K, V>(map: Map<K, V[]>, key: K, value: V): void {
  const list = map.get(key);
  if (list) {
    if (!list.includes(value)) list.push(value);
  } else map.set(key, [value]);
}

/**
 * The checks beyond the schema: unique ids, existing `related` ids, fixes ranked by safety (a
 * fix that weakens security never before a safe one, and never without a safe one before it),
 * phrases with at least two content words. Throws DataError naming the file and entry.
 */
export function checkEntries(entries: readonly ErrorEntry[]): void {
  const ids = new Set<string>();
  for (const e of entries) {
    const where = `data/errors/${e.file}: ${e.id}`;
    if (ids.has(e.id)) throw new DataError(`${where}: duplicate id`);
    ids.add(e.id);
    let weakening = false;
    for (const [i, f] of e.fixes.entries()) {
      if (f.safety === 'weakens-security') {
        if (i === 0) throw new DataError(`${where}: fix 1 weakens security but no safe fix comes before it`);
        weakening = true;
      } else if (weakening) throw new DataError(`${where}: safe fix ${i + 1} comes after a fix that weakens security (rank fixes safest first)`);
    }
    for (const p of e.phrases ?? []) {
      if (phraseWords(p).length < 2) throw new DataError(`${where}: phrase "${p}" has fewer than two content words`);
    }
  }
  for (const e of entries) {
    for (const r of e.related ?? []) if (!ids.has(r)) throw new DataError(`data/errors/${e.file}: ${e.id}: related id ${r} does not exist`);
  }
}

/** The lookup index of a set of entries (already checked). */
export function buildIndex(entries: readonly ErrorEntry[]): CatalogueIndex {
  const byId = new Map<string, ErrorEntry>();
  const byCode = new Map<number, { entry: ErrorEntry; context?: ReadonlySet<string> }[]>();
  const byName = new Map<string, ErrorEntry[]>();
  const byStripped = new Map<string, ErrorEntry[]>();
  const byExit = new Map<number, ErrorEntry[]>();
  const phrases: IndexedPhrase[] = [];
  for (const e of entries) {
    byId.set(e.id, e);
    for (const c of e.codes ?? []) {
      const list = byCode.get(c.value) ?? [];
      list.push({ entry: e, ...(c.context ? { context: new Set(c.context) } : {}) });
      byCode.set(c.value, list);
    }
    for (const n of e.names ?? []) {
      const lower = n.toLowerCase();
      push(byName, lower, e);
      for (const s of strippedNames(lower)) push(byStripped, s, e);
    }
    for (const x of e.exitCodes ?? []) push(byExit, x, e);
    for (const p of e.phrases ?? []) phrases.push({ entry: e, text: p, words: phraseWords(p) });
  }
  const total = phrases.reduce((n, p) => n + p.words.length, 0);
  const positionPhrase = new Int32Array(total);
  const positionOffset = new Int32Array(total);
  const positions = new Map<string, number[]>();
  let pos = 0;
  for (const [pi, p] of phrases.entries()) {
    for (const [j, w] of p.words.entries()) {
      positionPhrase[pos] = pi;
      positionOffset[pos] = j;
      push(positions, w, pos);
      pos++;
    }
  }
  const wordPositions = new Map<string, Int32Array>();
  for (const [w, list] of positions) wordPositions.set(w, Int32Array.from(list).sort().reverse());
  return { entries: byId, byCode, byName, byStrippedName: byStripped, byExitCode: byExit, phrases, wordPositions, positionPhrase, positionOffset };
}

let cache: CatalogueIndex | undefined;

/** The catalogue of data/errors/*.yaml, loaded, checked and indexed once. */
export function errorCatalogue(): CatalogueIndex {
  if (cache) return cache;
  const entries: ErrorEntry[] = [];
  for (const { file, doc } of loadDataFolder<ErrorFileDoc>('errors')) {
    if (file !== `${doc.family}.yaml`) throw new DataError(`data/errors/${file}: family "${doc.family}" does not match the file name`);
    for (const e of doc.entries) entries.push({ ...e, family: doc.family, file });
  }
  checkEntries(entries);
  cache = buildIndex(entries);
  return cache;
}
