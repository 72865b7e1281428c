/**
 * `rdpsec explain` as a user runs it (`node dist/src/cli/main.js explain ...`): exit 0 with
 * matches, 1 when nothing matched, 2 for usage errors (as grep); the text from the arguments or
 * from stdin; --json. Nothing is contacted.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { EXPLAIN_EXIT } from '../../src/cli/explain-command.js';

const MAIN_JS = fileURLToPath(new URL('../../src/cli/main.js', import.meta.url));

function cli(args: string[], stdin?: string): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [MAIN_JS, 'explain', ...args], {
      env: { ...process.env, NO_COLOR: '1', FORCE_COLOR: '' },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    child.once('error', reject);
    child.once('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
    child.stdin.end(stdin ?? '');
  });
}

describe('rdpsec explain (CLI)', { concurrency: true }, () => {
  it('explain 0x507: exit 0, says there is no documented meaning', async () => {
    const r = await cli(['0x507']);
    assert.equal(r.code, EXPLAIN_EXIT.MATCHED, r.stderr);
    assert.match(r.stdout, /mstsc disconnect code 0x507 \(1287\) has no documented meaning/);
    assert.match(r.stdout, /No documented meaning\./);
  });

  it('words are joined: explain An authentication error has occurred (code 0x507)', async () => {
    const r = await cli(['An', 'authentication', 'error', 'has', 'occurred', '(code', '0x507)']);
    assert.equal(r.code, EXPLAIN_EXIT.MATCHED);
    assert.match(r.stdout, /^rdpsec explain: 2 matches/);
  });

  it('a negative NTSTATUS is an argument, not an option', async () => {
    const r = await cli(['-1073741715']);
    assert.equal(r.code, EXPLAIN_EXIT.MATCHED, r.stderr);
    assert.match(r.stdout, /STATUS_LOGON_FAILURE/);
  });

  it('--json: the contract (matches[] with id, title, confidence, causes[], fixes[])', async () => {
    const r = await cli(['--json', '50331671']);
    assert.equal(r.code, EXPLAIN_EXIT.MATCHED);
    const j = JSON.parse(r.stdout);
    assert.equal(j.schemaVersion, 1);
    assert.equal(j.matches[0].id, 'gateway-0x03000017');
    for (const k of ['id', 'title', 'confidence', 'causes', 'fixes']) assert.ok(k in j.matches[0], k);
    assert.deepEqual(Object.keys(j.matches[0].fixes[0]).sort(), ['safety', 'steps', 'summary', 'undo', 'where']);
  });

  it('a log on stdin, with "-" or with no argument', async () => {
    const log = '[ERROR] SSL_read: Failure in SSL library (protocol error?)\n[ERROR] SSL: error:0A000126:SSL routines::unexpected eof while reading\n';
    for (const args of [['-'], []]) {
      const r = await cli(args, log);
      assert.equal(r.code, EXPLAIN_EXIT.MATCHED, `${args.join(' ')}: ${r.stderr}`);
      assert.match(r.stdout, /unexpected eof while reading/);
    }
  });

  it('nothing matched: exit 1, and says what was tried', async () => {
    const r = await cli(['the printer is on fire']);
    assert.equal(r.code, EXPLAIN_EXIT.NO_MATCH);
    assert.match(r.stdout, /^No entry of the catalogue matches this text\./);
    const j = JSON.parse((await cli(['--json', 'the printer is on fire'])).stdout);
    assert.deepEqual(j.matches, []);
  });

  it('usage errors exit 2: empty text, nothing on stdin, an unknown option', async () => {
    for (const [args, stdin] of [[[''], undefined], [[], ''], [['-'], '   \n'], [['--frobnicate', 'x'], undefined]] as [string[], string | undefined][]) {
      const r = await cli(args, stdin);
      assert.equal(r.code, EXPLAIN_EXIT.ERROR, `${JSON.stringify(args)}: ${r.stderr}`);
      assert.equal(r.stdout, '');
    }
  });

  it('more than 64 KiB on stdin: reads the first 64 KiB and says so', async () => {
    const r = await cli(['-'], '0x507\n' + 'x'.repeat(70 * 1024));
    assert.equal(r.code, EXPLAIN_EXIT.MATCHED);
    assert.match(r.stderr, /input longer than 64 KiB, only the first 64 KiB is read/);
    assert.match(r.stdout, /only the first 64 KiB of the input was read/);
  });
});
