import type { CatalogueIndex, ErrorEntry } from './explain-catalogue.js';
import { strippedNames } from './explain-catalogue.js';
import { hex, hexGuess, readNumber, tokenize, type NumberForm, type NumberReading, type TokenizedText } from './explain-text.js';

/**
 * `rdpsec explain "TEXT or CODE"`: which catalogue entries a pasted error matches, and how
 * surely. Pure and linear in the input (which tokenize() bounds at 64 KiB); never throws on any
 * string.
 *
 * Evidence, strongest first:
 * - a code (0x507, 50331671 = 0x03000017, -1073741715 = 0xC000006D, C000006D) or a constant's
 *   name (ERRCONNECT_SECURITY_NEGO_CONNECT_FAILED): confidence 1.0; a name without its prefix
 *   (SECURITY_NEGO_CONNECT_FAILED) 0.95; a bare number that is the whole input also read as hex
 *   ("507" as 0x507) 0.85;
 * - a FreeRDP exit code, only when written as one ("exit code 133", "exit status 133"): 0.9;
 * - a whole catalogue phrase, in order, across line breaks: 0.7 to 0.9 by its length;
 * - part of a phrase (four content words or more in a row, and half the phrase): below 0.65.
 * An entry marked `consequence` (a log line that only follows from an earlier error, such as
 * xrdp's "libxrdp_force_read: header read error") has its phrase confidence scaled by 0.8, so
 * that the error it follows from ranks first.
 * Decimal numbers inside running text count only after a word such as "code", "error" or
 * "reason", or when they have six digits or more: a log's timestamps, pids and ports are not codes.
 * A phrase match that lies inside a longer match of another entry, no stronger than it, is
 * dropped: the longer text explains it.
 */

export type EvidenceKind = 'code' | 'name' | 'exit-code' | 'phrase' | 'partial-phrase';

export interface Evidence {
  kind: EvidenceKind;
  /** The matched input, as normalised (lowercase). */
  text: string;
  /** 1-based line of the input where it starts. */
  line: number;
  confidence: number;
  /** How it was read, e.g. "0x03000017 (50331671)", or the catalogue phrase matched in part. */
  note?: string;
  /** Token span [start, end] in the input. */
  start: number;
  end: number;
}

export interface ExplainMatch {
  entry: ErrorEntry;
  confidence: number;
  evidence: Evidence[];
}

/** What was looked up, to say so when nothing matched. */
export interface Tried {
  numbers: { text: string; value: number; hex: string; form: NumberForm }[];
  names: string[];
  exitCodes: number[];
  contentWords: number;
  phrases: number;
}

export interface ExplainResult {
  input: { chars: number; truncated: boolean; lines: number; tokens: number };
  matches: ExplainMatch[];
  tried: Tried;
}

/** Words that make a plain decimal number in running text a code ("error code 2308"). */
const CODE_CONTEXT = new Set([
  'code', 'codes', 'error', 'errorcode', 'reason', 'discreason', 'disconnect', 'disconnected', 'status', 'extended',
  'failure', 'failurecode', 'hresult', 'ntstatus', 'errconnect', 'sspi',
]);
/** Words that may sit between "exit" and its number ("exit code 133", "exited with status 1"). */
const EXIT_FILLER = new Set(['code', 'status', 'with', 'value', 'is', 'was', 'of', 'returned']);
const CONTEXT_WINDOW = 4;
const MAX_LISTED = 20;

function round(x: number): number {
  return Math.round(x * 100) / 100;
}

/** One of `words` among the `window` tokens before index i on the same line. */
function precededBy(t: TokenizedText, i: number, words: ReadonlySet<string>, window: number): boolean {
  for (let k = i - 1; k >= 0 && k >= i - window && t.lines[k] === t.lines[i]; k--) if (words.has(t.tokens[k]!)) return true;
  return false;
}

/** Evidence kept per entry: a log repeating one code 10,000 times needs it once, not 10,000 times. */
const MAX_EVIDENCE = 16;

class Collector {
  readonly byEntry = new Map<ErrorEntry, Evidence[]>();
  add(entry: ErrorEntry, ev: Evidence): void {
    const list = this.byEntry.get(entry);
    if (!list) this.byEntry.set(entry, [ev]);
    else if (list.length < MAX_EVIDENCE && !list.some((e) => e.kind === ev.kind && e.start === ev.start && e.end === ev.end)) list.push(ev);
  }
}

