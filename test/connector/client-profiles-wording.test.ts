/**
 * How each client words a failure (clientFailureWording, data/clients/*.yaml `failures` and
 * `otherwise`): every profile has a wording for every failure code at every stage; every
 * `explain` names an entry of the error catalogue (data/errors/*.yaml); the schema's failure
 * codes and stages are exactly the ones of the code. The real clients' words are checked in
 * client-profiles-real.test.ts.
 */
import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import { describe, it } from 'node:test';
import { parse } from 'yaml';
import { EXTRA_FAILURE_CODES, SIMULATION_STAGES, clientFailureWording, clientProfile, clientProfiles, type FailureCode } from '../../src/connector/client-profiles.js';
import { CONNECTOR_ERROR_CODES } from '../../src/connector/errors.js';
import { errorCatalogue } from '../../src/diagnose/explain-catalogue.js';

const FAILURE_CODES: readonly FailureCode[] = [...CONNECTOR_ERROR_CODES, ...EXTRA_FAILURE_CODES];
const CLIENTS_DIR = new URL('../../../data/clients/', import.meta.url);

/** Every wording a file holds: its rules (the family's and its profiles'), and its `otherwise`. */
function allWordings(): { where: string; explain?: string; message: string }[] {
  const out: { where: string; explain?: string; message: string }[] = [];
  for (const f of readdirSync(CLIENTS_DIR).filter((n) => n.endsWith('.yaml'))) {
    const doc = parse(readFileSync(new URL(f, CLIENTS_DIR), 'utf8')) as {
      failures: { explain?: string; message: string }[];
      otherwise: { explain?: string; message: string };
      profiles: { name: string; failures?: { explain?: string; message: string }[] }[];
    };
    doc.failures.forEach((w, i) => out.push({ where: `${f} failures[${i}]`, ...w }));
    out.push({ where: `${f} otherwise`, ...doc.otherwise });
    for (const p of doc.profiles) (p.failures ?? []).forEach((w, i) => out.push({ where: `${f} ${p.name} failures[${i}]`, ...w }));
  }
  return out;
}

