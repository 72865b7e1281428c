import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Ajv, type JSONSchemaType } from 'ajv';
import { parse } from 'yaml';

/**
 * Knowledge lives in data/*.yaml and is checked against a JSON schema when it is loaded, so a
 * typo in the catalogue fails at start-up (and in the tests), not in front of a user.
 */
const DATA_DIR = fileURLToPath(new URL('../../../data/', import.meta.url));

export class DataError extends Error {
  override readonly name = 'DataError';
}

const ajv = new Ajv({ allErrors: true, strict: true });

export function dataFile(name: string): string {
  return DATA_DIR + name;
}

export function loadYaml<T>(name: string, schema: JSONSchemaType<T>): T {
  const path = dataFile(name);
  let doc: unknown;
  try {
    doc = parse(readFileSync(path, 'utf8'));
  } catch (err) {
    throw new DataError(`${path}: ${(err as Error).message}`);
  }
  const validate = ajv.compile(schema);
  if (!validate(doc)) {
    const why = (validate.errors ?? []).map((e) => `${e.instancePath || '/'} ${e.message}`).join('; ');
    throw new DataError(`${path} does not match its schema: ${why}`);
  }
  return doc;
}
