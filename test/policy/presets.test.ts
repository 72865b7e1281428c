/**
 * Server presets (data/presets.yaml): schema-checked at load, each with its source, each
 * behaving as the host it names. The sources of the values are in the YAML; the rules the
 * answers follow are tested with their sources in negotiation.test.ts.
 */
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { DataError, checkData } from '../../src/data/load.js';
import { PROTOCOL } from '../../src/pdu/nego.js';
import { selectEncryptionMethod } from '../../src/policy/encryption-method.js';
import { negotiate, type NegotiationDecision } from '../../src/policy/negotiation.js';
import { policyFromPreset, preset, presetEntries, presetNames } from '../../src/policy/presets.js';
import { describePolicy } from '../../src/policy/server-policy.js';
import { policyFromXrdpIni } from '../../src/policy/xrdp-ini.js';

const { RDP, SSL, HYBRID, HYBRID_EX } = PROTOCOL;
const MSTSC = SSL | HYBRID | HYBRID_EX;

function short(d: NegotiationDecision): string {
  if (d.outcome === 'selected') return d.negData ? d.selected : `${d.selected} (no negData)`;
  if (d.outcome === 'failure') return `FAIL ${d.failureCode}`;
  return 'DROP';
}
function answers(name: string): Record<string, string> {
  const p = preset(name);
  return {
    legacy: short(negotiate(p, null)),
    rdp: short(negotiate(p, RDP)),
    ssl: short(negotiate(p, SSL)),
    'ssl|hybrid': short(negotiate(p, SSL | HYBRID)),
    mstsc: short(negotiate(p, MSTSC)),
  };
}

describe('data/presets.yaml', () => {
  it('holds the issue\'s presets, each with a description and a source', () => {
    const names = presetNames();
    for (const n of ['windows-2019', 'windows-2008r2-tls10', 'windows-hardened', 'windows-legacy-rdp', 'xrdp-debian']) assert.ok(names.includes(n), n);
    for (const e of presetEntries().values()) {
      assert.ok(e.description.length > 10, e.name);
      assert.ok(e.source.length > 20, e.name);
      assert.ok((e.windows === undefined) !== (e.xrdp === undefined), `${e.name}: exactly one of windows, xrdp`);
    }
  });

  it('every preset becomes a policy without warnings, named after it, with its source', () => {
    for (const name of presetNames()) {
      const p = preset(name);
      assert.equal(p.name, name);
      assert.deepEqual(p.warnings, [], name);
      assert.equal(p.source.kind, 'preset');
      assert.equal(p.source.kind === 'preset' && p.source.reference, presetEntries().get(name)?.source);
    }
  });

  it('the schema rejects a preset with both flavors, an unknown knob, or an out-of-range value', () => {
    const base = { name: 'x', description: 'a test preset', source: 'here' };
    const win = { SecurityLayer: 1, UserAuthentication: 1, MinEncryptionLevel: 2 };
    assert.doesNotThrow(() => checkData('presets', { presets: [{ ...base, windows: win }] }));
    for (const bad of [
      { ...base, windows: win, xrdp: { security_layer: 'rdp', crypt_level: 'high' } },
      { ...base },
      { ...base, windows: { ...win, SecurityLayer: 3 } },
      { ...base, windows: { ...win, Bogus: 1 } },
      { ...base, name: 'Not A Name', windows: win },
      { name: 'x', description: 'no source', windows: win },
    ]) {
      assert.throws(() => checkData('presets', { presets: [bad] }), DataError, JSON.stringify(bad));
    }
  });

  it('describes each preset in one line', () => {
    assert.equal(
      describePolicy(preset('windows-2019')),
      'windows SecurityLayer=1 UserAuthentication=1 MinEncryptionLevel=2: offers HYBRID_EX,HYBRID, level CLIENT_COMPATIBLE, TLSv1..TLSv1.2, NLA required',
    );
    assert.equal(describePolicy(preset('xrdp-debian')), 'xrdp security_layer=negotiate crypt_level=high: offers SSL,RDP, level HIGH, TLSv1.2..TLSv1.3');
  });

  it('an unknown preset name is a DataError listing the known ones', () => {
    assert.throws(() => preset('windows-3.11'), (e: unknown) => e instanceof DataError && /known: .*windows-2019/.test(e.message));
  });
});

