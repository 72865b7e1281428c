import type { ClientProfile } from '../connector/client-profiles.js';
import type { ProbeCredentials } from '../probe/credssp-probe.js';
import type { Posture } from '../probe/posture.js';
import { probeServer } from '../probe/probe.js';
import { describePolicy } from '../policy/server-policy.js';
import { simulate, type Logon, type SimulationResult } from '../simulate/simulate.js';
import { checkedFixes, type CheckedFix } from './fixes.js';
import { inferServerPolicy, type InferredPolicy } from './infer-policy.js';

/**
 * `rdpsec doctor HOST --client PROFILE`: probe the host, build the ServerPolicy that answers
 * every probe question as the host did (infer-policy.ts), run the client against it in memory
 * (simulate), and offer the fixes the simulation confirms. Nothing here knows what a client
 * does against a server: the connector and the acceptor do.
 */
export interface DoctorOptions {
  host: string;
  port: number;
  client: ClientProfile;
  timeoutMs: number;
  parallel?: number;
  /** probe with these (NLA logon check); the simulated client logs on as `logon` says */
  credentials?: ProbeCredentials;
  logon?: Logon;
  fixes?: boolean;
  onProgress?: (what: string) => void;
}

export interface DoctorResult extends SimulationResult {
  target: { host: string; port: number };
  /** the server as inferred: flavor, knobs and product */
  serverModel: { description: string; product: InferredPolicy['product'] };
  evidence: string[];
  assumptions: string[];
  /** probe questions the inferred policy answers otherwise than the host did */
  differences: InferredPolicy['differences'];
  fixes: CheckedFix[];
}

export async function doctor(o: DoctorOptions): Promise<{ result: DoctorResult; posture: Posture; inferred: InferredPolicy }> {
  o.onProgress?.(`probing ${o.host}:${o.port}`);
  const posture = await probeServer({
    host: o.host,
    port: o.port,
    timeoutMs: o.timeoutMs,
    parallel: o.parallel ?? 4,
    // whole connections with each layer and method: how the server behaves after the
    // negotiation (an xrdp that drops salted MACs) is only seen this way
    handshake: true,
    ...(o.credentials ? { credentials: o.credentials } : {}),
  });
  const inferred = inferServerPolicy(posture);
  o.onProgress?.(`simulating ${o.client.name} against ${describePolicy(inferred.policy)}`);
  const result = await diagnoseAgainst(inferred, { host: o.host, port: o.port }, o.client, o);
  return { result, posture, inferred };
}

/** The second half of doctor, for a server already probed and modelled (the demo asks for several clients). */
export async function diagnoseAgainst(
  inferred: InferredPolicy,
  target: { host: string; port: number },
  client: ClientProfile,
  o: { logon?: Logon; fixes?: boolean } = {},
): Promise<DoctorResult> {
  const logon = o.logon ?? 'valid';
  const sim = await simulate({ client, server: inferred.policy, logon });
  const fixes = o.fixes === false ? [] : await checkedFixes({ client, server: inferred.policy, logon, baseline: sim, product: inferred.product });
  return {
    ...sim,
    server: `${target.host}:${target.port}`,
    target,
    serverModel: { description: describePolicy(inferred.policy), product: inferred.product },
    evidence: inferred.evidence,
    assumptions: inferred.assumptions,
    differences: inferred.differences,
    fixes,
  };
}
