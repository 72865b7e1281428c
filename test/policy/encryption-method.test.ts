/**
 * The Standard RDP Security method rules of policy/encryption-method.ts, each with its source.
 * The xrdp mapping is also replayed against real captures in captures.test.ts.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ENCRYPTION_METHOD } from '../../src/pdu/client-data.js';
import { selectEncryptionMethod, type MethodSelection } from '../../src/policy/encryption-method.js';
import { fromWindowsFlags } from '../../src/policy/windows-settings.js';
import { fromXrdpSettings } from '../../src/policy/xrdp-ini.js';

const M40 = ENCRYPTION_METHOD['40BIT'];
const M56 = ENCRYPTION_METHOD['56BIT'];
const M128 = ENCRYPTION_METHOD['128BIT'];
const FIPS = ENCRYPTION_METHOD.FIPS;
/** what mstsc and xfreerdp offer: 40 | 128 | 56 | FIPS = 0x1b */
const ALL = M40 | M56 | M128 | FIPS;

function windows(minEncryptionLevel: number, extra: { fipsAlgorithmPolicy?: boolean } = {}) {
  return fromWindowsFlags({ securityLayer: 1, userAuthentication: 0, minEncryptionLevel, ...extra });
}
function short(s: MethodSelection): string {
  return s.outcome === 'selected' ? `${s.level}/${s.method}${s.offeredByClient ? '' : ' (imposed)'}` : `REFUSED ${s.reason}`;
}

describe('selectEncryptionMethod, Windows (MS-RDPBCGR 5.3.2)', () => {
  it('LOW and CLIENT_COMPATIBLE take the strongest method the client offers: 128 > 56 > 40', () => {
    // MS-RDPBCGR 5.3.2; FreeRDP gcc_write_server_security_data ("Maximum key strength supported by the client");
    // WMI SetEncryptionLevel 2: "encrypted at the maximum key strength supported by the client"
    for (const level of [1, 2]) {
      const p = windows(level);
      const name = level === 1 ? 'LOW' : 'CLIENT_COMPATIBLE';
      assert.equal(short(selectEncryptionMethod(p, ALL)), `${name}/128BIT`);
      assert.equal(short(selectEncryptionMethod(p, M40 | M56)), `${name}/56BIT`);
      assert.equal(short(selectEncryptionMethod(p, M40)), `${name}/40BIT`);
      assert.equal(short(selectEncryptionMethod(p, FIPS)), `${name}/FIPS`);
    }
  });

  it('LOW and CLIENT_COMPATIBLE impose 128-bit on a client that offers nothing', () => {
    // FreeRDP: "client has not announced any supported encryption methods" -> 128BIT
    assert.equal(short(selectEncryptionMethod(windows(2), 0)), 'CLIENT_COMPATIBLE/128BIT (imposed)');
  });

  it('HIGH takes 128-bit', () => {
    // MS-RDPBCGR 5.3.6 table "High: 128 only"; GPO TS_ENCRYPTION_POLICY "High ... strong 128-bit encryption"
    assert.equal(short(selectEncryptionMethod(windows(3), ALL)), 'HIGH/128BIT');
  });

  it('HIGH imposes 128-bit on a client without it (the default whenClientLacksMethod)', () => {
    // FreeRDP: "client does not support 128 bit encryption method as required by server configuration", then 128BIT;
    // GPO: "Clients that do not support this encryption level cannot connect"
    assert.equal(short(selectEncryptionMethod(windows(3), M40)), 'HIGH/128BIT (imposed)');
  });

  it("HIGH refuses a client without 128-bit when whenClientLacksMethod is 'refuse'", () => {
    const p = windows(3);
    p.standardSecurity.whenClientLacksMethod = 'refuse';
    assert.equal(short(selectEncryptionMethod(p, M40 | M56)), 'REFUSED CLIENT_LACKS_128BIT');
    assert.equal(short(selectEncryptionMethod(p, M128)), 'HIGH/128BIT');
  });

  it('FIPS takes FIPS, imposes it, or refuses a client without it', () => {
    // MS-RDPBCGR 5.3.6 table "FIPS: FIPS only"; FreeRDP "client does not support FIPS as required by server configuration"
    const p = windows(4);
    assert.equal(short(selectEncryptionMethod(p, ALL)), 'FIPS/FIPS');
    assert.equal(short(selectEncryptionMethod(p, M40 | M128)), 'FIPS/FIPS (imposed)');
    p.standardSecurity.whenClientLacksMethod = 'refuse';
    assert.equal(short(selectEncryptionMethod(p, M40 | M128)), 'REFUSED CLIENT_LACKS_FIPS');
  });

  it('the FIPS algorithm policy makes the level FIPS whatever MinEncryptionLevel says', () => {
    // ADMX TS_ENCRYPTION_POLICY: FIPS compliance is configured through "System cryptography: Use FIPS compliant algorithms"
    assert.equal(short(selectEncryptionMethod(windows(2, { fipsAlgorithmPolicy: true }), ALL)), 'FIPS/FIPS');
  });

  it('reads extEncryptionMethods when encryptionMethods is 0 (French-locale clients)', () => {
    // MS-RDPBCGR 2.2.1.3.3 extEncryptionMethods (fact sheet section 2, from memory)
    assert.equal(short(selectEncryptionMethod(windows(2), { encryptionMethods: 0, extEncryptionMethods: M40 })), 'CLIENT_COMPATIBLE/40BIT');
  });

  it('answers NONE/NONE once TLS or CredSSP was selected', () => {
    // MS-RDPBCGR 2.2.1.4.3: encryptionMethod MUST be ENCRYPTION_METHOD_NONE with Enhanced RDP Security
    for (const proto of ['SSL', 'HYBRID', 'HYBRID_EX'] as const) {
      const s = selectEncryptionMethod(windows(3), ALL, proto);
      assert.equal(short(s), 'NONE/NONE');
      assert.deepEqual(s.outcome === 'selected' && [s.methodValue, s.levelValue], [0, 0]);
    }
  });

  it('gives the wire values and the source', () => {
    const s = selectEncryptionMethod(windows(2), ALL);
    assert.equal(s.outcome, 'selected');
    if (s.outcome !== 'selected') return;
    assert.deepEqual([s.methodValue, s.levelValue, s.rule], [0x02, 2, 'level-client-compatible-strongest']);
    assert.match(s.source, /MS-RDPBCGR 5\.3\.2/);
  });
});

