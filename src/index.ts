/** The rdpsec library: codecs, the sans-IO connector, the transport and the prober. */
export * from './pdu/errors.js';
export * from './pdu/nego.js';
export * from './pdu/x224.js';
export * from './pdu/tpkt.js';
export { ClientConnector, type ConnectorConfig, type ConnectorEvent, type ConnectorResult } from './connector/connector.js';
export { ConnectorError, type ConnectorErrorCode } from './connector/errors.js';
export { loadCredsspClient } from './connector/credssp-loader.js';
export type { CredsspClientConfig, CredsspCredentials, CredsspClientOutcome } from './connector/credssp-client.js';
export {
  clientFailureWording,
  clientProfile,
  clientProfileNames,
  connectorConfigFor,
  type ClientFailureWording,
  type ClientProfile,
  type FailureCode,
  type SimulationStage,
} from './connector/client-profiles.js';
export { ntHash, initMd4 } from './crypto/md4.js';
export { parseUsersFile, type UserDirectory } from './policy/users-file.js';
export { RdpSocket } from './transport/socket.js';
export { TransportError } from './transport/errors.js';
export { runSequence } from './transport/driver.js';
export { probeServer, type ProbeOptions } from './probe/probe.js';
export type * from './probe/posture.js';
export { postureFindings } from './diagnose/posture-findings.js';
export { renderPosture } from './report/terminal.js';
export { toJson } from './report/json.js';
export { ServerAcceptor, type ConnectionSummary } from './acceptor/acceptor.js';
export { acceptorPolicy } from './acceptor/from-server-policy.js';
export { ServerIdentity } from './acceptor/server-identity.js';
export { serve, formatRecord, type ServeOptions, type ConnectionRecord } from './serve/server.js';
export { listenSequences } from './transport/listener.js';
export { preset, presetNames } from './policy/presets.js';
export { fromWindowsFlags } from './policy/windows-settings.js';
export { policyFromRegExport } from './policy/windows-registry.js';
export { policyFromXrdpIni } from './policy/xrdp-ini.js';
export { negotiate, selectEncryptionMethod } from './policy/negotiation.js';
export type { ServerPolicy } from './policy/server-policy.js';
export { generateSelfSignedCertificate } from './crypto/self-signed.js';
export { simulate, risksOf, SIMULATION_SCHEMA_VERSION, type SimulateOptions, type SimulationResult, type SimulatedAttempt, type SimulatedFailure, type Negotiated, type Logon, type Risk } from './simulate/simulate.js';
export { memoryPair } from './transport/memory-pair.js';
export { doctor, diagnoseAgainst, type DoctorOptions, type DoctorResult } from './diagnose/doctor.js';
export { checkedFixes, fixCandidates, type CheckedFix, type FixCandidate } from './diagnose/fixes.js';
export { inferServerPolicy, type InferredPolicy } from './diagnose/infer-policy.js';
export { readClientInput, type ClientReading } from './connector/client-input.js';
export { serverPolicyFromInput } from './policy/server-input.js';
export { explain } from './diagnose/explain.js';
export { errorCatalogue } from './diagnose/explain-catalogue.js';
