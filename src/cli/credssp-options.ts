import { UsageError } from './target.js';

/** What --credssp-version and --allow-encryption-oracle change in a server's CredSSP (serve, simulate). */
export interface ServerCredsspOverrides {
  versions?: number[];
  checkNonce?: boolean;
  allowEncryptionOracle?: 0 | 1 | 2;
}

/**
 * --credssp-version N: the versions 2..N (5 and 6 carry the CVE-2018-0886 fix);
 * --allow-encryption-oracle 0|1|2: KB4295591's setting, 0 (Force Updated Clients) refusing
 * clients below version 5.
 */
export function serverCredsspOverrides(o: { credsspVersion?: string; allowEncryptionOracle?: string }): ServerCredsspOverrides {
  const credssp: ServerCredsspOverrides = {};
  if (o.credsspVersion !== undefined) {
    const v = Number(o.credsspVersion);
    if (!Number.isInteger(v) || v < 2 || v > 6) throw new UsageError('--credssp-version takes 2 to 6 (5 and 6 have the CVE-2018-0886 fix)');
    credssp.versions = Array.from({ length: v - 1 }, (_, i) => i + 2);
  }
  if (o.allowEncryptionOracle !== undefined) {
    const v = Number(o.allowEncryptionOracle);
    if (v !== 0 && v !== 1 && v !== 2) throw new UsageError('--allow-encryption-oracle takes 0 (Force Updated Clients), 1 (Mitigated) or 2 (Vulnerable)');
    credssp.allowEncryptionOracle = v;
    credssp.checkNonce = v === 0;
  }
  return credssp;
}
