import { parseRegFile, type RegEntry, type RegFile } from '../policy/reg-file.js';
import { normalizeKeyPath } from '../policy/windows-registry.js';
import { ClientInputError, derivedProfile, fileLoc, type ClientReading, type ClientSettingNote, type IgnoredClientSetting } from './client-reading.js';
import { clientProfile, type ClientProfile } from './client-profiles.js';

/**
 * A `.reg` export of a Windows client's CredSSP and LSA keys read as a client profile derived
 * from an mstsc profile (mstsc-win10 unless told). Values read (fact sheet sections 4, 6, 8):
 *
 * - HKLM\SOFTWARE\Microsoft\Windows\CurrentVersion\Policies\System\CredSSP\Parameters
 *   AllowEncryptionOracle (GPO "Encryption Oracle Remediation"; KB4295591): 0 Force Updated
 *   Clients, 1 Mitigated, 2 Vulnerable. What a patched client does against a server below
 *   CredSSP version 5: 0 and 1 refuse, 2 goes on. Deleting the value means the OS default,
 *   Mitigated since the May 2018 update (fact sheet section 4, "Errors in public scripts").
 * - HKLM\SYSTEM\CurrentControlSet\Control\Lsa LmCompatibilityLevel (0..5; GPO "Network security:
 *   LAN Manager authentication level"): below 3 the client sends NTLMv1, which carries no
 *   channel bindings (a channel-bound RD Gateway then fails with STATUS_BAD_BINDINGS, KB2903333).
 *   Recorded: the connector always sends NTLMv2, so it changes nothing we simulate.
 * - Lsa "Security Packages" (REG_MULTI_SZ) listing tspkg, and
 *   SecurityProviders\SecurityProviders listing credssp.dll: how Windows XP SP3 turns its CredSSP
 *   client on (KB951608, fact sheet section 8). Recorded: later Windows do not need them.
 *
 * Key paths go through policy/windows-registry.ts normalizeKeyPath (HKLM, ControlSet001 and case).
 */

const HKLM = 'HKEY_LOCAL_MACHINE';
const CREDSSP = `${HKLM}\\SOFTWARE\\MICROSOFT\\WINDOWS\\CURRENTVERSION\\POLICIES\\SYSTEM\\CREDSSP\\PARAMETERS`;
const LSA = `${HKLM}\\SYSTEM\\CURRENTCONTROLSET\\CONTROL\\LSA`;
const PROVIDERS = `${HKLM}\\SYSTEM\\CURRENTCONTROLSET\\CONTROL\\SECURITYPROVIDERS`;
/** mstsc's per-user settings: RDGClientTransport picks the RD Gateway transport (fact sheet §6) */
const TS_CLIENT = normalizeKeyPath('HKEY_CURRENT_USER\\Software\\Microsoft\\Terminal Server Client');

/** A client's CredSSP keys fit in a few KiB. */
export const MAX_CLIENT_REG_BYTES = 1024 * 1024;

export interface ClientRegReading extends ClientReading {
  form: 'reg';
  allowEncryptionOracle?: 0 | 1 | 2;
  lmCompatibilityLevel?: number;
  /** XP SP3's switch (KB951608): both tspkg and credssp.dll listed, when the export has the values */
  xpCredsspProvider?: { tspkg?: boolean; credsspDll?: boolean };
}

export interface ClientRegOptions {
  file?: string;
  /** an mstsc-family profile (default mstsc-win10) */
  base?: string;
}

const AEO_TEXT = ['Force Updated Clients: refuses servers below CredSSP version 5', 'Mitigated: refuses servers below CredSSP version 5', 'Vulnerable: goes on with servers below CredSSP version 5'];

