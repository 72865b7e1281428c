import { decodeRegText, MAX_REG_FILE_BYTES } from './reg-file.js';
import { PolicyError } from './errors.js';
import { preset, presetNames } from './presets.js';
import type { ServerPolicy } from './server-policy.js';
import { policyFromRegExport } from './windows-registry.js';
import { policyFromXrdpIni } from './xrdp-ini.js';

/**
 * A server given the way users have it: a preset name (data/presets.yaml), an xrdp.ini, or a
 * `reg export` of the RDP-Tcp key (with the CredSSP and SChannel keys if exported with it).
 * Which one a file is comes from its content, not its name: a .reg starts with its header line
 * (UTF-16 or not), an xrdp.ini has a [Globals] section.
 */
export type ServerInputKind = 'preset' | 'xrdp-ini' | 'reg';

export function serverInputKind(bytes: Uint8Array, file?: string): Exclude<ServerInputKind, 'preset'> {
  const { text } = decodeRegText(bytes.subarray(0, 4096), file);
  const head = text.replace(/^\uFEFF/, '').trimStart();
  if (/^(Windows Registry Editor Version 5\.00|REGEDIT4)/.test(head)) return 'reg';
  if (/^\s*\[Globals\]\s*$/im.test(decodeRegText(bytes, file).text)) return 'xrdp-ini';
  throw new PolicyError('Syntax', 'not a server description rdpsec knows: expected a `reg export` (starting with "Windows Registry Editor Version 5.00") or an xrdp.ini (with a [Globals] section)', file ? { file } : {});
}

/**
 * The policy named by `spec`: a preset when it is one, else the file's content (read by the
 * caller, at most MAX_REG_FILE_BYTES). Throws PolicyError / DataError naming what is known.
 */
export function serverPolicyFromInput(spec: string, readFile: (path: string) => Uint8Array): { policy: ServerPolicy; kind: ServerInputKind } {
  if (presetNames().includes(spec)) return { policy: preset(spec), kind: 'preset' };
  let bytes: Uint8Array;
  try {
    bytes = readFile(spec);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') throw new PolicyError('Syntax', `${spec} is neither a server preset (${presetNames().join(', ')}) nor a file`, { file: spec });
    throw err;
  }
  if (bytes.length > MAX_REG_FILE_BYTES) throw new PolicyError('Syntax', `${spec} is larger than ${MAX_REG_FILE_BYTES} bytes`, { file: spec });
  const kind = serverInputKind(bytes, spec);
  return { policy: kind === 'reg' ? policyFromRegExport(bytes, { file: spec }) : policyFromXrdpIni(bytes, { file: spec }), kind };
}