describe('selectEncryptionMethod, xrdp (libxrdp/xrdp_sec.c)', () => {
  const xrdp = (crypt_level: string) => fromXrdpSettings({ security_layer: 'rdp', crypt_level });

  it('imposes one method per crypt_level whatever the client offers', () => {
    // fact sheet section 8 table (xrdp_sec.c); captures xrdp-rdp-{none,low,medium,high,fips}--xfreerdp-sec-rdp
    // with xfreerdp offering 0x1b: NONE/NONE, 40-bit/LOW, 40-bit/CLIENT_COMPATIBLE, 128-bit/HIGH, FIPS/FIPS
    assert.equal(short(selectEncryptionMethod(xrdp('none'), ALL)), 'NONE/NONE');
    assert.equal(short(selectEncryptionMethod(xrdp('low'), ALL)), 'LOW/40BIT');
    assert.equal(short(selectEncryptionMethod(xrdp('medium'), ALL)), 'CLIENT_COMPATIBLE/40BIT');
    assert.equal(short(selectEncryptionMethod(xrdp('high'), ALL)), 'HIGH/128BIT');
    assert.equal(short(selectEncryptionMethod(xrdp('fips'), ALL)), 'FIPS/FIPS');
  });

  it('never selects 56-bit, and goes on when the client lacks the method', () => {
    // xrdp_sec_process_mcs_data_CS_SECURITY: "Client and server do not both support the same encryption", `return 1` commented out;
    // capture xrdp-negotiate-high--nmap-rdp-enum-encryption: single offers 40, 56, FIPS all get 128-bit / High;
    // capture xrdp-rdp-fips--rdesktop: rdesktop offers 0x03, xrdp answers FIPS
    assert.equal(short(selectEncryptionMethod(xrdp('high'), M56)), 'HIGH/128BIT (imposed)');
    assert.equal(short(selectEncryptionMethod(xrdp('high'), M40)), 'HIGH/128BIT (imposed)');
    assert.equal(short(selectEncryptionMethod(xrdp('fips'), M40 | M128)), 'FIPS/FIPS (imposed)');
    assert.equal(short(selectEncryptionMethod(xrdp('medium'), M128)), 'CLIENT_COMPATIBLE/40BIT (imposed)');
  });

  it('ignores extEncryptionMethods', () => {
    // fact sheet section 2: "xrdp ignores extEncryptionMethods"
    assert.equal(short(selectEncryptionMethod(xrdp('high'), { encryptionMethods: 0, extEncryptionMethods: M128 })), 'HIGH/128BIT (imposed)');
  });

  it('answers NONE/NONE over TLS', () => {
    // xrdp_sec_process_mcs_data_CS_SECURITY: "The connection is using TLS, skipping RDP crypto negotiation";
    // capture xrdp-tls--xfreerdp-default: GCC server encryption None/None inside TLS
    assert.equal(short(selectEncryptionMethod(xrdp('fips'), ALL, 'SSL')), 'NONE/NONE');
  });
});
