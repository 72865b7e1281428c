import { PolicyError } from './errors.js';

/**
 * A registry export (`reg export KEY file.reg`, regedit's File > Export) read as data: keys,
 * values, and the line each came from. Pure: takes the file's bytes (or text), returns
 * structures; policy/windows-registry.ts gives them meaning.
 *
 * The format, as regedit and reg.exe write it:
 * - "Windows Registry Editor Version 5.00" files are UTF-16LE with a BOM (FF FE) and CRLF line
 *   ends; the older "REGEDIT4" format is ANSI. A file saved again by an editor may be UTF-8
 *   (with or without EF BB BF), so all are accepted.
 * - `[KEY PATH]` opens a key, `[-KEY PATH]` deletes one.
 * - `"Name"=value` or `@=value` (the default value); value forms: `"string"` (with \\ and \"
 *   escapes), `dword:0000000a`, `hex:01,02` (REG_BINARY), `hex(N):..` (other types, N in hex:
 *   2 REG_EXPAND_SZ, 7 REG_MULTI_SZ, b REG_QWORD), `-` (delete the value).
 * - A hex list longer than a line continues: the line ends with `\` and the next one starts
 *   with spaces. Lines starting with `;` are comments.
 */

export type RegValue =
  | { type: 'dword'; value: number }
  | { type: 'string'; value: string }
  /** hexType: the N of hex(N) (REG_BINARY 3 for a plain `hex:`) */
  | { type: 'hex'; hexType: number; bytes: Buffer }
  | { type: 'delete' };

export interface RegEntry {
  /** value name as written ('' for the default value `@`) */
  name: string;
  value: RegValue;
  /** 1-based line of the `"Name"=` line */
  line: number;
  /** the value part as written (continuations joined), for error messages */
  raw: string;
}

export interface RegKey {
  /** the path as written, without brackets (and without the leading '-' of a deletion) */
  path: string;
  delete: boolean;
  line: number;
  values: RegEntry[];
}

export type RegEncoding = 'utf-16le' | 'utf-16be' | 'utf-8' | 'latin1';

export interface RegFile {
  file?: string;
  encoding: RegEncoding;
  format: 'regedit5' | 'regedit4';
  keys: RegKey[];
}

/** Larger than any RDP-related export; a whole-hive export is not what this parser is for. */
export const MAX_REG_FILE_BYTES = 32 * 1024 * 1024;

/** Decode the bytes by their BOM: UTF-16LE (FF FE), UTF-16BE (FE FF), UTF-8 (EF BB BF); else UTF-8 if valid, else ANSI (latin1). */
export function decodeRegText(bytes: Uint8Array, file?: string): { text: string; encoding: RegEncoding } {
  if (bytes.length > MAX_REG_FILE_BYTES) {
    throw new PolicyError('Encoding', `file of ${bytes.length} bytes is larger than ${MAX_REG_FILE_BYTES}`, fileLoc(file));
  }
  const buf = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (buf.length >= 2 && buf[0] === 0xff && buf[1] === 0xfe) {
    if ((buf.length - 2) % 2 !== 0) throw new PolicyError('Encoding', 'UTF-16LE file with an odd number of bytes', fileLoc(file));
    return { text: buf.subarray(2).toString('utf16le'), encoding: 'utf-16le' };
  }
  if (buf.length >= 2 && buf[0] === 0xfe && buf[1] === 0xff) {
    if ((buf.length - 2) % 2 !== 0) throw new PolicyError('Encoding', 'UTF-16BE file with an odd number of bytes', fileLoc(file));
    const swapped = Buffer.from(buf.subarray(2));
    swapped.swap16();
    return { text: swapped.toString('utf16le'), encoding: 'utf-16be' };
  }
  if (buf.length >= 3 && buf[0] === 0xef && buf[1] === 0xbb && buf[2] === 0xbf) {
    return { text: buf.subarray(3).toString('utf8'), encoding: 'utf-8' };
  }
  try {
    return { text: new TextDecoder('utf-8', { fatal: true }).decode(buf), encoding: 'utf-8' };
  } catch {
    return { text: buf.toString('latin1'), encoding: 'latin1' };
  }
}

function fileLoc(file: string | undefined): { file?: string } {
  return file === undefined ? {} : { file };
}

/** Parse a `"..."` string starting at `s[0] === '"'`; returns the unescaped text and the index after the closing quote. */
function readQuoted(s: string, file: string | undefined, line: number): { text: string; end: number } {
  let out = '';
  for (let i = 1; i < s.length; i++) {
    const c = s[i];
    if (c === '\\') {
      const n = s[i + 1];
      if (n === undefined) break;
      out += n;
      i++;
    } else if (c === '"') {
      return { text: out, end: i + 1 };
    } else {
      out += c;
    }
  }
  throw new PolicyError('Syntax', 'unterminated string', { ...fileLoc(file), line, value: s });
}

