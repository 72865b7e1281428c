#!/usr/bin/env node
// Part of `npm run build`: turns each data/NAME.yaml into dist/data/NAME.json after checking it
// against data/schemas/NAME.schema.json, and writes the schema's validator as standalone code
// (dist/data/NAME.validate.cjs). At run time rdpsec loads the JSON and validates it with that
// code, so the check still happens at load without paying for a YAML parser and an Ajv
// compile on every start (they cost more than a whole probe of a local server).
// A folder data/NAME/ of YAML files (e.g. data/errors/*.yaml) is one catalogue under one schema:
// each file is checked against it and dist/data/NAME.json is the list [{ file, doc }].
import { existsSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
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
  const folder = join(root, 'data', name);
  const isFolder = existsSync(folder) && statSync(folder).isDirectory();
  const files = isFolder
    ? readdirSync(folder).filter((f) => f.endsWith('.yaml')).sort().map((f) => `${name}/${f}`)
    : [`${name}.yaml`];
  const docs = [];
  for (const rel of files) {
    let doc;
    try {
      doc = parse(readFileSync(join(root, 'data', rel), 'utf8'));
    } catch (err) {
      failed = true;
      console.error(`data/${rel}: ${err.message}`);
      continue;
    }
    if (!validate(doc)) {
      failed = true;
      for (const e of validate.errors ?? []) console.error(`data/${rel}: ${e.instancePath || '/'} ${e.message}`);
      continue;
    }
    docs.push({ file: rel.slice(name.length + 1), doc });
  }
  if (docs.length !== files.length || docs.length === 0) {
    if (isFolder && files.length === 0) console.error(`data/${name}/: no .yaml file`);
    failed = true;
    continue;
  }
  writeFileSync(join(out, `${name}.json`), JSON.stringify(isFolder ? docs : docs[0].doc));
  writeFileSync(join(out, `${name}.validate.cjs`), standaloneCode.default(ajv, validate));
}
if (failed) process.exit(1);
