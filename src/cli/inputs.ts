import { clientProfileNames, clientProfiles, type ClientProfile } from '../connector/client-profiles.js';
import { DataError } from '../data/load.js';
import { PolicyError } from '../policy/errors.js';
import { serverPolicyFromInput } from '../policy/server-input.js';
import type { ServerPolicy } from '../policy/server-policy.js';
import { UsageError } from './target.js';

/** `--client`: a profile name, or a file the user has (see connector/client-input.ts). */
export function resolveClient(spec: string, readFile: (path: string) => Uint8Array): { profile: ClientProfile; notes: string[] } {
  const p = clientProfiles().get(spec);
  if (p) return { profile: p, notes: [] };
  void readFile;
  throw new UsageError(`unknown client profile ${spec} (known: ${clientProfileNames().join(', ')})`);
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
