import type { CredsspAccountLookup, CredsspServerSettings } from './credssp-server.js';

/**
 * What the acceptor asks of a server policy: how to answer the negotiation, which encryption
 * to impose. src/policy turns a Windows- or xrdp-style ServerPolicy into this; the acceptor
 * itself knows no product.
 */
export type NegotiationAnswer =
  /** select a protocol: an RDP_NEG_RSP (negData) or, for a legacy request, a Confirm without negotiation data */
  | { selected: number; negData: boolean; responseFlags: number }
  /**
   * refuse: an RDP_NEG_FAILURE (MS-RDPBCGR 2.2.1.2.2), or, for a legacy client, a Confirm
   * without negotiation data and a Disconnect Provider Ultimatum at the next step (xrdp)
   */
  | { failureCode: number; delivery: 'neg-failure' | 'bare-confirm-then-ultimatum' }
  /** no Confirm at all: an MCS Disconnect Provider Ultimatum (xrdp), or a plain close */
  | { drop: 'ultimatum' | 'close'; reason: string };

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
  /** TS_UD_SC_CORE version (RDP_VERSION_*) */
  rdpVersion: number;
  /** drop a client whose RC4 PDUs carry the salted MAC (xrdp 0.9.21.1-1+deb12u3) */
  rejectSaltedMac: boolean;
  /**
   * Licensing after the Client Info (MS-RDPBCGR 1.3.1.1, MS-RDPELE 1.3.3): 'valid-client'
   * (the default) sends STATUS_VALID_CLIENT at once, as FreeRDP's server does;
   * 'platform-challenge' runs the new-license exchange as a Windows host without a license
   * server does in its grace period (license request, platform challenge, the client's response
   * checked), then sends STATUS_VALID_CLIENT.
   */
  licensing?: 'valid-client' | 'platform-challenge';
  /**
   * CredSSP after a HYBRID / HYBRID_EX selection: the server's CredSSP behaviour and the accounts
   * it knows. Absent: the acceptor closes after TLS and says why.
   */
  credssp?: { settings: CredsspServerSettings; accounts: CredsspAccountLookup };
}
