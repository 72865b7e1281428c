import type * as CredsspClientModule from './credssp-client.js';

/**
 * CredSSP's client half (the TSRequest codec on asn1js, NTLM, the pubKeyAuth binding) is loaded
 * when first needed, not when the connector is: most of what `probe` asks never reaches CredSSP,
 * and loading it costs more at start-up than a probe of a local server takes. As with MD4
 * (crypto/md4.ts initMd4), call `await loadCredsspClient()` before a connector may reach
 * CredSSP; the probe's runAttempt does it for every request that asks for HYBRID or HYBRID_EX,
 * while the TCP connection is being opened. A connector that reaches CredSSP without it fails
 * with CREDSSP_ERROR and says so.
 */
let loaded: typeof CredsspClientModule | undefined;
let loading: Promise<typeof CredsspClientModule> | undefined;

export async function loadCredsspClient(): Promise<void> {
  if (loaded) return;
  loading ??= import('./credssp-client.js');
  loaded = await loading;
}

/** The CredSSP client module once loaded, else undefined. */
export function credsspClientModule(): typeof CredsspClientModule | undefined {
  return loaded;
}
