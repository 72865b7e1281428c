/**
 * The error catalogue behind `rdpsec explain` (data/errors/*.yaml): the schema rejects broken
 * entries, every entry cites a source, fixes are ranked by safety (a fix that weakens security
 * comes after a safe one and says what it weakens and what is safer), the numbers written in
 * titles agree with the codes, and the build's JSON is the YAML as written.
 */
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { parse } from 'yaml';
import { DataError, checkData, loadDataFolder } from '../../src/data/load.js';
import { buildIndex, checkEntries, errorCatalogue, strippedNames, type ErrorEntry, type ErrorEntryData } from '../../src/diagnose/explain-catalogue.js';

const ERRORS_DIR = fileURLToPath(new URL('../../../data/errors/', import.meta.url));

function yamlFiles(): { file: string; doc: { family: string; entries: ErrorEntryData[] } }[] {
  return readdirSync(ERRORS_DIR)
    .filter((f) => f.endsWith('.yaml'))
    .sort()
    .map((file) => ({ file, doc: parse(readFileSync(`${ERRORS_DIR}${file}`, 'utf8')) }));
}

const ENTRY: ErrorEntryData = {
  id: 'x-entry',
  title: 'X',
  meaning: 'what it means',
  documented: true,
  codes: [{ value: 0x1234 }],
  causes: [{ summary: 'a cause', confirm: 'how to confirm it' }],
  fixes: [{ summary: 'a safe fix', where: 'server', safety: 'safe', steps: ['do it'], undo: 'undo it' }],
  source: 'MS-RDPBCGR 2.2.1.2.2',
};
const WEAKENING = {
  summary: 'a weakening fix',
  where: 'client',
  safety: 'weakens-security',
  weakens: 'what it weakens',
  saferAlternative: 'the safe fix',
  steps: ['do it'],
  undo: 'undo it',
};

function asEntries(list: ErrorEntryData[]): ErrorEntry[] {
  return list.map((e) => ({ ...e, family: 'mstsc', file: 'mstsc.yaml' }));
}