function parseHexBytes(list: string, file: string | undefined, line: number, name: string, raw: string): Buffer {
  const trimmed = list.replace(/\s+/g, '');
  if (trimmed === '') return Buffer.alloc(0);
  const parts = trimmed.split(',');
  // a trailing comma is what a continuation leaves when the last line is empty
  if (parts[parts.length - 1] === '') parts.pop();
  const out = Buffer.alloc(parts.length);
  parts.forEach((p, i) => {
    if (!/^[0-9a-fA-F]{1,2}$/.test(p)) {
      throw new PolicyError('Syntax', `'${p}' is not a hex byte`, { ...fileLoc(file), line, key: name, value: raw });
    }
    out[i] = parseInt(p, 16);
  });
  return out;
}

function parseValue(raw: string, file: string | undefined, line: number, name: string): RegValue {
  const loc = { ...fileLoc(file), line, key: name, value: raw };
  if (raw === '-') return { type: 'delete' };
  if (raw.startsWith('"')) {
    const { text, end } = readQuoted(raw, file, line);
    if (raw.slice(end).trim() !== '') throw new PolicyError('Syntax', 'text after the closing quote', loc);
    return { type: 'string', value: text };
  }
  const dword = /^dword:([0-9a-fA-F]{1,8})$/i.exec(raw);
  if (dword) return { type: 'dword', value: parseInt(dword[1] ?? '0', 16) >>> 0 };
  const hex = /^hex(?:\(([0-9a-fA-F]{1,8})\))?:(.*)$/i.exec(raw);
  if (hex) {
    return { type: 'hex', hexType: hex[1] === undefined ? 3 : parseInt(hex[1], 16), bytes: parseHexBytes(hex[2] ?? '', file, line, name, raw) };
  }
  throw new PolicyError('Syntax', `cannot read value '${raw}'`, loc);
}

/** Parse a .reg export (bytes as written by Windows, or already decoded text). */
export function parseRegFile(input: Uint8Array | string, file?: string): RegFile {
  const { text, encoding } = typeof input === 'string' ? { text: input.replace(/^\uFEFF/, ''), encoding: 'utf-8' as const } : decodeRegText(input, file);
  const lines = text.split(/\r\n|\n|\r/);
  let i = 0;
  while (i < lines.length && (lines[i] ?? '').trim() === '') i++;
  const header = (lines[i] ?? '').trim();
  let format: RegFile['format'];
  if (header === 'Windows Registry Editor Version 5.00') format = 'regedit5';
  else if (header === 'REGEDIT4') format = 'regedit4';
  else {
    throw new PolicyError('MissingHeader', `expected "Windows Registry Editor Version 5.00" or "REGEDIT4", found '${header.slice(0, 60)}'`, {
      ...fileLoc(file),
      line: i + 1,
    });
  }
  const keys: RegKey[] = [];
  let current: RegKey | undefined;
  for (i = i + 1; i < lines.length; i++) {
    const lineNo = i + 1;
    let line = (lines[i] ?? '').trim();
    if (line === '' || line.startsWith(';')) continue;
    if (line.startsWith('[')) {
      if (!line.endsWith(']')) throw new PolicyError('Syntax', 'key line without a closing bracket', { ...fileLoc(file), line: lineNo, value: line });
      const inner = line.slice(1, -1);
      const del = inner.startsWith('-');
      current = { path: del ? inner.slice(1) : inner, delete: del, line: lineNo, values: [] };
      keys.push(current);
      continue;
    }
    // join continuation lines: a value whose text ends with a backslash goes on
    while (line.endsWith('\\') && i + 1 < lines.length) {
      i++;
      line = line.slice(0, -1) + (lines[i] ?? '').trim();
    }
    let name: string;
    let rest: string;
    if (line.startsWith('@')) {
      name = '';
      rest = line.slice(1);
    } else if (line.startsWith('"')) {
      const q = readQuoted(line, file, lineNo);
      name = q.text;
      rest = line.slice(q.end);
    } else {
      throw new PolicyError('Syntax', `cannot read line '${line.slice(0, 60)}'`, { ...fileLoc(file), line: lineNo, value: line });
    }
    rest = rest.trimStart();
    if (!rest.startsWith('=')) throw new PolicyError('Syntax', `expected '=' after the value name`, { ...fileLoc(file), line: lineNo, key: name, value: line });
    const raw = rest.slice(1).trim();
    if (!current) throw new PolicyError('Syntax', 'value outside any [key]', { ...fileLoc(file), line: lineNo, key: name, value: raw });
    current.values.push({ name, value: parseValue(raw, file, lineNo, name), line: lineNo, raw });
  }
  return { ...fileLoc(file), encoding, format, keys };
}

/** Encode text as Windows writes a .reg file: UTF-16LE with a BOM, CRLF line ends. */
export function encodeRegUtf16(text: string): Buffer {
  const crlf = text.replace(/\r?\n/g, '\r\n');
  return Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from(crlf, 'utf16le')]);
}
