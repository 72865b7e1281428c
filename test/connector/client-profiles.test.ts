/**
 * Client profiles (data/clients/*.yaml) run against our acceptor in memory: the catalogue
 * and its schema, the KB4295591 matrix (fact sheet section 4) reproduced by the real connector
 * configured from the profiles against the real acceptor configured from the presets, and the
 * clients' fallback chains. The captures the profiles are checked against are in
 * client-profiles-captures.test.ts.
 *
 * In memory the TLS handshake is skipped: both sides are handed the same public key (as in
 * test/acceptor/credssp-exchange.test.ts). So windows-2008r2-tls10, which only speaks TLS 1.0
 * and does not require NLA, selects HYBRID for a client that asks for it.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { readFileSync, readdirSync } from 'node:fs';
import { before, describe, it } from 'node:test';
import { parse } from 'yaml';
import { ServerAcceptor } from '../../src/acceptor/acceptor.js';
import type { AcceptorPolicy } from '../../src/acceptor/acceptor-policy.js';
import { acceptorPolicy } from '../../src/acceptor/from-server-policy.js';
import { ServerIdentity } from '../../src/acceptor/server-identity.js';
import { attemptOutcome, checkProfile, clientProfile, clientProfileNames, clientProfiles, connectorConfigFor, nextAttempt, type ClientProfile } from '../../src/connector/client-profiles.js';
import { ClientConnector, type ConnectorConfig } from '../../src/connector/connector.js';
import type { CredsspCredentials } from '../../src/connector/credssp-client.js';
import { CONNECTOR_ERROR_CODES } from '../../src/connector/errors.js';
import { generateRsaKeyPairLE } from '../../src/crypto/rsa.js';
import { DataError, checkData } from '../../src/data/load.js';
import { PROTOCOL } from '../../src/pdu/nego.js';
import { preset } from '../../src/policy/presets.js';
import type { CredsspPolicy } from '../../src/policy/server-policy.js';
import { ACCOUNT_STATES, parseUsersFile } from '../../src/policy/users-file.js';
import { loadCredsspClient } from '../../src/connector/credssp-loader.js';

// CredSSP's client half loads on demand (connector/credssp-loader.ts)
before(() => loadCredsspClient());

const IDENTITY = new ServerIdentity(generateRsaKeyPairLE(1024));
/** An RSAPublicKey-shaped blob standing for the server's TLS key, handed to both sides. */
const SERVER_KEY = Buffer.concat([Buffer.from('3082010a02820101', 'hex'), randomBytes(257), Buffer.from('0203010001', 'hex')]);
const ALICE_HASH = '10b2f1961375b20126508c2267862bf0'; // NT hash of S3cret!
const ACCOUNTS = parseUsersFile(`alice::${ALICE_HASH}\n`);

function alice(user = 'alice'): CredsspCredentials {
  return { user, domain: '', ntHash: Buffer.from(ALICE_HASH, 'hex'), password: Buffer.from('S3cret!', 'utf16le') };
}

function serverPolicy(presetName: string, credssp?: Partial<CredsspPolicy>): AcceptorPolicy {
  return acceptorPolicy(preset(presetName), {
    accounts: (user, domain) => {
      const a = ACCOUNTS.find(user, domain);
      return a ? { ntHash: a.ntHash, status: ACCOUNT_STATES[a.state] } : undefined;
    },
    ...(credssp ? { credssp } : {}),
  });
}

/** One attempt, our connector against our acceptor (the pump of credssp-exchange.test.ts). */
function pump(config: ConnectorConfig, policy: AcceptorPolicy) {
  const s = new ServerAcceptor(policy, IDENTITY, randomBytes);
  const c = new ClientConnector(config);
  const toClient: Uint8Array[] = [];
  const toServer = (outputs: Uint8Array[]): void => {
    for (const o of outputs) if (!s.done) toClient.push(...s.step(o).output);
  };
  toServer(c.step(null).output);
  for (let guard = 0; !c.done && guard < 200; guard++) {
    if (c.pause) {
      s.markSecurityUpgradeDone({ version: 'TLSv1.2', serverPublicKey: SERVER_KEY });
      toServer(c.markSecurityUpgradeDone({ version: 'TLSv1.2', serverPublicKey: SERVER_KEY }).output);
      continue;
    }
    const next = toClient.shift();
    if (!next) break; // the server closed without a word
    toServer(c.step(next).output);
  }
  return { c, s };
}