function numberEvidence(index: CatalogueIndex, t: TokenizedText, out: Collector, tried: Tried): void {
  const alone = t.tokens.length === 1;
  for (let i = 0; i < t.tokens.length; i++) {
    const tok = t.tokens[i]!;
    const reading = readNumber(tok, t.negative[i] === 1);
    if (!reading) continue;
    const readings: NumberReading[] = [reading];
    if (alone && reading.form === 'decimal') {
      const g = hexGuess(tok);
      if (g) readings.push(g);
    }
    for (const r of readings) {
      const plainDecimal = r.form === 'decimal' && !alone && tok.length < 6;
      if (plainDecimal && !precededBy(t, i, CODE_CONTEXT, CONTEXT_WINDOW)) continue;
      if (tried.numbers.length < MAX_LISTED) tried.numbers.push({ text: (t.negative[i] ? '-' : '') + tok, value: r.value, hex: hex(r.value), form: r.form });
      for (const { entry, context } of index.byCode.get(r.value) ?? []) {
        if (context && !precededBy(t, i, context, 6)) continue;
        const confidence = r.form === 'hex-guess' ? 0.85 : 1;
        const note = r.form === 'hex-guess' ? `${tok} read as hexadecimal ${hex(r.value)}` : `${hex(r.value)} = ${r.value}${r.value >= 0x80000000 ? ` = ${r.value | 0}` : ''}`;
        out.add(entry, { kind: 'code', text: (t.negative[i] ? '-' : '') + tok, line: t.lines[i]!, confidence, note, start: i, end: i });
      }
    }
  }
}

function nameEvidence(index: CatalogueIndex, t: TokenizedText, out: Collector, tried: Tried): void {
  for (let i = 0; i < t.tokens.length; i++) {
    const tok = t.tokens[i]!;
    if (!/[a-z]/.test(tok) || tok.length < 3) continue;
    const exact = index.byName.get(tok);
    // a token that is some entry's exact name is that constant: no looking it up without its prefix
    const candidates = exact ? [] : [tok, ...strippedNames(tok)];
    let found = false;
    for (const e of exact ?? []) {
      out.add(e, { kind: 'name', text: tok, line: t.lines[i]!, confidence: 1, start: i, end: i });
      found = true;
    }
    for (const c of candidates) {
      for (const e of [...(c === tok ? [] : index.byName.get(c) ?? []), ...(index.byStrippedName.get(c) ?? [])]) {
        if (exact?.includes(e)) continue;
        out.add(e, { kind: 'name', text: tok, line: t.lines[i]!, confidence: 0.95, note: 'name without its prefix', start: i, end: i });
        found = true;
      }
    }
    if ((found || tok.includes('_')) && tried.names.length < MAX_LISTED && !tried.names.includes(tok)) tried.names.push(tok);
  }
}

/** FreeRDP's exit codes, only when the text says it is one: "exit code 133", or "$?" then "133". */
function exitEvidence(index: CatalogueIndex, t: TokenizedText, out: Collector, tried: Tried): void {
  for (let i = 0; i < t.tokens.length; i++) {
    const tok = t.tokens[i]!;
    if (!/^[0-9]{1,3}$/.test(tok)) continue;
    const code = Number(tok);
    if (code < 1 || code > 255) continue;
    let isExit = false;
    for (let k = i - 1; k >= 0 && k >= i - 4 && t.lines[k] === t.lines[i]; k--) {
      const w = t.tokens[k]!;
      if (w === 'exit' || w === 'exited' || w === 'rc') {
        isExit = true;
        break;
      }
      if (!EXIT_FILLER.has(w)) break;
    }
    if (!isExit) {
      // `echo $?` on one line, the number alone on the next
      const line = t.lines[i]!;
      const prev = t.lineTexts[line - 2];
      isExit = prev !== undefined && prev.includes('$?') && t.lineTexts[line - 1]!.trim() === tok;
    }
    if (!isExit) continue;
    if (!tried.exitCodes.includes(code) && tried.exitCodes.length < MAX_LISTED) tried.exitCodes.push(code);
    for (const e of index.byExitCode.get(code) ?? []) out.add(e, { kind: 'exit-code', text: tok, line: t.lines[i]!, confidence: 0.9, start: i, end: i });
  }
}

/**
 * Phrases: one pass over the input's content words. For each catalogue position holding the
 * word, the run of consecutive phrase words ending there grows by one if the previous position
 * matched the previous input word; a run as long as its phrase is a whole match.
 */
