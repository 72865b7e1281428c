import { PolicyError, type PolicyErrorKind, type PolicyLocation } from '../policy/errors.js';
import type { ClientProfile } from './client-profiles.js';
import { readRdpFile } from './rdp-file.js';
import { readXfreerdpArgs } from './xfreerdp-args.js';
import { readClientReg } from './client-reg.js';

/**
 * A client described in the forms users have (issue 6): an `.rdp` file, an xfreerdp command
 * line, or a `.reg` export of the client's CredSSP / LSA keys. Each parser turns one into a
 * ClientProfile (src/connector/client-profiles.ts) and says, setting by setting, what changed
 * the profile, what it recognised but cannot model (an RD Gateway, a TLS security level), and
 * what it did not use. Secrets (`password 51:b:`, `/p:`, `/pth:`) are never kept: they are
 * listed in `ignored` by name only.
 *
 * The three parsers import the error class and the result types from this module and this
 * module imports the parsers back; nothing runs at module evaluation, so the cycle is harmless.
 */

/** How mstsc treats a server whose certificate cannot be verified (`authentication level:i:`). */
export type ServerAuthentication = 'connect-without-warning' | 'do-not-connect' | 'warn' | 'no-requirement';

/** A setting the parser recognised: what it changed in the profile, or why it changes nothing we model. */
export interface ClientSettingNote {
  setting: string;
  /** the value as written (never for a secret) */
  value: string;
  effect: string;
  /** false: recognised but not reproduced by the simulation (gateway, Direct Approach, TLS level) */
  modelled: boolean;
  line?: number;
  column?: number;
}

/** A setting left out: unknown, unrelated to security, or a secret (then without its value). */
export interface IgnoredClientSetting {
  setting: string;
  value?: string;
  reason: string;
  line?: number;
  column?: number;
}

export type ClientInputForm = 'rdp-file' | 'xfreerdp' | 'reg';

export interface ClientReading {
  form: ClientInputForm;
  profile: ClientProfile;
  notes: ClientSettingNote[];
  ignored: IgnoredClientSetting[];
  /** what the client does with a certificate it cannot verify, when the input says */
  serverAuthentication?: ServerAuthentication;
  /** the server the input names (`full address:s:`, `/v:`), for `doctor` */
  target?: { host: string; port?: number };
  /** the user the input names: the cookie of `user-name` profiles and the logon user */
  user?: string;
  domain?: string;
}

export interface ClientInputLocation extends PolicyLocation {
  /** 1-based column of the offending character */
  column?: number;
}

/**
 * A client input that cannot be read: where (file, line, column) and why. A PolicyError, so the
 * callers that already handle the server-side parsers' errors handle these too.
 */
export class ClientInputError extends PolicyError {
  readonly column?: number;
  constructor(kind: PolicyErrorKind, detail: string, loc: ClientInputLocation = {}) {
    const { column, ...rest } = loc;
    super(kind, column !== undefined ? `${detail} (column ${column})` : detail, rest);
    if (column !== undefined) this.column = column;
  }

  override toJSON(): Record<string, unknown> {
    return { ...super.toJSON(), ...(this.column !== undefined ? { column: this.column } : {}) };
  }
}

export interface ClientInputOptions {
  /** file name for messages and for telling the forms apart (.rdp, .reg) */
  file?: string;
  /** the profile the input modifies (default: mstsc-win10 for .rdp and .reg, xfreerdp-2.11 for a command line) */
  base?: string;
}

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

/**
 * A copy of `base` changed by an input: its own name and description, the input named first in
 * its source, and what the input leaves unmodelled or unconfirmed added to the base's.
 */
export function derivedProfile(
  base: ClientProfile,
  change: { name: string; description: string; source: string; notModelled?: string[]; unverified?: string[] },
): ClientProfile {
  const p: ClientProfile = structuredClone(base);
  p.name = change.name;
  p.description = change.description;
  p.source = `${change.source}. Otherwise as ${base.name}: ${base.source}`;
  const notModelled = [...(change.notModelled ?? []), ...(base.notModelled ? [base.notModelled] : [])];
  const unverified = [...(change.unverified ?? []), ...(base.unverified ? [base.unverified] : [])];
  if (notModelled.length) p.notModelled = notModelled.join(' ');
  else delete p.notModelled;
  if (unverified.length) p.unverified = unverified.join(' ');
  else delete p.unverified;
  return p;
}

export function fileLoc(file: string | undefined): { file?: string } {
  return file === undefined ? {} : { file };
}