/** Read a client's registry export into a profile. */
export function readClientReg(input: string | Uint8Array | RegFile, opts: ClientRegOptions = {}): ClientRegReading {
  const file = opts.file;
  if (typeof input === 'string' || input instanceof Uint8Array) {
    const size = typeof input === 'string' ? input.length : input.byteLength;
    if (size > MAX_CLIENT_REG_BYTES) throw new ClientInputError('Encoding', `.reg file of ${size} bytes is larger than ${MAX_CLIENT_REG_BYTES}`, fileLoc(file));
  }
  const reg = typeof input === 'string' || input instanceof Uint8Array ? parseRegFile(input, file) : input;
  const base = clientProfile(opts.base ?? 'mstsc-win10');
  if (base.family !== 'mstsc') throw new ClientInputError('InvalidValue', `a Windows client's registry applies to an mstsc profile, not ${base.name}`, fileLoc(file));

  const notes: ClientSettingNote[] = [];
  const ignored: IgnoredClientSetting[] = [];
  const reading: Omit<ClientRegReading, 'profile'> = { form: 'reg', notes, ignored };
  const notModelled: string[] = [];
  let aeo: 0 | 1 | 2 | undefined;
  let aeoDeleted = false;

  const setting = (key: string, e: RegEntry): string => `${key}\\${e.name || '(Default)'}`;
  const note = (key: string, e: RegEntry, effect: string, modelled: boolean): void => {
    notes.push({ setting: setting(key, e), value: e.raw, effect, modelled, line: e.line });
  };
  const dword = (key: string, e: RegEntry, max: number): number => {
    if (e.value.type !== 'dword' || e.value.value > max) {
      throw new ClientInputError('InvalidValue', `expected a dword from 0 to ${max}`, { ...fileLoc(file), line: e.line, key: e.name, value: e.raw });
    }
    return e.value.value;
  };

  for (const k of reg.keys) {
    const path = normalizeKeyPath(k.path);
    if (k.delete) {
      ignored.push({ setting: k.path, reason: 'a key deletion: nothing to read', line: k.line });
      continue;
    }
    for (const e of k.values) {
      const name = e.name.toUpperCase();
      if (path === CREDSSP && name === 'ALLOWENCRYPTIONORACLE') {
        if (e.value.type === 'delete') {
          aeoDeleted = true;
          aeo = undefined;
          note('CredSSP\\Parameters', e, 'deleted: the OS default, Mitigated (1) since the May 2018 update', true);
        } else {
          aeo = dword(k.path, e, 2) as 0 | 1 | 2;
          aeoDeleted = false;
          note('CredSSP\\Parameters', e, AEO_TEXT[aeo] as string, true);
        }
      } else if (path === LSA && name === 'LMCOMPATIBILITYLEVEL') {
        const n = dword(k.path, e, 5);
        reading.lmCompatibilityLevel = n;
        note(
          'Lsa',
          e,
          n < 3
            ? `level ${n}: the client may send NTLMv1, which has no channel bindings (an RD Gateway enforcing them refuses it, KB2903333); not modelled, the connector always sends NTLMv2`
            : `level ${n}: NTLMv2 only, as the connector does: no change`,
          n >= 3,
        );
        if (n < 3) notModelled.push(`LmCompatibilityLevel ${n} (NTLMv1) is not reproduced: the connector sends NTLMv2.`);
      } else if (path === LSA && name === 'SECURITY PACKAGES') {
        const list = multiSz(e);
        reading.xpCredsspProvider = { ...reading.xpCredsspProvider, tspkg: list.some((s) => s.toLowerCase() === 'tspkg') };
        note('Lsa', e, `${reading.xpCredsspProvider.tspkg ? 'lists' : 'does not list'} tspkg: on Windows XP SP3 one half of turning CredSSP on (KB951608); later Windows do not use it for this: recorded only`, false);
      } else if (path === PROVIDERS && name === 'SECURITYPROVIDERS') {
        const list = e.value.type === 'string' ? e.value.value.split(',').map((s) => s.trim().toLowerCase()) : [];
        reading.xpCredsspProvider = { ...reading.xpCredsspProvider, credsspDll: list.includes('credssp.dll') };
        note('SecurityProviders', e, `${reading.xpCredsspProvider.credsspDll ? 'lists' : 'does not list'} credssp.dll: on Windows XP SP3 the other half of turning CredSSP on (KB951608): recorded only`, false);
      } else if (path === TS_CLIENT && name === 'RDGCLIENTTRANSPORT') {
        const n = e.value.type === 'dword' ? e.value.value : undefined;
        const transport = n === 1 ? 'the legacy RPC-over-HTTP transport' : 'the HTTP transport (the default; RPC-over-HTTP as its fallback)';
        note('Terminal Server Client', e, `RD Gateway transport: ${transport}; RD Gateway transports (MS-TSGU) are future work, not simulated`, false);
        notModelled.push(`RDGClientTransport=${n ?? e.raw}: the RD Gateway transport is not simulated.`);
      } else {
        ignored.push({ setting: setting(k.path, e), value: e.raw.slice(0, 200), reason: 'not a client CredSSP setting we read', line: e.line });
      }
    }
  }

  const x = reading.xpCredsspProvider;
  if (x && (x.tspkg === false || x.credsspDll === false)) {
    notModelled.push('On Windows XP SP3 this export leaves CredSSP off (KB951608); the profile keeps the base client, which has CredSSP.');
  }
  if (aeo !== undefined) reading.allowEncryptionOracle = aeo;

  let p: ClientProfile = base;
  const effective = aeo ?? (aeoDeleted ? 1 : undefined);
  if (effective !== undefined) {
    if (base.credssp?.patched) {
      p = structuredClone(base);
      p.credssp = { ...(base.credssp as NonNullable<ClientProfile['credssp']>), allowEncryptionOracle: effective as 0 | 1 | 2, allowEncryptionOracleFrom: 'policy' };
    } else {
      notes.push({ setting: 'AllowEncryptionOracle', value: String(effective), effect: `${base.name} has no CVE-2018-0886 fix, so no AllowEncryptionOracle: no effect`, modelled: true });
    }
  }
  const profile = derivedProfile(p, {
    name: `${base.name}+reg${file ? `:${file.replace(/^.*[\\/]/, '')}` : ''}`,
    description: `${base.description}, with the registry values of ${file ?? 'a .reg export'}${effective !== undefined ? ` (AllowEncryptionOracle ${effective})` : ''}`,
    source: `${file ?? '.reg export'} read by src/connector/client-reg.ts (KB4295591, KB951608, LmCompatibilityLevel GPO)`,
    notModelled,
  });
  return { ...reading, profile };
}

/** A REG_MULTI_SZ (hex(7): UTF-16LE strings, each NUL-terminated) or a plain string, as a list. */
function multiSz(e: RegEntry): string[] {
  if (e.value.type === 'string') return e.value.value.split(/\s+/).filter(Boolean);
  if (e.value.type !== 'hex') return [];
  const b = e.value.bytes;
  return b
    .subarray(0, b.length - (b.length % 2))
    .toString('utf16le')
    .split('\0')
    .filter(Boolean);
}