describe('error catalogue (data/errors/*.yaml)', () => {
  it('the files as written pass the schema, and the build holds the same documents (dist/data is not stale)', () => {
    const files = yamlFiles();
    assert.deepEqual(
      files.map((f) => f.file),
      ['credssp.yaml', 'freerdp.yaml', 'gateway.yaml', 'mstsc.yaml', 'openssl.yaml', 'rdp-neg-failure.yaml', 'xrdp.yaml'],
    );
    for (const { file, doc } of files) assert.doesNotThrow(() => checkData('errors', doc, `data/errors/${file}`), file);
    assert.deepEqual(loadDataFolder('errors'), files);
  });

  it('loads, checked and indexed: every family present, ids unique, related ids existing', () => {
    const index = errorCatalogue();
    const families = new Map<string, number>();
    for (const e of index.entries.values()) families.set(e.family, (families.get(e.family) ?? 0) + 1);
    for (const f of ['rdp-neg-failure', 'freerdp', 'mstsc', 'credssp', 'xrdp', 'openssl', 'gateway']) assert.ok((families.get(f) ?? 0) > 0, f);
    assert.equal(families.get('rdp-neg-failure'), 6, 'RDP_NEG_FAILURE codes 1 to 6');
    assert.ok(index.entries.size >= 140, `${index.entries.size} entries`);
  });

  it('every entry cites a source that names a document, a file, an issue or the fact sheet', () => {
    for (const e of errorCatalogue().entries.values()) {
      assert.ok(e.source.length >= 10, e.id);
      assert.match(e.source, /MS-[A-Z]+|RFC \d+|KB\d+|FreeRDP|xrdp|OpenSSL|TechNet|SupportArticles|rdp-security-facts|IMsTscAxEvents|SSPI|Azure|rdpsec peer captures/, e.id);
    }
  });

  it('fixes are ranked by safety: a weakening fix comes after a safe one, says what it weakens and names the safer fix', () => {
    let weakening = 0;
    for (const e of errorCatalogue().entries.values()) {
      const firstWeak = e.fixes.findIndex((f) => f.safety === 'weakens-security');
      if (firstWeak < 0) continue;
      assert.ok(firstWeak > 0, `${e.id}: a safe fix first`);
      assert.ok(e.fixes.slice(firstWeak).every((f) => f.safety === 'weakens-security'), `${e.id}: no safe fix after a weakening one`);
      for (const f of e.fixes.slice(firstWeak)) {
        weakening++;
        assert.ok(f.weakens && f.weakens.length > 20, `${e.id}: says what it weakens`);
        assert.ok(f.saferAlternative && f.saferAlternative.length > 10, `${e.id}: names the safer fix`);
      }
      for (const f of e.fixes.slice(0, firstWeak)) assert.equal(f.weakens, undefined, e.id);
    }
    assert.ok(weakening >= 15, `only ${weakening} weakening fixes`);
  });

  it("the issue's known weakening fixes are marked so and point to the safer one", () => {
    const index = errorCatalogue();
    const fixOf = (id: string, re: RegExp) => index.entries.get(id)!.fixes.find((f) => re.test(f.summary + f.steps.join(' ')));
    const oracle = fixOf('credssp-encryption-oracle', /AllowEncryptionOracle=2/)!;
    assert.equal(oracle.safety, 'weakens-security');
    assert.match(oracle.saferAlternative!, /[Pp]atch the server/);
    assert.equal(index.entries.get('credssp-encryption-oracle')!.fixes[0]!.safety, 'safe');
    const binding = fixOf('gateway-status-bad-bindings', /EnforceChannelBinding=0/)!;
    assert.equal(binding.safety, 'weakens-security');
    assert.match(binding.saferAlternative!, /LmCompatibilityLevel 3 or more/);
    const layer = fixOf('neg-ssl-not-allowed-by-server', /\/sec:rdp/)!;
    assert.equal(layer.safety, 'weakens-security');
    assert.match(layer.saferAlternative!, /TLS with NLA/);
    const nla = fixOf('neg-hybrid-required-by-server', /UserAuthentication=0/)!;
    assert.equal(nla.safety, 'weakens-security');
  });

  it('an undocumented code says so and offers no fix: 0x507', () => {
    const e = errorCatalogue().entries.get('mstsc-0x507')!;
    assert.equal(e.documented, false);
    assert.deepEqual(e.fixes, []);
    assert.deepEqual(e.causes, []);
    assert.match(e.meaning, /^No source rdpsec knows documents code 0x507/);
    assert.ok(e.investigate && e.investigate.length > 0);
  });

  it('the numbers written in titles agree with the codes (hex, decimal and negative int32)', () => {
    let checked = 0;
    for (const e of errorCatalogue().entries.values()) {
      const values = new Set((e.codes ?? []).map((c) => c.value));
      // "0x904 (2308)", "(0xC000006D, -1073741715)", "50331671 = 0x03000017", "(0x2000C, exit 133)"
      for (const m of e.title.matchAll(/0x([0-9A-Fa-f]+)(?: \((\d+)\)|, (-\d+)\)|)/g)) {
        const v = parseInt(m[1]!, 16);
        if (e.family === 'openssl') continue;
        assert.ok(values.has(v), `${e.id}: ${m[0]} is not one of its codes`);
        if (m[2]) assert.equal(Number(m[2]), v, `${e.id}: ${m[0]}`);
        if (m[3]) assert.equal(Number(m[3]), v | 0, `${e.id}: ${m[0]}`);
        checked++;
      }
      for (const m of e.title.matchAll(/(\d{6,}) = 0x([0-9A-Fa-f]+)/g)) assert.equal(Number(m[1]), parseInt(m[2]!, 16), `${e.id}: ${m[0]}`);
      for (const m of e.title.matchAll(/exit (\d+)/g)) assert.ok(e.exitCodes?.includes(Number(m[1])), `${e.id}: exit ${m[1]}`);
    }
    assert.ok(checked > 80, `${checked} numbers checked`);
  });

  it('small codes (below 256) only count with a context word; no two entries share a code and a context', () => {
    const seen = new Map<string, string>();
    for (const e of errorCatalogue().entries.values()) {
      for (const c of e.codes ?? []) {
        if (c.value < 0x100) assert.ok(c.context && c.context.length > 0, `${e.id}: code ${c.value} needs a context`);
        const key = `${c.value}/${(c.context ?? []).join(',')}`;
        assert.ok(!seen.has(key), `${e.id} and ${seen.get(key)} share ${key}`);
        seen.set(key, e.id);
      }
    }
  });

  it('FreeRDP: every ERRCONNECT code has its full value (2 << 16 | code) and the exit codes of xfreerdp.h', () => {
    const index = errorCatalogue();
    const expected: [string, number, number | undefined][] = [
      ['freerdp-security-nego-connect-failed', 0x0c, 133],
      ['freerdp-connect-transport-failed', 0x0d, 147],
      ['freerdp-tls-connect-failed', 0x08, 143],
      ['freerdp-authentication-failed', 0x09, 132],
      ['freerdp-logon-failure', 0x14, 134],
      ['freerdp-account-locked-out', 0x18, 135],
      ['freerdp-pre-connect-failed', 0x01, 136],
      ['freerdp-hybrid-required-by-server', 0x1e, undefined],
    ];
    for (const [id, code, exit] of expected) {
      const e = index.entries.get(id)!;
      assert.ok(e.codes?.some((c) => c.value === (0x20000 | code) && !c.context), id);
      assert.ok(e.codes?.some((c) => c.value === code && c.context?.includes('errconnect')), id);
      assert.deepEqual(e.exitCodes, exit === undefined ? undefined : [exit], id);
    }
    const errconnect = [...index.entries.values()].filter((e) => e.names?.some((n) => n.startsWith('ERRCONNECT_')));
    assert.equal(errconnect.length, 30, 'ERRCONNECT 0x01 to 0x1E');
  });

  it('the schema rejects broken entries with a DataError naming the file', () => {
    const doc = (entry: unknown) => ({ family: 'mstsc', entries: [entry] });
    const broken: [string, unknown][] = [
      ['missing source', doc({ ...ENTRY, source: undefined })],
      ['short source', doc({ ...ENTRY, source: 'x' })],
      ['no way to match it', doc({ ...ENTRY, codes: undefined })],
      ['bad id', doc({ ...ENTRY, id: 'Not An Id' })],
      ['unknown family', { family: 'winrm', entries: [ENTRY] }],
      ['misspelt field', doc({ ...ENTRY, meanig: 'x' })],
      ['code out of range', doc({ ...ENTRY, codes: [{ value: 2 ** 32 }] })],
      ['negative code', doc({ ...ENTRY, codes: [{ value: -5 }] })],
      ['bad safety', doc({ ...ENTRY, fixes: [{ ...ENTRY.fixes[0], safety: 'mostly-safe' }] })],
      ['bad where', doc({ ...ENTRY, fixes: [{ ...ENTRY.fixes[0], where: 'cloud' }] })],
      ['fix without undo', doc({ ...ENTRY, fixes: [{ ...ENTRY.fixes[0], undo: undefined }] })],
      ['fix without steps', doc({ ...ENTRY, fixes: [{ ...ENTRY.fixes[0], steps: [] }] })],
      ['weakening fix that does not say what it weakens', doc({ ...ENTRY, fixes: [ENTRY.fixes[0], { ...WEAKENING, weakens: undefined }] })],
      ['weakening fix without the safer alternative', doc({ ...ENTRY, fixes: [ENTRY.fixes[0], { ...WEAKENING, saferAlternative: undefined }] })],
      ['safe fix that claims to weaken', doc({ ...ENTRY, fixes: [{ ...ENTRY.fixes[0], weakens: 'x' }] })],
      ['cause without confirm', doc({ ...ENTRY, causes: [{ summary: 'x' }] })],
      ['documented entry without causes', doc({ ...ENTRY, causes: [] })],
      ['undocumented entry with a fix', doc({ ...ENTRY, documented: false })],
      ['command that is not rdpsec', doc({ ...ENTRY, causes: [{ summary: 'x', confirm: 'y', command: 'rm -rf /' }] })],
      ['exit code out of range', doc({ ...ENTRY, exitCodes: [300] })],
      ['no entries', { family: 'mstsc', entries: [] }],
    ];
    for (const [what, d] of broken) {
      assert.throws(
        () => checkData('errors', d, 'data/errors/mstsc.yaml'),
        (e: unknown) => e instanceof DataError && /^data\/errors\/mstsc\.yaml does not match its schema: /.test(e.message),
        what,
      );
    }
    assert.doesNotThrow(() => checkData('errors', doc({ ...ENTRY, fixes: [ENTRY.fixes[0], WEAKENING] })));
    assert.doesNotThrow(() => checkData('errors', doc({ ...ENTRY, documented: false, causes: [], fixes: [] })));
  });

  it('the load checks reject what a schema cannot: duplicate ids, a weakening fix first or before a safe one, unknown related ids, empty phrases', () => {
    const safe = ENTRY.fixes[0]!;
    const bad: [string, ErrorEntryData[], RegExp][] = [
      ['duplicate id', [ENTRY, { ...ENTRY }], /duplicate id/],
      ['weakening fix first', [{ ...ENTRY, fixes: [WEAKENING as never] }], /no safe fix comes before it/],
      ['safe after weakening', [{ ...ENTRY, fixes: [safe, WEAKENING as never, safe] }], /comes after a fix that weakens security/],
      ['unknown related', [{ ...ENTRY, related: ['no-such-entry'] }], /related id no-such-entry does not exist/],
      ['stopwords only', [{ ...ENTRY, phrases: ['the, of a: this'] }], /fewer than two content words/],
    ];
    for (const [what, list, re] of bad) {
      assert.throws(() => checkEntries(asEntries(list)), (e: unknown) => e instanceof DataError && re.test(e.message) && /data\/errors\/mstsc\.yaml: x-entry/.test(e.message), what);
    }
    assert.doesNotThrow(() => checkEntries(asEntries([{ ...ENTRY, fixes: [safe, WEAKENING as never] }])));
  });

  it('indexes names with and without their prefixes', () => {
    assert.deepEqual(strippedNames('errconnect_security_nego_connect_failed'), ['security_nego_connect_failed']);
    assert.deepEqual(strippedNames('freerdp_error_connect_logon_failure'), ['logon_failure', 'connect_logon_failure']);
    assert.deepEqual(strippedNames('status_logon_failure'), ['logon_failure']);
    assert.deepEqual(strippedNames('ssl_required_by_server'), []);
    const index = buildIndex(asEntries([{ ...ENTRY, names: ['ERRCONNECT_SECURITY_NEGO_CONNECT_FAILED'], phrases: ['Protocol Security Negotiation Failure'] }]));
    assert.ok(index.byName.has('errconnect_security_nego_connect_failed'));
    assert.ok(index.byStrippedName.has('security_nego_connect_failed'));
    assert.deepEqual(index.phrases[0]!.words, ['protocol', 'security', 'negotiation', 'failure']);
    assert.equal(index.positionPhrase.length, 4);
  });
});
