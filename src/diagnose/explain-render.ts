import pc from 'picocolors';
import type { ErrorEntry } from './explain-catalogue.js';
import type { Evidence, ExplainMatch, ExplainResult } from './explain.js';
import { MAX_INPUT_CHARS } from './explain-text.js';

/**
 * What `rdpsec explain` prints: the terminal text (meaning, causes most likely first with how to
 * confirm each, fixes safest first, a fix that weakens security marked and followed by what it
 * weakens and the safer fix), and the JSON document (schemaVersion 1).
 */

export const EXPLAIN_JSON_VERSION = 1;

export interface ExplainJson {
  schemaVersion: number;
  input: ExplainResult['input'];
  matches: {
    id: string;
    title: string;
    family: string;
    confidence: number;
    documented: boolean;
    meaning: string;
    evidence: { kind: Evidence['kind']; text: string; line: number; confidence: number; note?: string }[];
    causes: { summary: string; confirm: string; command?: string }[];
    fixes: { summary: string; where: string; safety: string; weakens?: string; saferAlternative?: string; steps: string[]; undo: string }[];
    investigate?: { summary: string; command?: string }[];
    related: string[];
    source: string;
  }[];
  tried: ExplainResult['tried'];
}

export function explainJson(r: ExplainResult): ExplainJson {
  return {
    schemaVersion: EXPLAIN_JSON_VERSION,
    input: r.input,
    matches: r.matches.map(({ entry: e, confidence, evidence }) => ({
      id: e.id,
      title: e.title,
      family: e.family,
      confidence,
      documented: e.documented,
      meaning: e.meaning,
      evidence: evidence.map(({ kind, text, line, confidence: c, note }) => ({ kind, text, line, confidence: c, ...(note ? { note } : {}) })),
      causes: e.causes.map((c) => ({ summary: c.summary, confirm: c.confirm, ...(c.command ? { command: c.command } : {}) })),
      fixes: e.fixes.map((f) => ({
        summary: f.summary,
        where: f.where,
        safety: f.safety,
        ...(f.weakens ? { weakens: f.weakens } : {}),
        ...(f.saferAlternative ? { saferAlternative: f.saferAlternative } : {}),
        steps: [...f.steps],
        undo: f.undo,
      })),
      ...(e.investigate ? { investigate: e.investigate.map((i) => ({ ...i })) } : {}),
      related: [...(e.related ?? [])],
      source: e.source,
    })),
    tried: r.tried,
  };
}

/**
 * Word-wrap `text`: the first line holds `width` columns, the others are indented by `indent`
 * and hold `width - indent.length + firstIndent` columns, so that every line ends by the same
 * column when the first one is printed after `firstIndent` characters.
 */
export function wrap(text: string, width: number, indent: string, firstIndent = 0): string {
  const words = text.replace(/\s+/g, ' ').trim().split(' ');
  const lines: string[] = [];
  let line = '';
  for (const w of words) {
    const room = lines.length === 0 ? width : width + firstIndent - indent.length;
    if (line && line.length + 1 + w.length > room) {
      lines.push(line);
      line = w;
    } else line = line ? `${line} ${w}` : w;
  }
  if (line) lines.push(line);
  return lines.join(`\n${indent}`);
}

export interface ExplainRenderOptions {
  color: boolean;
  /** Matches shown in full; the others get one line each. */
  detailed: number;
  width?: number;
}

function evidenceText(e: Evidence): string {
  const what = e.kind === 'partial-phrase' ? 'part of a phrase' : e.kind;
  const shown = e.text.length > 70 ? `${e.text.slice(0, 67)}...` : e.text;
  return `${what} "${shown}" (line ${e.line}${e.note ? `, ${e.note}` : ''})`;
}

type Colors = ReturnType<typeof pc.createColors>;

