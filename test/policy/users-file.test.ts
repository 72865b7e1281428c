/**
 * The users file of `serve --users`: our user:domain:NTHASH[:STATE] lines and the SAM lines
 * `winpr-hash -f sam` prints (the real tool's output, when it is installed).
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { NTSTATUS } from '../../src/pdu/ntstatus.js';
import { PolicyError } from '../../src/policy/errors.js';
import { ACCOUNT_STATES, parseUsersFile } from '../../src/policy/users-file.js';

/** NT hash of S3cret! (the SAM line in ../shared/peers/README.md). */
const ALICE = '10b2f1961375b20126508c2267862bf0';

describe('users file', () => {
  it('reads user:domain:NTHASH and an optional state, skipping comments and blank lines', () => {
    const d = parseUsersFile(`# accounts\n\nalice::${ALICE}\r\nbob:CORP:${ALICE.toUpperCase()}:locked\ncarol:corp:${ALICE}:must-change\n`);
    assert.equal(d.accounts.length, 3);
    assert.deepEqual(d.find('ALICE', 'ANYWHERE')?.ntHash.toString('hex'), ALICE);
    assert.equal(d.find('bob', 'corp')?.state, 'locked');
    assert.equal(d.find('bob', 'other'), undefined, 'a named domain matches only itself');
    assert.equal(ACCOUNT_STATES[d.find('carol', 'CORP')!.state], NTSTATUS.STATUS_PASSWORD_MUST_CHANGE);
    assert.equal(d.find('dave', ''), undefined);
  });

  it('prefers an exact domain over the wildcard', () => {
    const d = parseUsersFile(`alice::${ALICE}\nalice:CORP:${'00'.repeat(16)}:disabled\n`);
    assert.equal(d.find('alice', 'corp')?.state, 'disabled');
    assert.equal(d.find('alice', 'home')?.state, 'ok');
  });

  it('reads the SAM line of winpr-hash -f sam', () => {
    const d = parseUsersFile(`alice:::${ALICE}:::\n`);
    assert.equal(d.find('alice', 'WORKGROUP')?.ntHash.toString('hex'), ALICE);
  });

  it('reads what the real winpr-hash prints', { skip: !existsSync('/usr/bin/winpr-hash') && 'winpr-hash not installed' }, () => {
    const line = execFileSync('/usr/bin/winpr-hash', ['-u', 'alice', '-p', 'S3cret!', '-f', 'sam'], { encoding: 'utf8' });
    const d = parseUsersFile(line);
    assert.equal(d.find('alice', '')?.ntHash.toString('hex'), ALICE);
  });

  it('names the line of a bad entry and never echoes the hash', () => {
    for (const bad of [`alice:${ALICE}`, 'alice::nothex', `alice::${ALICE}:frozen`, `::${ALICE}`]) {
      assert.throws(
        () => parseUsersFile(`# ok\n${bad}\n`, 'users.txt'),
        (e: unknown) => e instanceof PolicyError && e.line === 2 && e.file === 'users.txt' && !e.message.includes(ALICE),
        bad,
      );
    }
  });

  it('only ever throws PolicyError on random text', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 200 }), (text) => {
        try {
          parseUsersFile(text);
        } catch (e) {
          if (!(e instanceof PolicyError)) throw e;
        }
      }),
      { numRuns: 2000 },
    );
  });
});
