/**
 * `rdpsec serve --heap small` (src/serve/heap.ts) sets V8 flags in the running process. They
 * only help if this Node's V8 still knows them and still reads them after start-up: a child
 * process per mode allocates objects that survive a scavenge or two (as connection state does)
 * and reports how its young generation changed. With 'node' it grows (the pattern does make V8
 * grow it); with 'small' it keeps the size it had when the mode was applied.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';

const HEAP_MODULE = fileURLToPath(new URL('../../src/serve/heap.js', import.meta.url));

const CHILD = `
import v8 from 'node:v8';
import { useHeapMode } from ${JSON.stringify(HEAP_MODULE)};
const newSpace = () => v8.getHeapSpaceStatistics().find((s) => s.space_name === 'new_space').space_size;
// garbage only, a few scavenges: both semi-spaces get committed (V8 commits the second at the
// first scavenge), without the survival rate that makes V8 grow them
for (let i = 0; i < 2e6; i++) globalThis.sink = { i };
useHeapMode(process.argv[1]);
const before = newSpace();
let keep = [];
for (let i = 0; i < 4e6; i++) {
  keep.push({ i, s: 'x' + (i & 1023) });
  if (keep.length > 2e5) keep = [];
}
process.stdout.write(JSON.stringify({ before, after: newSpace() }));
`;

function run(mode: 'small' | 'node'): { before: number; after: number; stderr: string } {
  const r = spawnSync(process.execPath, ['--input-type=module', '-e', CHILD, mode], { encoding: 'utf8', timeout: 30_000 });
  assert.equal(r.status, 0, r.stderr);
  return { ...(JSON.parse(r.stdout) as { before: number; after: number }), stderr: r.stderr };
}

describe('serve --heap', () => {
  it("'node' leaves V8 alone: the young generation grows under surviving allocations", () => {
    const r = run('node');
    assert.ok(r.after > r.before, `new space ${r.before} -> ${r.after}`);
  });

  it("'small': this V8 knows the flags, and the young generation keeps its size", () => {
    const r = run('small');
    assert.doesNotMatch(r.stderr, /unrecognized flag|unknown flag/i);
    assert.ok(r.after <= r.before, `new space ${r.before} -> ${r.after}`);
  });
});
