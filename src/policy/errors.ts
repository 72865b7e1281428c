/**
 * Typed errors and warnings of the policy parsers. A `PolicyError` names where the bad value
 * came from (file and line for a `.reg` export or an xrdp.ini, the key or value name) and the
 * value itself, so a message reads "xrdp.ini:44: crypt_level: unknown value 'hihg'". Messages
 * are lowercase without final punctuation, as the pdu/ errors are.
 */
export type PolicyErrorKind =
  /** the text cannot be decoded (a truncated UTF-16 file, an odd byte count) */
  | 'Encoding'
  /** a `.reg` file without its "Windows Registry Editor Version 5.00" / "REGEDIT4" header */
  | 'MissingHeader'
  /** a line the format does not allow (an unterminated string, a hex byte that is not hex) */
  | 'Syntax'
  /** the input lacks what the policy is read from (no RDP-Tcp key, no [Globals] section) */
  | 'MissingKey'
  /** a known setting with a value outside its range (SecurityLayer=7) */
  | 'InvalidValue'
  /** a value the server would not reject but that we refuse in strict mode (an unknown crypt_level) */
  | 'UnknownValue';

/** Where a setting came from: file (as given by the caller), 1-based line, key or value name. */
export interface PolicyLocation {
  file?: string;
  line?: number;
  /** the registry value name or ini key, e.g. "SecurityLayer", "crypt_level" */
  key?: string;
  /** the offending value as written, e.g. "dword:00000007", "hihg" */
  value?: string;
}

function where(loc: PolicyLocation): string {
  const parts: string[] = [];
  if (loc.file !== undefined || loc.line !== undefined) {
    parts.push(`${loc.file ?? '<input>'}${loc.line !== undefined ? `:${loc.line}` : ''}`);
  }
  if (loc.key !== undefined) parts.push(loc.key);
  return parts.length ? `${parts.join(': ')}: ` : '';
}

export class PolicyError extends Error {
  override readonly name = 'PolicyError';
  readonly file?: string;
  readonly line?: number;
  readonly key?: string;
  readonly value?: string;
  constructor(
    readonly kind: PolicyErrorKind,
    readonly detail: string,
    loc: PolicyLocation = {},
  ) {
    super(`${where(loc)}${detail}`);
    if (loc.file !== undefined) this.file = loc.file;
    if (loc.line !== undefined) this.line = loc.line;
    if (loc.key !== undefined) this.key = loc.key;
    if (loc.value !== undefined) this.value = loc.value;
  }

  toJSON(): Record<string, unknown> {
    return {
      kind: this.kind,
      message: this.message,
      ...(this.file !== undefined ? { file: this.file } : {}),
      ...(this.line !== undefined ? { line: this.line } : {}),
      ...(this.key !== undefined ? { key: this.key } : {}),
      ...(this.value !== undefined ? { value: this.value } : {}),
    };
  }
}

/**
 * Something the real server accepts but handles in a way worth saying: xrdp falls back to
 * crypt_level=high on an unknown value and only logs it; Windows ignores UserAuthentication
 * when SecurityLayer=0. The parsers collect these instead of throwing (unless strict).
 */
export interface PolicyWarning extends PolicyLocation {
  /** stable id, e.g. "xrdp-unknown-crypt-level" */
  code: string;
  message: string;
}

export function warning(code: string, message: string, loc: PolicyLocation = {}): PolicyWarning {
  return { code, message: `${where(loc)}${message}`, ...loc };
}
