#!/usr/bin/env node
// Part of `npm run build`: turns each data/NAME.yaml into dist/data/NAME.json after checking it
// against data/schemas/NAME.schema.json, and writes the schema's validator as standalone code
// (dist/data/NAME.validate.cjs). At run time rdpsec loads the JSON and validates it with that
// code, so the check still happens at load without paying for a YAML parser and an Ajv
// compile on every start (they cost more than a whole probe of a local server).
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Ajv } from 'ajv';
import standaloneCode from 'ajv/dist/standalone/index.js';
import { parse } from 'yaml';

const root = new URL('..', import.meta.url).pathname;
const out = join(root, 'dist', 'data');
mkdirSync(out, { recursive: true });
let failed = false;
for (const file of readdirSync(join(root, 'data', 'schemas'))) {
  const name = file.replace(/\.schema\.json$/, '');
  const schema = JSON.parse(readFileSync(join(root, 'data', 'schemas', file), 'utf8'));
  const ajv = new Ajv({ allErrors: true, strict: true, code: { source: true } });
  const validate = ajv.compile(schema);
  const doc = parse(readFileSync(join(root, 'data', `${name}.yaml`), 'utf8'));
  if (!validate(doc)) {
    failed = true;
    for (const e of validate.errors ?? []) console.error(`data/${name}.yaml: ${e.instancePath || '/'} ${e.message}`);
    continue;
  }
  writeFileSync(join(out, `${name}.json`), JSON.stringify(doc));
  writeFileSync(join(out, `${name}.validate.cjs`), standaloneCode.default(ajv, validate));
}
if (failed) process.exit(1);
