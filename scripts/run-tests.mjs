#!/usr/bin/env node
// Runs the compiled tests (dist/test/**/*.test.js) with Node's test runner. Node 20's --test
// does not expand globs, so we list the files here. Optional arguments narrow the run to
// folders or files under test/ (given as source paths, e.g. `test/peers`).
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { spawnSync } from 'node:child_process';

const root = new URL('..', import.meta.url).pathname;
const dist = join(root, 'dist');

function walk(dir, out) {
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) walk(p, out);
    else if (name.endsWith('.test.js')) out.push(p);
  }
  return out;
}

const wanted = process.argv.slice(2).map((a) => join(dist, a.replace(/\.ts$/, '.js')));
// only compiled tests whose source still exists: tsc never deletes what a removed test left in dist/
const all = walk(join(dist, 'test'), [])
  .filter((f) => existsSync(join(root, relative(dist, f)).replace(/\.js$/, '.ts')))
  .sort();
const files = wanted.length ? all.filter((f) => wanted.some((w) => f === w || f.startsWith(w + '/'))) : all;
if (files.length === 0) {
  console.error('run-tests: no test files found');
  process.exit(1);
}
const res = spawnSync(process.execPath, ['--test', '--test-reporter=spec', ...files.map((f) => relative(root, f))], {
  cwd: root,
  stdio: 'inherit',
});
process.exit(res.status ?? 1);
