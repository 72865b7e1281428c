import { PolicyError, type PolicyErrorKind, type PolicyLocation } from '../policy/errors.js';
import type { ClientProfile } from './client-profiles.js';

/**
 * A client described in the forms users have (issue 6): an `.rdp` file, an xfreerdp command
 * line, or a `.reg` export of the client's CredSSP / LSA keys. Each parser turns one into a
 * ClientProfile (src/connector/client-profiles.ts) and says, setting by setting, what changed
 * the profile, what it recognised but cannot model (an RD Gateway, a TLS security level), and
 * what it did not use. Secrets (`password 51:b:`, `/p:`, `/pth:`) are never kept: they are
 * listed in `ignored` by name only.
 * The three parsers share the result types and the error class here; client-input.ts picks
 * the parser.
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
