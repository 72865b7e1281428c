/**
 * What the acceptor asks of a server policy: how to answer the negotiation, which encryption
 * to impose. src/policy turns a Windows- or xrdp-style ServerPolicy into this; the acceptor
 * itself knows no product.
 */
export type NegotiationAnswer =
  /** an RDP_NEG_RSP with this selectedProtocol (or, for a legacy request, a Confirm without negotiation data) */
  | { selected: number }
  /** an RDP_NEG_FAILURE with this failureCode (MS-RDPBCGR 2.2.1.2.2) */
  | { failureCode: number }
  /** no Confirm at all: an MCS Disconnect Provider Ultimatum (xrdp, for requests it cannot parse) */
  | { drop: true; reason: string };

export interface EncryptionChoice {
  /** ENCRYPTION_METHOD_* (one value) */
  method: number;
  /** ENCRYPTION_LEVEL_* */
  level: number;
}

export interface AcceptorPolicy {
  /** for logs */
  name: string;
  negotiate(requestedProtocols: number | null, negReqFlags: number): NegotiationAnswer;
  /** Standard RDP Security: what to answer a client offering `clientMethods`; a string refuses */
  encryption(clientMethods: number): EncryptionChoice | { refuse: string };
  /** RDP_NEG_RSP flags (EXTENDED_CLIENT_DATA_SUPPORTED ...) */
  negRspFlags: number;
  /** answer a legacy request with an RDP_NEG_RSP anyway (FreeRDP does; the spec and Windows do not) */
  negotiationDataForLegacy: boolean;
}
