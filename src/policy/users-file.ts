import { NTSTATUS } from '../pdu/ntstatus.js';
import { PolicyError } from './errors.js';

/**
 * The accounts `rdpsec serve --users FILE` authenticates CredSSP/NTLM logons against. Only NT
 * hashes are stored (MD4 of the UTF-16LE password, MS-NLMP 3.3.1): NTLMv2 needs nothing else,
 * and no password ever sits in a file or in memory on the server side.
 *
 * One account per line; blank lines and lines starting with '#' are ignored:
 * - `user:domain:NTHASH` and `user:domain:NTHASH:STATE`, where STATE names what the account's
 *   logon ends with after the password was checked: `ok` (the default), `locked`
 *   (STATUS_ACCOUNT_LOCKED_OUT), `disabled` (STATUS_ACCOUNT_DISABLED), `expired`
 *   (STATUS_ACCOUNT_EXPIRED), `password-expired` (STATUS_PASSWORD_EXPIRED), `must-change`
 *   (STATUS_PASSWORD_MUST_CHANGE), `restricted` (STATUS_ACCOUNT_RESTRICTION);
 * - `user:domain:LMHASH:NTHASH:::`, the SAM line `winpr-hash -u U -p P -f sam` prints (FreeRDP's
 *   own server reads the same file: winpr/libwinpr/utils/sam.c).
 * An empty domain matches any domain the client names, as in FreeRDP's SAM lookup; user and
 * domain compare case-insensitively, as Windows account names do.
 */

export const ACCOUNT_STATES = {
  ok: NTSTATUS.STATUS_SUCCESS,
  locked: NTSTATUS.STATUS_ACCOUNT_LOCKED_OUT,
  disabled: NTSTATUS.STATUS_ACCOUNT_DISABLED,
  expired: NTSTATUS.STATUS_ACCOUNT_EXPIRED,
  'password-expired': NTSTATUS.STATUS_PASSWORD_EXPIRED,
  'must-change': NTSTATUS.STATUS_PASSWORD_MUST_CHANGE,
  restricted: NTSTATUS.STATUS_ACCOUNT_RESTRICTION,
} as const;

export type AccountState = keyof typeof ACCOUNT_STATES;

export interface UserAccount {
  user: string;
  /** '' matches any domain */
  domain: string;
  /** 16 bytes */
  ntHash: Buffer;
  state: AccountState;
}

/** The accounts of a users file, with a lookup the NTLM server context calls. */
export class UserDirectory {
  constructor(readonly accounts: readonly UserAccount[]) {}

  /** The account for a logon's user and domain: an exact domain match first, then a wildcard one. */
  find(user: string, domain: string): UserAccount | undefined {
    const u = user.toUpperCase();
    const d = domain.toUpperCase();
    const named = this.accounts.filter((a) => a.user.toUpperCase() === u);
    return named.find((a) => a.domain.toUpperCase() === d) ?? named.find((a) => a.domain === '');
  }
}

const HASH_RE = /^[0-9a-fA-F]{32}$/;

function hash(text: string, file: string | undefined, line: number): Buffer {
  if (!HASH_RE.test(text)) {
    throw new PolicyError('Syntax', 'the NT hash must be 32 hexadecimal digits', { file, line, key: 'NTHASH' });
  }
  return Buffer.from(text, 'hex');
}

/** Parse a users file (see the module comment). Errors name the file and line, never the hash. */
export function parseUsersFile(text: string, file?: string): UserDirectory {
  const accounts: UserAccount[] = [];
  const lines = text.replace(/^\uFEFF/, '').split(/\r?\n/);
  lines.forEach((raw, i) => {
    const line = i + 1;
    const s = raw.trim();
    if (s === '' || s.startsWith('#')) return;
    const f = s.split(':');
    let account: UserAccount;
    if (f.length === 7) {
      // winpr SAM: User:Domain:LmHash:NtHash::: (winpr/libwinpr/utils/sam.c)
      account = { user: f[0]!, domain: f[1]!, ntHash: hash(f[3]!, file, line), state: 'ok' };
    } else if (f.length === 3 || f.length === 4) {
      const state = (f[3] ?? 'ok').toLowerCase();
      if (!(state in ACCOUNT_STATES)) {
        throw new PolicyError('InvalidValue', `unknown account state (one of ${Object.keys(ACCOUNT_STATES).join(', ')})`, {
          file,
          line,
          key: 'STATE',
          value: f[3]!,
        });
      }
      account = { user: f[0]!, domain: f[1]!, ntHash: hash(f[2]!, file, line), state: state as AccountState };
    } else {
      throw new PolicyError('Syntax', 'expected user:domain:NTHASH[:STATE] or the user:domain:LMHASH:NTHASH::: line of winpr-hash -f sam', {
        file,
        line,
      });
    }
    if (account.user === '') throw new PolicyError('Syntax', 'empty user name', { file, line, key: 'user' });
    accounts.push(account);
  });
  return new UserDirectory(accounts);
}
