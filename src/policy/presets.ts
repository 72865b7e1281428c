// Note on layering: loadData lives in src/diagnose/ (a higher layer than policy/) but is a
// generic loader with no dependency back on diagnose; it is imported here as the issue asks.
import { DataError, loadData } from '../data/load.js';
import type { CredsspPolicy, ServerPolicy, TlsVersion } from './server-policy.js';
import { fromWindowsFlags } from './windows-settings.js';
import { fromXrdpSettings, type XrdpIniValues } from './xrdp-ini.js';

/**
 * Server presets (data/presets.yaml, schema data/schemas/presets.schema.json): common hosts
 * as the acceptor should behave, each with its source. A preset keeps the server's own knobs
 * and goes through the same code as the registry and xrdp.ini parsers.
 */

/** One entry of data/presets.yaml. */
export interface PresetEntry {
  name: string;
  description: string;
  source: string;
  unverified?: string;
  windows?: {
    SecurityLayer: 0 | 1 | 2;
    UserAuthentication: 0 | 1;
    MinEncryptionLevel: 1 | 2 | 3 | 4;
    fAllowSecProtocolNegotiation?: number;
    FipsAlgorithmPolicy?: boolean;
    hybridEx?: boolean;
    legacyClientRefusal?: 'drop' | 'neg-failure';
    tlsVersions?: TlsVersion[];
    negRspFlags?: number;
    credssp?: CredsspPolicy;
  };
  xrdp?: XrdpIniValues;
}

let cache: Map<string, PresetEntry> | undefined;

/** The presets catalogue, checked against its schema once (throws DataError on a duplicate name). */
export function presetEntries(): Map<string, PresetEntry> {
  if (cache) return cache;
  const doc = loadData<{ presets: PresetEntry[] }>('presets');
  const map = new Map<string, PresetEntry>();
  for (const p of doc.presets) {
    if (map.has(p.name)) throw new DataError(`data/presets.yaml: duplicate name ${p.name}`);
    map.set(p.name, p);
  }
  cache = map;
  return map;
}

export function presetNames(): string[] {
  return [...presetEntries().keys()];
}

/** A preset entry as a ServerPolicy (the entry need not come from the catalogue: tests build their own). */
export function policyFromPreset(p: PresetEntry): ServerPolicy {
  const source = { kind: 'preset' as const, name: p.name, reference: p.source };
  if (p.windows) {
    const w = p.windows;
    return fromWindowsFlags(
      {
        securityLayer: w.SecurityLayer,
        userAuthentication: w.UserAuthentication,
        minEncryptionLevel: w.MinEncryptionLevel,
        ...(w.fAllowSecProtocolNegotiation !== undefined ? { allowSecProtocolNegotiation: w.fAllowSecProtocolNegotiation } : {}),
        ...(w.FipsAlgorithmPolicy !== undefined ? { fipsAlgorithmPolicy: w.FipsAlgorithmPolicy } : {}),
        ...(w.hybridEx !== undefined ? { hybridEx: w.hybridEx } : {}),
        ...(w.legacyClientRefusal !== undefined ? { legacyClientRefusal: w.legacyClientRefusal } : {}),
        ...(w.tlsVersions !== undefined ? { tlsVersions: w.tlsVersions } : {}),
        ...(w.negRspFlags !== undefined ? { negRspFlags: w.negRspFlags } : {}),
        ...(w.credssp !== undefined ? { credssp: w.credssp } : {}),
      },
      {
        name: p.name,
        source,
        locations: {
          securityLayer: { file: 'data/presets.yaml', key: `${p.name}.windows.SecurityLayer` },
          userAuthentication: { file: 'data/presets.yaml', key: `${p.name}.windows.UserAuthentication` },
          minEncryptionLevel: { file: 'data/presets.yaml', key: `${p.name}.windows.MinEncryptionLevel` },
        },
      },
    );
  }
  if (p.xrdp) return fromXrdpSettings(p.xrdp, { name: p.name, source });
  throw new DataError(`data/presets.yaml: preset ${p.name} has neither windows nor xrdp settings`);
}

/** The named preset as a ServerPolicy; throws DataError naming the known presets. */
export function preset(name: string): ServerPolicy {
  const p = presetEntries().get(name);
  if (!p) throw new DataError(`unknown server preset ${name} (known: ${presetNames().join(', ')})`);
  return policyFromPreset(p);
}
