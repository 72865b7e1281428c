import { ENCRYPTION_METHOD } from '../pdu/client-data.js';
import type { ProtocolName } from '../pdu/nego.js';
import { ENCRYPTION_LEVEL } from '../pdu/server-data.js';
import type { EncryptionLevelName, EncryptionMethodName, ServerPolicy } from './server-policy.js';

/**
 * The Standard RDP Security level and method a server answers in TS_UD_SC_SEC1, from its
 * policy and the client's TS_UD_CS_SEC (MS-RDPBCGR 2.2.1.3.3, 2.2.1.4.3, 5.3.2).
 *
 * - Enhanced security (TLS, CredSSP): method NONE and level NONE (2.2.1.4.3: encryptionMethod
 *   "MUST be set to ENCRYPTION_METHOD_NONE" with Enhanced RDP Security; FreeRDP
 *   gcc_write_server_security_data and xrdp_sec_process_mcs_data_CS_SECURITY also send level 0).
 * - Windows ('by-level', MS-RDPBCGR 5.3.2 as FreeRDP implements it in
 *   gcc_write_server_security_data after FreeRDP PR #2273, and as the GPO/WMI texts describe
 *   the levels): LOW and CLIENT_COMPATIBLE take the strongest method the client offers,
 *   128 > 56 > 40, then FIPS; HIGH takes 128-bit; FIPS takes FIPS. When the client lacks the
 *   method the level needs, the choice is `whenClientLacksMethod`: 'impose' (the default)
 *   answers with it anyway, as FreeRDP's server does ("client does not support 128 bit
 *   encryption method as required by server configuration", then 128-bit); the GPO text says
 *   only "Clients that do not support this encryption level cannot connect". A client that
 *   offers nothing gets 128-bit at LOW/CLIENT_COMPATIBLE (FreeRDP). Windows reads
 *   extEncryptionMethods when encryptionMethods is 0 (the French-locale field, 2.2.1.3.3).
 * - xrdp ('fixed', libxrdp/xrdp_sec.c): one method per crypt_level whatever the client offers
 *   (none: NONE, low and medium: 40-bit, high: 128-bit, fips: FIPS); when the client lacks it,
 *   xrdp logs "Client and server do not both support the same encryption" and goes on
 *   (xrdp_sec_process_mcs_data_CS_SECURITY, the `return 1` commented out). Captures: nmap's
 *   single-method offers to crypt_level=high all get 128-bit; extEncryptionMethods is ignored.
 */

export interface ClientMethods {
  /** TS_UD_CS_SEC.encryptionMethods */
  encryptionMethods: number;
  /** TS_UD_CS_SEC.extEncryptionMethods (French-locale clients put their methods here) */
  extEncryptionMethods?: number;
}

export type MethodSelection =
  | {
      outcome: 'selected';
      method: EncryptionMethodName;
      /** TS_UD_SC_SEC1.encryptionMethod */
      methodValue: number;
      level: EncryptionLevelName;
      /** TS_UD_SC_SEC1.encryptionLevel */
      levelValue: number;
      /** false when the server imposes a method the client did not offer */
      offeredByClient: boolean;
      rule: string;
      source: string;
    }
  | {
      outcome: 'refused';
      reason: 'CLIENT_LACKS_128BIT' | 'CLIENT_LACKS_FIPS' | 'NO_METHOD_OFFERED';
      level: EncryptionLevelName;
      rule: string;
      source: string;
    };

const SRC_ENHANCED = 'MS-RDPBCGR 2.2.1.4.3 (encryptionMethod NONE with Enhanced RDP Security)';
const SRC_WINDOWS = 'MS-RDPBCGR 5.3.2; FreeRDP gcc_write_server_security_data (PR #2273); GPO TS_ENCRYPTION_POLICY level texts';
const SRC_XRDP = 'xrdp 0.9 libxrdp/xrdp_sec.c (crypt_level mapping; xrdp_sec_process_mcs_data_CS_SECURITY goes on without a match); captures xrdp-rdp-*';

function pick(level: EncryptionLevelName, method: EncryptionMethodName, offered: number, rule: string, source: string): MethodSelection {
  const value = ENCRYPTION_METHOD[method];
  return {
    outcome: 'selected',
    method,
    methodValue: value,
    level,
    levelValue: ENCRYPTION_LEVEL[level],
    offeredByClient: method === 'NONE' ? true : (offered & value) !== 0,
    rule,
    source,
  };
}

/**
 * The method the server answers. `selectedProtocol` is what the X.224 negotiation chose
 * (Standard RDP Security only applies to 'RDP').
 */
export function selectEncryptionMethod(policy: ServerPolicy, client: number | ClientMethods, selectedProtocol: ProtocolName = 'RDP'): MethodSelection {
  const c: ClientMethods = typeof client === 'number' ? { encryptionMethods: client } : client;
  if (selectedProtocol !== 'RDP') return pick('NONE', 'NONE', c.encryptionMethods, 'enhanced-security-none', SRC_ENHANCED);

  const ss = policy.standardSecurity;
  const level = ss.encryptionLevel;
  const offered = (c.encryptionMethods === 0 && ss.honoursExtEncryptionMethods ? (c.extEncryptionMethods ?? 0) : c.encryptionMethods) >>> 0;

  if (ss.methodRule === 'fixed') {
    const method = ss.fixedMethod ?? 'NONE';
    return pick(level, method, offered, `xrdp-fixed-${method.toLowerCase()}`, SRC_XRDP);
  }

  const has = (m: EncryptionMethodName): boolean => (offered & ENCRYPTION_METHOD[m]) !== 0;
  const lacking = (method: EncryptionMethodName, reason: 'CLIENT_LACKS_128BIT' | 'CLIENT_LACKS_FIPS' | 'NO_METHOD_OFFERED', rule: string): MethodSelection =>
    ss.whenClientLacksMethod === 'refuse'
      ? { outcome: 'refused', reason, level, rule: `${rule}-refused`, source: SRC_WINDOWS }
      : pick(level, method, offered, `${rule}-imposed`, SRC_WINDOWS);

  switch (level) {
    case 'NONE':
      return pick(level, 'NONE', offered, 'level-none', SRC_WINDOWS);
    case 'FIPS':
      return has('FIPS') ? pick(level, 'FIPS', offered, 'level-fips', SRC_WINDOWS) : lacking('FIPS', 'CLIENT_LACKS_FIPS', 'level-fips');
    case 'HIGH':
      return has('128BIT') ? pick(level, '128BIT', offered, 'level-high', SRC_WINDOWS) : lacking('128BIT', 'CLIENT_LACKS_128BIT', 'level-high');
    case 'LOW':
    case 'CLIENT_COMPATIBLE': {
      const rule = level === 'LOW' ? 'level-low-strongest' : 'level-client-compatible-strongest';
      for (const m of ['128BIT', '56BIT', '40BIT', 'FIPS'] as const) {
        if (has(m)) return pick(level, m, offered, rule, SRC_WINDOWS);
      }
      return lacking('128BIT', 'NO_METHOD_OFFERED', rule);
    }
  }
}
