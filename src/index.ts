/** The rdpsec library: codecs, the sans-IO connector, the transport and the prober. */
export * from './pdu/errors.js';
export * from './pdu/nego.js';
export * from './pdu/x224.js';
export * from './pdu/tpkt.js';
export { ClientConnector, type ConnectorConfig, type ConnectorEvent, type ConnectorResult } from './connector/connector.js';
export { ConnectorError, type ConnectorErrorCode } from './connector/errors.js';
export { RdpSocket } from './transport/socket.js';
export { TransportError } from './transport/errors.js';
export { runSequence } from './transport/driver.js';
export { probeServer, type ProbeOptions } from './probe/probe.js';
export type * from './probe/posture.js';
export { postureFindings } from './diagnose/posture-findings.js';
export { renderPosture } from './report/terminal.js';
export { toJson } from './report/json.js';
