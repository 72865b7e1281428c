import type { Finding } from '../probe/posture.js';
import { DataError, loadData } from '../data/load.js';

/** One entry of data/findings.yaml (schema: data/schemas/findings.schema.json). */
export interface FindingDefinition {
  id: string;
  severity: Finding['severity'];
  title: string;
  detail?: string;
  source: string;
}

let cache: Map<string, FindingDefinition> | undefined;

/** The findings catalogue (data/findings.yaml), checked against its schema once. */
export function findingsCatalogue(): Map<string, FindingDefinition> {
  if (cache) return cache;
  const doc = loadData<{ findings: FindingDefinition[] }>('findings');
  const map = new Map<string, FindingDefinition>();
  for (const f of doc.findings) {
    if (map.has(f.id)) throw new DataError(`data/findings.yaml: duplicate id ${f.id}`);
    map.set(f.id, f);
  }
  cache = map;
  return map;
}

/** A finding from the catalogue; `detail` adds what this host showed. */
export function finding(id: string, detail?: string): Finding {
  const def = findingsCatalogue().get(id);
  if (!def) throw new DataError(`unknown finding id ${id} (not in data/findings.yaml)`);
  const text = [detail, def.detail].filter(Boolean).join(' ');
  return { id, severity: def.severity, title: def.title, ...(text ? { detail: text } : {}) };
}
