import { readClientInput } from '../connector/client-input.js';
import { clientProfileNames, clientProfiles, type ClientProfile } from '../connector/client-profiles.js';
import { DataError } from '../data/load.js';
import { PolicyError } from '../policy/errors.js';
import { serverPolicyFromInput } from '../policy/server-input.js';
import type { ServerPolicy } from '../policy/server-policy.js';
import { UsageError } from './target.js';

export interface ResolvedClient {
  profile: ClientProfile;
  /** what the input's settings did to the profile, one line each */
  notes: string[];
  /** settings of the input the simulation does not reproduce (an RD Gateway, a TLS level...), and ignored ones that matter */
  notModelled: string[];
  /** the server the input names (`full address:s:`, `/v:`), for `doctor` */
  target?: { host: string; port?: number };
}

/** `--client`: a profile name, or a file the user has (.rdp, an xfreerdp command line, a client .reg). */
export function resolveClient(spec: string, readFile: (path: string) => Uint8Array, base?: string): ResolvedClient {
  const p = clientProfiles().get(spec);
  if (p) return { profile: p, notes: [], notModelled: [] };
  let bytes: Uint8Array;
  try {
    bytes = readFile(spec);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') throw new UsageError(`${spec} is neither a client profile (${clientProfileNames().join(', ')}) nor a file`);
    throw err;
  }
  try {
    const r = readClientInput(bytes, { file: spec, ...(base ? { base } : {}) });
    const notes = r.notes.filter((n) => n.modelled).map((n) => `${n.setting}=${n.value}: ${n.effect}`);
    const notModelled = [
      ...r.notes.filter((n) => !n.modelled).map((n) => `${n.setting}=${n.value}: ${n.effect}`),
      // what was left out and may matter; not the settings known to be unrelated, the target, or secrets
      ...r.ignored
        .filter((i) => !/not a security (setting|option)|kept as the target|the server port|secret|never kept/.test(i.reason))
        .map((i) => `${i.setting}${i.value !== undefined ? `=${i.value}` : ''}: ignored (${i.reason})`),
    ];
    return { profile: r.profile, notes, notModelled, ...(r.target ? { target: r.target } : {}) };
  } catch (err) {
    if (err instanceof PolicyError || err instanceof DataError) throw new UsageError(err.message);
    throw err;
  }
}

/** `--server`: a preset name, an xrdp.ini or a reg export. */
export function resolveServer(spec: string, readFile: (path: string) => Uint8Array): ServerPolicy {
  try {
    return serverPolicyFromInput(spec, readFile).policy;
  } catch (err) {
    if (err instanceof PolicyError || err instanceof DataError) throw new UsageError(err.message);
    throw err;
  }
}