describe('the presets behave as the hosts they name', () => {
  it('windows-2019: NLA required, HYBRID_EX for mstsc, TLS 1.0-1.2', () => {
    assert.deepEqual(answers('windows-2019'), {
      legacy: 'DROP',
      rdp: 'FAIL HYBRID_REQUIRED_BY_SERVER',
      ssl: 'FAIL HYBRID_REQUIRED_BY_SERVER',
      'ssl|hybrid': 'HYBRID',
      mstsc: 'HYBRID_EX',
    });
    const p = preset('windows-2019');
    assert.deepEqual([p.tls.minVersion, p.tls.maxVersion], ['TLSv1', 'TLSv1.2']);
    assert.equal(p.standardSecurity.encryptionLevel, 'CLIENT_COMPATIBLE');
  });

  it('windows-2008r2-tls10: everything negotiable, no HYBRID_EX, TLS 1.0 only', () => {
    assert.deepEqual(answers('windows-2008r2-tls10'), {
      legacy: 'RDP (no negData)',
      rdp: 'RDP',
      ssl: 'SSL',
      'ssl|hybrid': 'HYBRID',
      mstsc: 'HYBRID',
    });
    const p = preset('windows-2008r2-tls10');
    assert.deepEqual(p.tls.versions, ['TLSv1']);
    assert.equal(p.negRspFlags, 0x01);
    // Client Compatible: the client's strongest method (MS-RDPBCGR 5.3.2)
    const sel = selectEncryptionMethod(p, 0x1b);
    assert.equal(sel.outcome === 'selected' && sel.method, '128BIT');
  });

  it('windows-hardened: TLS and NLA required, High level, TLS 1.2, CredSSP Force Updated Clients', () => {
    assert.deepEqual(answers('windows-hardened'), {
      legacy: 'DROP',
      rdp: 'FAIL HYBRID_REQUIRED_BY_SERVER',
      ssl: 'FAIL HYBRID_REQUIRED_BY_SERVER',
      'ssl|hybrid': 'HYBRID',
      mstsc: 'HYBRID_EX',
    });
    const p = preset('windows-hardened');
    assert.equal(p.standardSecurity.encryptionLevel, 'HIGH');
    assert.deepEqual(p.tls.versions, ['TLSv1.2']);
    assert.equal(p.credssp?.checkNonce, true);
  });

  it('windows-legacy-rdp: Standard RDP Security only, TLS refused in-band', () => {
    assert.deepEqual(answers('windows-legacy-rdp'), {
      legacy: 'RDP (no negData)',
      rdp: 'RDP',
      ssl: 'FAIL SSL_NOT_ALLOWED_BY_SERVER',
      'ssl|hybrid': 'FAIL SSL_NOT_ALLOWED_BY_SERVER',
      mstsc: 'FAIL SSL_NOT_ALLOWED_BY_SERVER',
    });
    assert.deepEqual(preset('windows-legacy-rdp').nla, { supported: false, required: false });
  });

  it('xrdp-debian: TLS when asked, RDP otherwise, 128-bit High, TLS 1.2-1.3, the default certificate paths', () => {
    assert.deepEqual(answers('xrdp-debian'), {
      legacy: 'RDP (no negData)',
      rdp: 'RDP',
      ssl: 'SSL',
      'ssl|hybrid': 'SSL',
      mstsc: 'SSL',
    });
    const p = preset('xrdp-debian');
    const sel = selectEncryptionMethod(p, 0x1b);
    assert.deepEqual(sel.outcome === 'selected' && [sel.level, sel.method], ['HIGH', '128BIT']);
    assert.deepEqual([p.tls.minVersion, p.tls.maxVersion], ['TLSv1.2', 'TLSv1.3']);
    assert.deepEqual(p.tls.certificate, { kind: 'files', certFile: '/etc/xrdp/cert.pem', keyFile: '/etc/xrdp/key.pem' });
  });

  it('xrdp-debian matches the installed /etc/xrdp/xrdp.ini', { skip: existsSync('/etc/xrdp/xrdp.ini') ? false : '/etc/xrdp/xrdp.ini is absent' }, () => {
    const strip = ({ name: _n, source: _s, warnings: _w, ...rest }: ReturnType<typeof preset>) => rest;
    const installed = policyFromXrdpIni(readFileSync('/etc/xrdp/xrdp.ini'), { file: '/etc/xrdp/xrdp.ini' });
    assert.deepEqual(strip(installed), strip(preset('xrdp-debian')));
  });

  it('a preset entry built by hand goes through the same code', () => {
    const p = policyFromPreset({ name: 't', description: 'test', source: 'test', windows: { SecurityLayer: 2, UserAuthentication: 0, MinEncryptionLevel: 4 } });
    assert.equal(short(negotiate(p, RDP)), 'FAIL SSL_REQUIRED_BY_SERVER');
    assert.equal(p.standardSecurity.encryptionLevel, 'FIPS');
  });
});
