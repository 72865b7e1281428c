/**
 * How `rdpsec explain` reads what a user pastes: a dialog copied with its line breaks and the
 * remote computer's name, a code in any base, a log excerpt of many lines. Pure functions, no
 * catalogue: the same normalisation is applied to the catalogue's phrases and to the input, so
 * both sides always agree.
 *
 * Bound: only the first MAX_INPUT_CHARS characters (UTF-16 code units, 64 KiB) are read; the
 * rest is ignored and the result says it was truncated. Everything here is linear in that.
 */

/** Characters of input that explain considers (64 KiB); the rest is dropped. */
export const MAX_INPUT_CHARS = 64 * 1024;

/**
 * Words left out of phrase matching, on both sides: they carry no meaning of their own, and
 * dropping them makes "can't connect to the remote computer" and "cannot connect remote
 * computer" agree on their content words.
 */
const STOPWORDS = new Set([
  'a', 'an', 'the', 'to', 'of', 'in', 'on', 'for', 'and', 'or', 'is', 'are', 'be', 'was', 'were', 'been',
  'this', 'that', 'these', 'those', 'it', 'its', 'your', 'you', 'please', 't', 's', 'can', 'cannot', 'could',
  'has', 'have', 'had', 'with', 'by', 'as', 'at', 'from', 'if', 'then', 'than', 'so', 'may', 'might', 'will',
  'would', 'do', 'does', 'did', 'which', 'there', 'here', 'into', 'also', 'any', 'some', 'such',
]);

/** A pasted text cut into lowercase tokens ([a-z0-9_]+), each with its line. */
export interface TokenizedText {
  /** Every token, in order. */
  tokens: string[];
  /** The 1-based line of each token. */
  lines: Int32Array;
  /** Whether each token is a number written with a minus sign just before it ("-1073741715"). */
  negative: Uint8Array;
  /** Indices (into `tokens`) of the tokens that take part in phrase matching (not stopwords). */
  content: Int32Array;
  /** The normalised lines (lowercase, names removed), for context checks and display. */
  lineTexts: string[];
  /** Characters read, and whether the input was longer than MAX_INPUT_CHARS. */
  chars: number;
  truncated: boolean;
}

/**
 * Lowercase the text, unify quotes and spaces, and drop the remote computer's name where
 * mstsc prints it ("Remote computer: SRV01", `can't find the computer "SRV01"`), so that one
 * phrase in the catalogue matches every user's copy of the dialog.
 */
export function normaliseText(raw: string): string {
  return raw
    .toLowerCase()
    .replace(/[\u2018\u2019\u201a\u201b\u2032]/g, "'")
    .replace(/[\u201c\u201d\u201e\u201f\u2033]/g, '"')
    .replace(/[\u00a0\u2000-\u200b\u202f\u205f\u3000]/g, ' ')
    .replace(/remote computer:[ \t]*(?:\r?\n|\r)?[ \t]*[^\s"]+/g, 'remote computer:')
    .replace(/(find the computer)[ \t]*"[^"\r\n]{0,255}"/g, '$1');
}

const TOKEN = /[a-z0-9_]+/g;

/** Normalise and tokenise (the input is cut at MAX_INPUT_CHARS first). */
export function tokenize(raw: string): TokenizedText {
  const truncated = raw.length > MAX_INPUT_CHARS;
  const text = normaliseText(truncated ? raw.slice(0, MAX_INPUT_CHARS) : raw);
  const lineTexts = text.split(/\r\n|\n|\r/);
  const tokens: string[] = [];
  const lineOf: number[] = [];
  const neg: number[] = [];
  for (let l = 0; l < lineTexts.length; l++) {
    const line = lineTexts[l]!;
    TOKEN.lastIndex = 0;
    for (let m = TOKEN.exec(line); m; m = TOKEN.exec(line)) {
      const at = m.index;
      tokens.push(m[0]);
      lineOf.push(l + 1);
      // a minus sign that starts a number: "-1073741715", not "sec-nla" nor "x-5"
      neg.push(at > 0 && line[at - 1] === '-' && /^[0-9]/.test(m[0]) && (at < 2 || !/[a-z0-9_]/.test(line[at - 2]!)) ? 1 : 0);
    }
  }
  const content: number[] = [];
  for (let i = 0; i < tokens.length; i++) if (!STOPWORDS.has(tokens[i]!)) content.push(i);
  return {
    tokens,
    lines: Int32Array.from(lineOf),
    negative: Uint8Array.from(neg),
    content: Int32Array.from(content),
    lineTexts,
    chars: Math.min(raw.length, MAX_INPUT_CHARS),
    truncated,
  };
}

/** The content words of a catalogue phrase, normalised exactly as input is. */
export function phraseWords(phrase: string): string[] {
  const t = tokenize(phrase);
  return Array.from(t.content, (i) => t.tokens[i]!);
}

/** How a token was read as a number. */
export type NumberForm =
  /** 0x-prefixed hexadecimal: "0x507", "0x0002000C" */
  | 'hex'
  /** eight hexadecimal digits with a letter among them, no prefix: "C000006D" */
  | 'hex-bare'
  /** decimal: "50331671", "2308" */
  | 'decimal'
  /** a decimal written with a minus sign, taken as a two's complement int32: "-1073741715" */
  | 'negative'
  /** a bare number that is the whole input, read as hexadecimal as well: "507" as 0x507 */
  | 'hex-guess';

export interface NumberReading {
  value: number;
  form: NumberForm;
}

/**
 * The numeric readings of one token: NTSTATUS and HRESULT values are negative int32 in
 * decimal, so "-1073741715" is 0xC000006D; values above 32 bits are not codes.
 */
export function readNumber(token: string, negative: boolean): NumberReading | undefined {
  let m = /^0x0*([0-9a-f]{1,8})$/.exec(token);
  if (m) return { value: parseInt(m[1]!, 16) >>> 0, form: 'hex' };
  if (token === '0x') return undefined;
  if (/^0x0+$/.test(token)) return { value: 0, form: 'hex' };
  if (/^[0-9a-f]{8}$/.test(token) && /[a-f]/.test(token)) return { value: parseInt(token, 16) >>> 0, form: 'hex-bare' };
  m = /^[0-9]{1,10}$/.exec(token);
  if (!m) return undefined;
  const v = Number(token);
  if (negative) return v >= 1 && v <= 0x80000000 ? { value: (0x100000000 - v) >>> 0, form: 'negative' } : undefined;
  return v <= 0xffffffff ? { value: v, form: 'decimal' } : undefined;
}

/** "507" read as hexadecimal too, when the whole input is one bare number of 2 to 8 digits. */
export function hexGuess(token: string): NumberReading | undefined {
  if (!/^[0-9]{2,8}$/.test(token)) return undefined;
  return { value: parseInt(token, 16) >>> 0, form: 'hex-guess' };
}

/** 0x-prefixed, upper-case, at least 3 digits: how codes are written back to the user. */
export function hex(value: number): string {
  return `0x${(value >>> 0).toString(16).toUpperCase().padStart(3, '0')}`;
}
