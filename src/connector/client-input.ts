import type { ClientInputForm, ClientInputOptions, ClientReading } from './client-reading.js';
import { ClientInputError, fileLoc } from './client-reading.js';
import { readClientReg } from './client-reg.js';
import { readRdpFile } from './rdp-file.js';
import { readXfreerdpArgs } from './xfreerdp-args.js';

export * from './client-reading.js';

/**
 * Client descriptions in the forms users have (issue 6): which form an input is, and its reading
 * (the types and helpers the three readers share are in client-reading.ts).
 */
/** Larger than any .rdp file, command line or client .reg export we read. */
export const MAX_CLIENT_INPUT_BYTES = 1024 * 1024;

const FORMS = 'an .rdp file (name:type:value lines), an xfreerdp command line (xfreerdp /v:HOST ...), or a .reg export ("Windows Registry Editor Version 5.00")';

/**
 * Read a client description in whichever of the three forms it is: by the file's extension
 * when there is one, else by its content. Throws ClientInputError naming the forms otherwise.
 */
export function readClientInput(input: string | Uint8Array, opts: ClientInputOptions = {}): ClientReading {
  const form = detectClientInputForm(input, opts.file);
  if (form === 'rdp-file') return readRdpFile(input, opts);
  if (form === 'reg') return readClientReg(input, opts);
  return readXfreerdpArgs(typeof input === 'string' ? input : decodeCommandLine(input, opts.file), opts);
}

/** Which form the input is in; throws ClientInputError when it is none of them. */
export function detectClientInputForm(input: string | Uint8Array, file?: string): ClientInputForm {
  const size = typeof input === 'string' ? input.length : input.byteLength;
  if (size > MAX_CLIENT_INPUT_BYTES) throw new ClientInputError('Encoding', `input of ${size} bytes is larger than ${MAX_CLIENT_INPUT_BYTES}`, fileLoc(file));
  const ext = file?.toLowerCase().match(/\.([a-z0-9]+)$/)?.[1];
  if (ext === 'rdp') return 'rdp-file';
  if (ext === 'reg') return 'reg';
  const head = headText(input);
  const first = head.replace(/^\uFEFF/, '').trimStart();
  if (/^(Windows Registry Editor Version 5\.00|REGEDIT4)\b/.test(first)) return 'reg';
  if (/^[A-Za-z][A-Za-z0-9 _-]*:[isbISB]:/.test(first)) return 'rdp-file';
  if (/^(\S*\/)?(xfreerdp3?|sdl-freerdp3?|wlfreerdp3?|freerdp)(\s|$)/.test(first) || /^[/+-][a-z]/.test(first)) return 'xfreerdp';
  throw new ClientInputError('Syntax', `cannot tell what this client description is; expected ${FORMS}`, { ...fileLoc(file), line: 1 });
}

/** The first 4 KiB as text, whatever the encoding (UTF-16 files start with a BOM). */
function headText(input: string | Uint8Array): string {
  if (typeof input === 'string') return input.slice(0, 4096);
  const b = Buffer.from(input.buffer, input.byteOffset, Math.min(input.byteLength, 4096));
  if (b.length >= 2 && b[0] === 0xff && b[1] === 0xfe) return b.subarray(2, b.length - (b.length % 2)).toString('utf16le');
  if (b.length >= 2 && b[0] === 0xfe && b[1] === 0xff) {
    const s = Buffer.from(b.subarray(2, b.length - (b.length % 2)));
    s.swap16();
    return s.toString('utf16le');
  }
  return b.toString('utf8');
}

/** A command line saved to a file: UTF-8 (a BOM is dropped); anything else is not a command line. */
function decodeCommandLine(bytes: Uint8Array, file: string | undefined): string {
  try {
    return new TextDecoder('utf-8', { fatal: true }).decode(bytes).replace(/^\uFEFF/, '');
  } catch {
    throw new ClientInputError('Encoding', 'a command line must be UTF-8 text', fileLoc(file));
  }
}

