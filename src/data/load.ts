import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';

/**
 * Knowledge lives in data/NAME.yaml with a JSON schema in data/schemas/NAME.schema.json. The
 * build (scripts/build-data.mjs) turns it into dist/data/NAME.json plus the schema's compiled
 * validator; loading runs that validator, so a catalogue that does not match its schema fails
 * at start-up (and in the tests), not in front of a user.
 */
const DATA_DIR = fileURLToPath(new URL('../../data/', import.meta.url));
const require = createRequire(import.meta.url);

export class DataError extends Error {
  override readonly name = 'DataError';
}

interface CompiledValidator {
  (doc: unknown): boolean;
  errors?: { instancePath: string; message?: string }[] | null;
}

/** The compiled validator of data/schemas/NAME.schema.json. */
export function dataValidator(name: string): CompiledValidator {
  const mod = require(`${DATA_DIR}${name}.validate.cjs`) as CompiledValidator | { default: CompiledValidator };
  return typeof mod === 'function' ? mod : mod.default;
}

/**
 * Check a document against NAME's schema; throws DataError listing every mismatch. `where`
 * names the file in the message (data/NAME.yaml unless told).
 */
export function checkData<T>(name: string, doc: unknown, where = `data/${name}.yaml`): T {
  const validate = dataValidator(name);
  if (!validate(doc)) {
    const why = (validate.errors ?? []).map((e) => `${e.instancePath || '/'} ${e.message ?? ''}`).join('; ');
    throw new DataError(`${where} does not match its schema: ${why}`);
  }
  return doc as T;
}

function readBuilt(name: string): unknown {
  try {
    return JSON.parse(readFileSync(`${DATA_DIR}${name}.json`, 'utf8'));
  } catch (err) {
    throw new DataError(`data/${name}: ${(err as Error).message} (run \`npm run build\`)`);
  }
}

export function loadData<T>(name: string): T {
  return checkData<T>(name, readBuilt(name));
}

/**
 * A catalogue kept as a folder, data/NAME/*.yaml, every file under the one schema
 * data/schemas/NAME.schema.json: the build writes the list [{ file, doc }] and each document is
 * checked here again, its errors naming its file.
 */
export function loadDataFolder<T>(name: string): { file: string; doc: T }[] {
  const built = readBuilt(name);
  if (!Array.isArray(built)) throw new DataError(`data/${name}/: the build did not write a list of files (run \`npm run build\`)`);
  return built.map((item: unknown) => {
    const { file, doc } = (item ?? {}) as { file?: unknown; doc?: unknown };
    if (typeof file !== 'string' || !/^[a-z0-9-]+\.yaml$/.test(file)) throw new DataError(`data/${name}/: bad file name ${JSON.stringify(file)} in the build`);
    return { file, doc: checkData<T>(name, doc, `data/${name}/${file}`) };
  });
}