function phraseEvidence(index: CatalogueIndex, t: TokenizedText, out: Collector, tried: Tried): void {
  const n = index.positionPhrase.length;
  tried.contentWords = t.content.length;
  tried.phrases = index.phrases.length;
  if (n === 0 || t.content.length === 0) return;
  const lastAt = new Int32Array(n).fill(-2);
  const lastRun = new Int32Array(n);
  const bestRun = new Int32Array(index.phrases.length);
  const bestEnd = new Int32Array(index.phrases.length);
  for (let ci = 0; ci < t.content.length; ci++) {
    const positions = index.wordPositions.get(t.tokens[t.content[ci]!]!);
    if (!positions) continue;
    for (let k = 0; k < positions.length; k++) {
      const pos = positions[k]!;
      const run = index.positionOffset[pos]! > 0 && lastAt[pos - 1] === ci - 1 ? lastRun[pos - 1]! + 1 : 1;
      lastAt[pos] = ci;
      lastRun[pos] = run;
      const p = index.positionPhrase[pos]!;
      if (run > bestRun[p]!) {
        bestRun[p] = run;
        bestEnd[p] = ci;
      }
    }
  }
  for (const [p, phrase] of index.phrases.entries()) {
    const run = bestRun[p]!;
    const len = phrase.words.length;
    const whole = run === len;
    if (!whole && (len < 5 || run < 4 || run / len < 0.5)) continue;
    const start = t.content[bestEnd[p]! - run + 1]!;
    const end = t.content[bestEnd[p]!]!;
    const text = t.tokens.slice(start, end + 1).join(' ');
    const scale = phrase.entry.consequence ? 0.8 : 1;
    const ev: Evidence = whole
      ? { kind: 'phrase', text, line: t.lines[start]!, confidence: round(scale * (0.7 + 0.2 * Math.min(1, (len - 2) / 10))), start, end }
      : { kind: 'partial-phrase', text, line: t.lines[start]!, confidence: round(scale * (0.3 + 0.35 * (run / len))), note: `${run} of ${len} words of "${phrase.text}"`, start, end };
    out.add(phrase.entry, ev);
  }
}

/** Drop phrase-only matches explained by a longer, no weaker match of another entry. */
function prune(ranked: ExplainMatch[]): ExplainMatch[] {
  const kept: ExplainMatch[] = [];
  for (const m of ranked) {
    const onlyText = m.evidence.every((e) => e.kind === 'phrase' || e.kind === 'partial-phrase');
    const covered =
      onlyText &&
      m.evidence.every((e) =>
        kept.some((k) => k.evidence.some((f) => f.start <= e.start && f.end >= e.end && f.end - f.start > e.end - e.start && f.confidence >= e.confidence)),
      );
    if (!covered) kept.push(m);
  }
  return kept;
}

/** Explain a pasted error text or code against the catalogue. */
export function explain(input: string, index: CatalogueIndex): ExplainResult {
  const t = tokenize(typeof input === 'string' ? input : String(input));
  const tried: Tried = { numbers: [], names: [], exitCodes: [], contentWords: 0, phrases: 0 };
  const out = new Collector();
  numberEvidence(index, t, out, tried);
  nameEvidence(index, t, out, tried);
  exitEvidence(index, t, out, tried);
  phraseEvidence(index, t, out, tried);
  const matches: ExplainMatch[] = [];
  for (const [entry, all] of out.byEntry) {
    // one of the entry's phrases inside a longer one of its own adds nothing
    const evidence = all.filter((e) => !all.some((f) => f !== e && f.start <= e.start && f.end >= e.end && f.end - f.start > e.end - e.start));
    evidence.sort((a, b) => b.confidence - a.confidence || a.start - b.start);
    matches.push({ entry, confidence: evidence[0]!.confidence, evidence });
  }
  matches.sort(
    (a, b) =>
      b.confidence - a.confidence ||
      Math.max(...b.evidence.map((e) => e.end - e.start)) - Math.max(...a.evidence.map((e) => e.end - e.start)) ||
      a.evidence[0]!.start - b.evidence[0]!.start ||
      (a.entry.id < b.entry.id ? -1 : 1),
  );
  const lineCount = t.lineTexts.length;
  return {
    input: { chars: t.chars, truncated: t.truncated, lines: lineCount, tokens: t.tokens.length },
    matches: prune(matches),
    tried,
  };
}
