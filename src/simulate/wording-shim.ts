// Temporary bridge until the client-profile wording (data/clients, issue 6) lands in
// connector/client-profiles.ts; removed by that merge.
import type { ConnectorErrorCode } from '../connector/errors.js';
import type { ClientProfile } from '../connector/client-profiles.js';
export { attemptOutcome, connectorConfigFor, nextAttempt, type ClientProfile } from '../connector/client-profiles.js';
export type SimulationStage = 'x224' | 'tls' | 'credssp' | 'mcs' | 'security-exchange' | 'licensing' | 'activation';
export type FailureCode = ConnectorErrorCode | 'TRANSPORT_CLOSED' | 'TLS_HANDSHAKE_FAILED' | 'TIMEOUT' | 'CREDSSP_NOT_ATTEMPTED';
export interface ClientFailureWording { message: string; code?: string; exitCode?: number; explain?: string; source: string }
export function clientFailureWording(_p: ClientProfile, code: FailureCode, stage: SimulationStage, _detail?: string): ClientFailureWording {
  return { message: `${code} at ${stage}`, source: 'none yet' };
}