function renderEntry(m: ExplainMatch, n: number, c: Colors, width: number): string[] {
  const e: ErrorEntry = m.entry;
  const out: string[] = [];
  /** `label text`, wrapped as a whole at `indent` (continuation lines under the text of a label), the label painted. */
  const para = (indent: string, label: string, text: string, paint: (s: string) => string = (s) => s) => {
    const cont = label ? indent + ' '.repeat(label === '-' ? 2 : 3) : indent;
    const wrapped = wrap(label ? `${label} ${text}` : text, width - indent.length, cont, indent.length);
    out.push(indent + (label ? paint(label) + wrapped.slice(label.length) : wrapped));
  };
  para('', `${n}.`, e.title);
  out[out.length - 1] = c.bold(out[out.length - 1]!);
  para('   ', '', `${e.id} (${e.family}), confidence ${m.confidence.toFixed(2)}: ${m.evidence.slice(0, 3).map(evidenceText).join('; ')}`);
  out[out.length - 1] = c.dim(out[out.length - 1]!);
  out.push('');
  if (!e.documented) out.push(`   ${c.yellow(c.bold('No documented meaning.'))}`);
  para('   ', '', e.meaning);
  if (e.causes.length) {
    out.push('', `   ${c.bold('Likely causes, most likely first:')}`);
    for (const [i, cause] of e.causes.entries()) {
      para('   ', `${i + 1}.`, cause.summary);
      para('      ', 'confirm:', cause.confirm, c.dim);
      if (cause.command) out.push(`      ${c.dim('run:')} ${c.cyan(cause.command)}`);
    }
  }
  if (e.investigate?.length) {
    out.push('', `   ${c.bold('To find out what failed:')}`);
    for (const [i, s] of e.investigate.entries()) {
      para('   ', `${i + 1}.`, s.summary);
      if (s.command) out.push(`      ${c.dim('run:')} ${c.cyan(s.command)}`);
    }
  }
  if (e.fixes.length) {
    out.push('', `   ${c.bold('Fixes, safest first:')}`);
    for (const [i, f] of e.fixes.entries()) {
      const tag = f.safety === 'safe' ? '[safe]' : '[weakens-security]';
      para('   ', `${i + 1}. ${tag} (${f.where})`, f.summary, (s) => s.replace(tag, f.safety === 'safe' ? c.green(tag) : c.red(c.bold(tag))));
      if (f.weakens) para('      ', 'weakens:', f.weakens, c.red);
      if (f.saferAlternative) para('      ', 'prefer:', f.saferAlternative, c.green);
      for (const s of f.steps) para('      ', '-', s);
      para('      ', 'undo:', f.undo, c.dim);
    }
  }
  out.push('');
  para('   ', 'source:', e.source, c.dim);
  return out;
}

/** The terminal report of one explain run. */
export function renderExplain(r: ExplainResult, opts: ExplainRenderOptions): string {
  const c = pc.createColors(opts.color);
  const width = opts.width ?? 100;
  const lines: string[] = [];
  if (r.input.truncated) lines.push(c.yellow(`note: only the first ${MAX_INPUT_CHARS / 1024} KiB of the input was read`));
  if (r.matches.length === 0) {
    lines.push(c.bold('No entry of the catalogue matches this text.'));
    const t = r.tried;
    lines.push(`Tried ${r.input.lines} line(s), ${r.input.tokens} token(s):`);
    lines.push(`  numbers read as codes: ${t.numbers.length ? t.numbers.map((n) => (n.form === 'hex' ? n.hex : `${n.text} = ${n.hex}`)).join(', ') : 'none (a decimal inside text counts only after "code", "error", "reason"... or with six digits or more)'}`);
    lines.push(`  names looked up: ${t.names.length ? t.names.join(', ') : 'none'}`);
    lines.push(`  exit codes: ${t.exitCodes.length ? t.exitCodes.join(', ') : 'none (write them as "exit code 133")'}`);
    lines.push(`  ${t.contentWords} word(s) compared with ${t.phrases} catalogue phrases (mstsc dialogs, FreeRDP, xrdp and OpenSSL messages)`);
    lines.push('Paste the whole message or log lines, or the code as shown (0x507, 50331671, -1073741715, ERRCONNECT_...).');
    return lines.join('\n') + '\n';
  }
  const shown = Math.min(r.matches.length, opts.detailed);
  lines.push(c.bold(`rdpsec explain: ${r.matches.length} match${r.matches.length === 1 ? '' : 'es'}`), '');
  for (let i = 0; i < shown; i++) lines.push(...renderEntry(r.matches[i]!, i + 1, c, width), '');
  if (r.matches.length > shown) {
    lines.push(c.bold('Also matched (use --all to see them in full):'));
    for (let i = shown; i < r.matches.length; i++) {
      const m = r.matches[i]!;
      lines.push(`${i + 1}. ${m.entry.title} ${c.dim(`(${m.entry.id}, ${m.confidence.toFixed(2)})`)}`);
    }
    lines.push('');
  }
  return lines.join('\n');
}
