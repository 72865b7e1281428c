/**
 * The policy parsers read files users hand us: random bytes, random lines and mutations of the
 * real fixtures must only ever raise PolicyError (the mqtt-packet habit, as for the pdu
 * decoders), and the negotiation functions must answer every request.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import fc from 'fast-check';
import { PolicyError } from '../../src/policy/errors.js';
import { selectEncryptionMethod } from '../../src/policy/encryption-method.js';
import { negotiate } from '../../src/policy/negotiation.js';
import { encodeRegUtf16 } from '../../src/policy/reg-file.js';
import { policyFromRegExport } from '../../src/policy/windows-registry.js';
import { fromWindowsFlags } from '../../src/policy/windows-settings.js';
import { fromXrdpSettings, policyFromXrdpIni } from '../../src/policy/xrdp-ini.js';

const RUNS = 1000;
const FIXTURES = fileURLToPath(new URL('../../../test/policy/fixtures/', import.meta.url));

function onlyPolicyError(fn: () => unknown): void {
  try {
    fn();
  } catch (e) {
    if (!(e instanceof PolicyError)) throw e;
  }
}

const LINE = fc.oneof(
  fc.string({ maxLength: 40 }),
  fc.constantFrom('[Globals]', '[HKEY_LOCAL_MACHINE\\SYSTEM\\CurrentControlSet\\Control\\Terminal Server\\WinStations\\RDP-Tcp]', '"SecurityLayer"=dword:', '"x"=hex:01,\\', '  02,03', '@=-', 'crypt_level=', 'security_layer=$X', ';', '#', '"'),
);

describe('policy parsers under random input', () => {
  it('.reg: random bytes only raise PolicyError', () => {
    fc.assert(fc.property(fc.uint8Array({ maxLength: 400 }), (b) => onlyPolicyError(() => policyFromRegExport(b))), { numRuns: RUNS });
  });

  it('.reg: random lines after the header only raise PolicyError', () => {
    fc.assert(
      fc.property(fc.array(LINE, { maxLength: 12 }), (lines) => onlyPolicyError(() => policyFromRegExport(encodeRegUtf16(['Windows Registry Editor Version 5.00', ...lines].join('\n'))))),
      { numRuns: RUNS },
    );
  });

  it('.reg: mutations of the committed sample only raise PolicyError', () => {
    const sample = readFileSync(`${FIXTURES}rdp-tcp-2019.reg`);
    fc.assert(
      fc.property(fc.array(fc.tuple(fc.nat({ max: sample.length - 1 }), fc.integer({ min: 0, max: 255 })), { minLength: 1, maxLength: 4 }), (edits) => {
        const b = Buffer.from(sample);
        for (const [i, v] of edits) b[i] = v;
        onlyPolicyError(() => policyFromRegExport(b));
      }),
      { numRuns: RUNS },
    );
  });

  it('xrdp.ini: random text only raises PolicyError, strict or not', () => {
    fc.assert(
      fc.property(fc.array(LINE, { maxLength: 12 }), fc.boolean(), (lines, strict) => onlyPolicyError(() => policyFromXrdpIni(['[Globals]', ...lines].join('\n'), { strict }))),
      { numRuns: RUNS },
    );
  });
});

describe('negotiation under random requests', () => {
  const policies = [
    ...[0, 1, 2].flatMap((securityLayer) => [0, 1].map((userAuthentication) => fromWindowsFlags({ securityLayer, userAuthentication, minEncryptionLevel: 2 }))),
    ...['rdp', 'tls', 'negotiate'].map((security_layer) => fromXrdpSettings({ security_layer, crypt_level: 'medium' })),
  ];

  it('every policy answers every request and every client method set', () => {
    fc.assert(
      fc.property(fc.option(fc.integer({ min: 0, max: 0xffffffff })), fc.integer({ min: 0, max: 255 }), fc.integer({ min: 0, max: 0xffffffff }), (req, flags, methods) => {
        for (const p of policies) {
          const d = negotiate(p, req, flags);
          assert.ok(['selected', 'failure', 'drop'].includes(d.outcome));
          assert.ok(d.rule && d.source);
          if (d.outcome === 'selected') {
            // a server only selects a protocol the client asked for, or RDP (MS-RDPBCGR 3.3.5.3.2)
            assert.ok(d.selected === 'RDP' || ((req ?? 0) & d.selectedProtocol) !== 0, `${d.selected} for 0x${(req ?? 0).toString(16)}`);
            assert.ok(p.protocols.offered.includes(d.selected), `${p.name}: ${d.selected} not in offered`);
            const m = selectEncryptionMethod(p, methods, d.selected);
            assert.equal(m.outcome, 'selected');
          }
        }
      }),
      { numRuns: RUNS },
    );
  });
});
