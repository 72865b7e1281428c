import type { Posture } from '../probe/posture.js';

/** The posture as JSON text (schemaVersion 1; schemas/probe.schema.json documents it). */
export function toJson(p: Posture): string {
  return JSON.stringify(p, null, 2) + '\n';
}