/** A profile's connection attempts, one after the other as its `after` graph says. */
function runProfile(profile: ClientProfile, policy: AcceptorPolicy) {
  const configs = connectorConfigFor(profile, { credentials: alice() });
  /** per attempt: requestedProtocols, how it ended for the client ('waiting' when left hanging), for the server */
  const path: [number | null, string, string][] = [];
  for (let i: number | undefined = 0; i !== undefined && path.length < 10; ) {
    const { c, s } = pump(configs[i]!, policy);
    path.push([configs[i]!.requestedProtocols, c.done ? attemptOutcome(c) : 'waiting', s.summary.outcome]);
    i = c.done ? nextAttempt(profile, i, c) : undefined;
  }
  return path;
}

const CLIENTS_DIR = new URL('../../../data/clients/', import.meta.url);
/** The source files of data/clients/, parsed. */
const clientFiles = () =>
  readdirSync(CLIENTS_DIR)
    .filter((f) => f.endsWith('.yaml'))
    .map((f) => ({ file: f, doc: parse(readFileSync(new URL(f, CLIENTS_DIR), 'utf8')) as { family: string; profiles: unknown[] } }));

describe('data/clients/*.yaml', () => {
  it('loads, and every entry of the source files matches the schema', () => {
    const files = clientFiles();
    assert.ok(files.length >= 5);
    for (const { file, doc } of files) {
      assert.equal(file, `${doc.family}.yaml`);
      assert.doesNotThrow(() => checkData('clients', doc), file);
      for (const entry of doc.profiles) checkData('clients', { ...doc, profiles: [entry] });
    }
    const names = clientProfileNames();
    assert.equal(new Set(names).size, names.length);
    for (const p of clientProfiles().values()) {
      assert.doesNotThrow(() => checkProfile(p), p.name);
      assert.ok(p.source.length > 40 && p.description.length > 10, p.name);
    }
  });

  it('holds the clients the issue asks for, with the CredSSP facts of each', () => {
    const credssp = (n: string) => {
      const c = clientProfile(n).credssp;
      return c && [c.version, c.patched, c.allowEncryptionOracle ?? '-', c.package];
    };
    assert.deepEqual(credssp('mstsc-win10'), [6, true, 1, 'spnego']);
    assert.deepEqual(credssp('mstsc-win10-aeo0'), [6, true, 0, 'spnego']);
    assert.deepEqual(credssp('mstsc-win10-aeo2'), [6, true, 2, 'spnego']);
    assert.deepEqual(credssp('mstsc-win7-unpatched'), [2, false, '-', 'spnego']);
    assert.deepEqual(credssp('mstsc-win7-patched'), [6, true, 1, 'spnego']);
    assert.deepEqual(credssp('mstsc-win11'), [6, true, 1, 'spnego']);
    assert.deepEqual(credssp('mstsc-xp-sp3-credssp'), [2, false, '-', 'spnego']);
    // XP without CredSSP: no HYBRID to offer; both XP profiles speak TLS 1.0 at most, Windows 11 1.2 at least
    assert.equal(clientProfile('mstsc-xp-sp3').credssp, undefined);
    assert.ok(!clientProfile('mstsc-xp-sp3').attempts.some((a) => a.requestedProtocols?.includes('HYBRID')));
    assert.equal(clientProfile('mstsc-xp-sp3-credssp').tls?.maxVersion, 'TLSv1');
    assert.equal(clientProfile('mstsc-win11').tls?.minVersion, 'TLSv1.2');
    // FreeRDP has no AllowEncryptionOracle: nla.c binds the old way below version 5 and goes on
    assert.deepEqual(credssp('xfreerdp-2.11'), [6, true, 2, 'ntlm']);
    assert.equal(clientProfile('xfreerdp-2.11').credssp?.allowEncryptionOracleFrom, 'built-in');
    assert.deepEqual(credssp('rdesktop-1.9'), [2, false, '-', 'kerberos']);
    assert.deepEqual(credssp('impacket-rdp_check'), [2, false, '-', 'ntlm']);
    assert.deepEqual(credssp('nmap-rdp-ntlm-info'), [96, false, '-', 'ntlm']);
    // the names the issue uses, and the older names kept as aliases
    assert.equal(clientProfile('freerdp-2'), clientProfile('xfreerdp-2.11'));
    assert.equal(clientProfile('freerdp-2-sec-nla'), clientProfile('xfreerdp-2.11-sec-nla'));
    assert.equal(clientProfile('rdesktop-1.9').name, 'rdesktop-1.9');
    assert.ok(!clientProfileNames().includes('xfreerdp-2.11'), 'aliases are not listed as names');
    for (const n of ['xfreerdp-2.11-sec-nla', 'xfreerdp-2.11-sec-tls', 'xfreerdp-2.11-sec-rdp', 'nmap-rdp-enum-encryption']) assert.ok(clientProfile(n));
  });

  it('the schema names only outcomes the connector has; checkProfile refuses what the schema cannot see', () => {
    const schema = JSON.parse(readFileSync(new URL('../../../data/schemas/clients.schema.json', import.meta.url), 'utf8'));
    for (const t of schema.definitions.trigger.enum as string[]) assert.ok(t === 'connected' || t === 'credssp-not-attempted' || (CONNECTOR_ERROR_CODES as readonly string[]).includes(t), t);
    const base = clientProfile('mstsc-win10');
    assert.throws(() => checkProfile({ ...base, credssp: { ...base.credssp!, version: 2 } }), DataError);
    assert.throws(() => checkProfile({ ...clientProfile('mstsc-win7-unpatched'), credssp: { version: 2, patched: false, allowEncryptionOracle: 1, package: 'spnego' } }), DataError);
    assert.throws(() => checkProfile({ ...base, attempts: [{ requestedProtocols: null }, { requestedProtocols: ['SSL'] }] }), DataError);
    assert.throws(() => checkProfile({ ...base, attempts: [{ requestedProtocols: null }, { requestedProtocols: ['SSL'], after: [{ attempt: 1, on: ['connected'] }] }] }), DataError);
    assert.throws(() => checkData('clients', { family: 'mstsc', profiles: [{ ...base, cookie: 'host-name' }] }), DataError);
    assert.throws(() => clientProfile('mstsc-xp'), /unknown client profile mstsc-xp \(known: mstsc-win10, /);
  });

  it('connectorConfigFor: the cookie from the user, never past the client\'s own stop, a password copy per attempt', () => {
    const creds = alice();
    const [x] = connectorConfigFor(clientProfile('xfreerdp-2.11-sec-tls'), { credentials: alice('bob') });
    assert.equal(x!.cookie, 'bob');
    assert.equal(connectorConfigFor(clientProfile('xfreerdp-2.11'))[0]!.cookie, undefined, 'no user, no cookie');
    assert.equal(connectorConfigFor(clientProfile('impacket-rdp_check'), { credentials: creds })[0]!.cookie, undefined);
    assert.equal(connectorConfigFor(clientProfile('nmap-rdp-ntlm-info'), { credentials: creds })[0]!.cookie, 'nmap');
    assert.equal(connectorConfigFor(clientProfile('nmap-rdp-ntlm-info'), { stopAfter: 'activation' })[0]!.stopAfter, 'credssp-challenge');
    assert.equal(connectorConfigFor(clientProfile('mstsc-win10'), { stopAfter: 'negotiation' })[0]!.stopAfter, 'negotiation');
    const configs = connectorConfigFor(clientProfile('xfreerdp-2.11'), { credentials: creds });
    assert.deepEqual(configs.map((c) => c.requestedProtocols), [0x3, 0x1, 0x1, 0x0, null]);
    const { c } = pump(configs[0]!, serverPolicy('windows-2019'));
    assert.equal(c.result?.credssp?.stage, 'authenticated');
    assert.deepEqual(Buffer.from(creds.password!), Buffer.from('S3cret!', 'utf16le'), 'the caller\'s password is left alone');
    assert.deepEqual(Buffer.from(configs[1]!.credssp!.credentials!.password!), Buffer.from('S3cret!', 'utf16le'));
  });
});

type Verdict = 'Allowed' | 'Blocked by server' | 'Blocked by client';
/**
 * KB4295591 as the fact sheet gives it (section 4): by who is patched, and by the
 * AllowEncryptionOracle (0 Force Updated Clients, 1 Mitigated, 2 Vulnerable) of the patched side.
 * "Both unpatched connects, with the old protocol."
 */
const KB4295591: Record<'server patched, client not' | 'client patched, server not' | 'both patched', readonly [Verdict, Verdict, Verdict]> = {
  'server patched, client not': ['Blocked by server', 'Allowed', 'Allowed'],
  'client patched, server not': ['Blocked by client', 'Blocked by client', 'Allowed'],
  'both patched': ['Allowed', 'Allowed', 'Allowed'],
};

function expected(server: { patched: boolean; aeo: 0 | 1 | 2 }, client: { patched: boolean; aeo: 0 | 1 | 2 }): Verdict {
  if (server.patched && client.patched) return KB4295591['both patched'][client.aeo];
  if (server.patched) return KB4295591['server patched, client not'][server.aeo];
  if (client.patched) return KB4295591['client patched, server not'][client.aeo];
  return 'Allowed';
}

describe('the KB4295591 matrix: client profiles against our acceptor with the presets', () => {
  const servers: { label: string; preset: string; credssp?: Partial<CredsspPolicy> }[] = [
    { label: 'windows-2019 (patched, Mitigated)', preset: 'windows-2019' },
    { label: 'windows-hardened (patched, Force Updated Clients)', preset: 'windows-hardened' },
    { label: 'windows-2008r2-tls10 (unpatched, version 2)', preset: 'windows-2008r2-tls10' },
    { label: 'windows-2019 with AllowEncryptionOracle=2 (Vulnerable)', preset: 'windows-2019', credssp: { allowEncryptionOracle: 2 } },
  ];
  const clients = ['mstsc-win10-aeo0', 'mstsc-win10', 'mstsc-win10-aeo2', 'mstsc-win7-unpatched'];
  const seen = new Set<Verdict>();
  for (const srv of servers) {
    for (const name of clients) {
      // the facts both sides come from: the preset (and override) and the profile
      const sp = { ...preset(srv.preset).credssp!, ...srv.credssp };
      const server = { patched: Math.max(...sp.versions) >= 5, aeo: sp.allowEncryptionOracle ?? 1 };
      const cp = clientProfile(name).credssp!;
      const client = { patched: cp.patched, aeo: cp.allowEncryptionOracle ?? 1 };
      const want = expected(server, client);
      it(`${srv.label} x ${name}: ${want}`, () => {
        const [config] = connectorConfigFor(clientProfile(name), { credentials: alice() });
        const { c, s } = pump(config!, serverPolicy(srv.preset, srv.credssp));
        let got: Verdict;
        if (c.error?.code === 'CREDSSP_ORACLE_REMEDIATION') {
          got = 'Blocked by client';
          assert.equal(c.error.value, 0x80090302, 'SEC_E_UNSUPPORTED_FUNCTION, "The function requested is not supported"');
          assert.equal(c.error.phase, 'credssp');
          assert.equal(s.summary.nla?.user, undefined, 'the server never saw a logon');
        } else if (s.summary.outcome === 'refused' && /Force Updated Clients/.test(s.summary.reason)) {
          got = 'Blocked by server';
          assert.notEqual(c.result?.credssp?.stage, 'authenticated');
        } else {
          got = 'Allowed';
          assert.equal(c.error, undefined, c.error?.message);
          assert.equal(c.result?.credssp?.stage, 'authenticated');
          assert.equal(s.summary.nla?.user, 'alice');
          assert.equal(s.summary.outcome, 'finalized', 'mstsc goes on to activation');
        }
        seen.add(got);
        assert.equal(got, want);
        assert.ok(c.result!.selectedProtocol & (PROTOCOL.HYBRID | PROTOCOL.HYBRID_EX), 'CredSSP was selected');
      });
    }
  }
  it('shows all three verdicts of the table', () => assert.deepEqual([...seen].sort(), ['Allowed', 'Blocked by client', 'Blocked by server']));

  it('xfreerdp 2.11, which has no AllowEncryptionOracle, logs on to the unpatched server as a Vulnerable client would', () => {
    const [config] = connectorConfigFor(clientProfile('xfreerdp-2.11'), { credentials: alice() });
    const { c, s } = pump(config!, serverPolicy('windows-2008r2-tls10'));
    assert.equal(c.error, undefined, c.error?.message);
    assert.equal(s.summary.nla?.clientVersion, 6);
    assert.equal(s.summary.outcome, 'finalized');
  });
});

describe('fallback chains against our acceptor', () => {
  const chain = (profile: string, presetName: string) => runProfile(clientProfile(profile), serverPolicy(presetName));

  it('xfreerdp 2.11 goes SSL|HYBRID -> SSL -> RDP against SecurityLayer=0, as in shadow-rdp--xfreerdp-default', () => {
    assert.deepEqual(chain('xfreerdp-2.11', 'windows-legacy-rdp'), [
      [0x3, 'SSL_NOT_ALLOWED_BY_SERVER', 'refused'],
      [0x1, 'SSL_NOT_ALLOWED_BY_SERVER', 'refused'],
      [0x0, 'connected', 'finalized'],
    ]);
  });

  it('rdesktop 1.9 retries without RDP_NEG_REQ after SSL_NOT_ALLOWED_BY_SERVER', () => {
    assert.deepEqual(chain('rdesktop-1.9', 'windows-legacy-rdp'), [
      [0x3, 'SSL_NOT_ALLOWED_BY_SERVER', 'refused'],
      [null, 'connected', 'finalized'],
    ]);
  });

  it('rdesktop 1.9, with no Kerberos ticket, leaves after TLS when CredSSP is selected and asks for SSL only', () => {
    // as rdesktop 1.9.0 did against rdpsec serve with these presets (data/clients/rdesktop.yaml)
    assert.deepEqual(chain('rdesktop-1.9', 'windows-2008r2-tls10'), [
      [0x3, 'credssp-not-attempted', 'in-progress'],
      [0x1, 'connected', 'finalized'],
    ]);
    assert.deepEqual(chain('rdesktop-1.9', 'windows-2019'), [
      [0x3, 'credssp-not-attempted', 'in-progress'],
      [0x1, 'HYBRID_REQUIRED_BY_SERVER', 'refused'],
    ]);
  });

  it('xfreerdp /sec:nla refuses a server that picks TLS and makes no other attempt', () => {
    assert.deepEqual(chain('xfreerdp-2.11-sec-nla', 'xrdp-debian'), [[0x3, 'UNEXPECTED_PROTOCOL', 'in-progress']]);
  });

  it('xfreerdp /sec:tls stops at HYBRID_REQUIRED_BY_SERVER, as against the FreeRDP shadow server', () => {
    assert.deepEqual(chain('xfreerdp-2.11-sec-tls', 'windows-hardened'), [[0x1, 'HYBRID_REQUIRED_BY_SERVER', 'refused']]);
  });

  it('a stop before the logon is not mistaken for a client that cannot log on', () => {
    const [config] = connectorConfigFor(clientProfile('rdesktop-1.9'), { stopAfter: 'security-upgrade' });
    const { c } = pump(config!, serverPolicy('windows-2019'));
    assert.equal(attemptOutcome(c), 'connected');
  });
});