describe('clientFailureWording', () => {
  it('the schema lists exactly the failure codes and stages of the code', () => {
    const schema = JSON.parse(readFileSync(new URL('../../../data/schemas/clients.schema.json', import.meta.url), 'utf8'));
    assert.deepEqual([...schema.definitions.failureCode.enum].sort(), [...FAILURE_CODES].sort());
    assert.deepEqual(schema.definitions.stage.enum, [...SIMULATION_STAGES]);
  });

  it('every explain names an entry of data/errors', () => {
    const entries = errorCatalogue().entries;
    const wordings = allWordings();
    assert.ok(wordings.filter((w) => w.explain).length >= 30);
    for (const w of wordings) if (w.explain) assert.ok(entries.has(w.explain), `${w.where}: no data/errors entry ${w.explain}`);
  });

  it('gives every profile a wording for every failure at every stage, with its source', () => {
    for (const p of clientProfiles().values()) {
      for (const code of FAILURE_CODES) {
        for (const stage of SIMULATION_STAGES) {
          const w = clientFailureWording(p, code, stage, code === 'CREDSSP_LOGON_FAILED' ? 'STATUS_LOGON_FAILURE' : undefined);
          assert.ok(w.message.length > 0 && w.source.length > 10, `${p.name} ${code} ${stage}`);
          assert.ok(!/[{}](code|detail)|\{(code|detail)\}/.test(w.message), `${p.name} ${code}: placeholders are filled`);
          assert.ok(!('when' in w), 'the filter is not part of the wording');
        }
      }
    }
  });

  it('FreeRDP 2: the ERRCONNECT line and exit code the real client gives', () => {
    const x = clientProfile('freerdp-2');
    const neg = clientFailureWording(x, 'HYBRID_REQUIRED_BY_SERVER', 'x224');
    assert.equal(neg.exitCode, 133);
    assert.equal(neg.code, 'ERRCONNECT_SECURITY_NEGO_CONNECT_FAILED');
    assert.match(neg.message, /^Error: HYBRID_REQUIRED_BY_SERVER\n/, 'the code fills {code}');
    assert.equal(clientFailureWording(x, 'UNEXPECTED_PROTOCOL', 'x224').exitCode, 133);
    assert.equal(clientFailureWording(x, 'TRANSPORT_CLOSED', 'mcs').exitCode, 147);
    assert.equal(clientFailureWording(x, 'TRANSPORT_CLOSED', 'credssp').exitCode, 147);
    assert.equal(clientFailureWording(x, 'SERVER_DISCONNECTED', 'licensing').exitCode, 131);
    assert.equal(clientFailureWording(x, 'TLS_HANDSHAKE_FAILED', 'tls').exitCode, 143);
    const logon = clientFailureWording(x, 'CREDSSP_LOGON_FAILED', 'credssp', 'STATUS_LOGON_FAILURE');
    assert.deepEqual([logon.code, logon.exitCode, logon.explain], ['ERRCONNECT_LOGON_FAILURE', 134, 'freerdp-logon-failure']);
    assert.equal(clientFailureWording(x, 'CREDSSP_LOGON_FAILED', 'credssp', 'STATUS_ACCOUNT_LOCKED_OUT').exitCode, 135);
    const other = clientFailureWording(x, 'CREDSSP_LOGON_FAILED', 'credssp', 'STATUS_NO_LOGON_SERVERS');
    assert.equal(other.code, 'ERRCONNECT_AUTHENTICATION_FAILED');
    assert.match(other.message, /STATUS_NO_LOGON_SERVERS/, 'the detail fills {detail}');
    // the old names are aliases of the same profiles, and so word failures alike
    assert.deepEqual(clientFailureWording(clientProfile('xfreerdp-2.11-sec-tls'), 'HYBRID_REQUIRED_BY_SERVER', 'x224'), neg);
  });

  it('rdesktop 1.9: its lines and exit 76', () => {
    const r = clientProfile('rdesktop-1.9');
    const w = clientFailureWording(r, 'HYBRID_REQUIRED_BY_SERVER', 'x224');
    assert.equal(w.exitCode, 76);
    assert.match(w.message, /^Failed to connect, CredSSP required by server/);
    assert.match(clientFailureWording(r, 'CREDSSP_NOT_ATTEMPTED', 'credssp').message, /Kerberos TGT/);
    assert.ok(clientFailureWording(r, 'TIMEOUT', 'x224').unverified, 'the fallback says it is not known');
  });

  it('mstsc: the dialog texts of data/errors, linked to their entries', () => {
    const m = clientProfile('mstsc-win10');
    const oracle = clientFailureWording(m, 'CREDSSP_ORACLE_REMEDIATION', 'credssp');
    assert.match(oracle.message, /CredSSP encryption oracle remediation/);
    assert.equal(oracle.explain, 'credssp-encryption-oracle');
    // the dialog text is the one the catalogue recognises for that entry
    const entry = errorCatalogue().entries.get('credssp-encryption-oracle');
    assert.ok(entry?.phrases?.includes(oracle.message));
    assert.equal(clientFailureWording(m, 'HYBRID_REQUIRED_BY_SERVER', 'x224').code, '0xB09');
    assert.equal(clientFailureWording(m, 'CREDSSP_LOGON_FAILED', 'credssp', 'STATUS_ACCOUNT_LOCKED_OUT').code, '0xD07');
    assert.equal(clientFailureWording(m, 'CREDSSP_LOGON_FAILED', 'credssp', 'STATUS_SOMETHING_ELSE').explain, 'mstsc-authentication-error');
    assert.equal(clientFailureWording(m, 'DECODE_ERROR', 'activation').explain, 'mstsc-internal-error');
  });

  it('FreeRDP 3: its own negotiation line, the same exit codes as 2.11 (SDL_EXIT_*)', () => {
    const x = clientProfile('freerdp-3');
    const neg = clientFailureWording(x, 'SSL_NOT_ALLOWED_BY_SERVER', 'x224');
    assert.deepEqual([neg.code, neg.exitCode], ['ERRCONNECT_SECURITY_NEGO_CONNECT_FAILED', 133]);
    assert.match(neg.message, /^Error: SSL_NOT_ALLOWED_BY_SERVER\n/);
    assert.doesNotMatch(neg.message, /Protocol Security Negotiation Failure/, '3.x logs it only when no error was set');
    assert.ok(neg.unverified);
    // the rest falls through to the family's (2.11) rules, whose exit codes 3.x shares
    assert.equal(clientFailureWording(x, 'TLS_HANDSHAKE_FAILED', 'tls').exitCode, 143);
    assert.equal(clientFailureWording(x, 'CREDSSP_LOGON_FAILED', 'credssp', 'STATUS_LOGON_FAILURE').exitCode, 134);
    assert.deepEqual(clientFailureWording(clientProfile('sdl-freerdp'), 'SSL_NOT_ALLOWED_BY_SERVER', 'x224'), neg);
  });

  it('PAM proxy: the vendor negotiation error for any RDP_NEG_FAILURE, FreeRDP names otherwise', () => {
    for (const name of ['pam-proxy', 'pam-proxy-rdp-security']) {
      const p = clientProfile(name);
      const neg = clientFailureWording(p, 'SSL_NOT_ALLOWED_BY_SERVER', 'x224');
      assert.equal(neg.code, 'ERRCONNECT_SECURITY_NEGO_CONNECT_FAILED');
      assert.match(neg.message, /The connection failed at negotiating security settings/);
      assert.equal(neg.explain, 'freerdp-security-nego-connect-failed');
      assert.equal(clientFailureWording(p, 'UNEXPECTED_PROTOCOL', 'x224').code, 'ERRCONNECT_SECURITY_NEGO_CONNECT_FAILED');
      assert.equal(clientFailureWording(p, 'TLS_HANDSHAKE_FAILED', 'tls').code, 'ERRCONNECT_TLS_CONNECT_FAILED');
      const other = clientFailureWording(p, 'MAC_MISMATCH', 'licensing');
      assert.equal(other.code, 'ERRCONNECT_CONNECT_TRANSPORT_FAILED');
      assert.ok(other.unverified, 'the fallback says it is not known');
    }
  });

  it('macOS: 0x207 for a failed TLS or CredSSP handshake, 0x204 when the connection drops', () => {
    for (const name of ['macos-rd-10', 'macos', 'macos-rd-10-no-credssp']) {
      const m = clientProfile(name);
      const tls = clientFailureWording(m, 'TLS_HANDSHAKE_FAILED', 'tls');
      assert.deepEqual([tls.code, tls.explain], ['0x207', 'mstsc-0x207']);
      assert.match(tls.message, /Error code: 0x207$/);
      // the dialog text is one the catalogue recognises for that entry
      assert.ok(errorCatalogue().entries.get('mstsc-0x207')?.phrases?.some((ph) => tls.message.includes(ph)));
      assert.equal(clientFailureWording(m, 'CREDSSP_ORACLE_REMEDIATION', 'credssp').code, '0x207');
      assert.equal(clientFailureWording(m, 'TRANSPORT_CLOSED', 'x224').code, '0x204');
      assert.ok(clientFailureWording(m, 'HYBRID_REQUIRED_BY_SERVER', 'x224').unverified);
      assert.equal(clientFailureWording(m, 'TRANSPORT_CLOSED', 'x224').exitCode, undefined, 'a GUI client has no exit code');
    }
  });
});
