/**
 * The field examples of issue 6, as docs/diagnosis.md walks through them, pinned through the
 * library: the inputs users have (a `reg export` of the host's RDP-Tcp key, an xrdp.ini, a .rdp
 * file, a client .reg, an xrdp log) read by the same parsers the CLI uses, the real connector
 * against the real acceptor (simulate), the fixes the simulation confirms (checkedFixes) and what
 * `explain` says for the message the user pastes. Each example pins the outcome, the stage, the
 * machine's code, what the client shows, the first fix and its safety, that every fix which
 * weakens security names a safer one, and the safer-vs-weaker pairs the issue names.
 *
 * Inputs: test/fixtures/examples/ (docs/diagnosis.md says what each one is).
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { Ajv } from 'ajv';
import { DEFAULT_CREDSSP } from '../../src/acceptor/from-server-policy.js';
import { readClientInput, type ClientReading } from '../../src/connector/client-input.js';
import { clientProfile, type ClientProfile } from '../../src/connector/client-profiles.js';
import type { RdpFileReading } from '../../src/connector/rdp-file.js';
import { errorCatalogue } from '../../src/diagnose/explain-catalogue.js';
import { explain, type ExplainMatch } from '../../src/diagnose/explain.js';
import { checkedFixes, fixCandidates, type CheckedFix } from '../../src/diagnose/fixes.js';
import { preset } from '../../src/policy/presets.js';
import { serverPolicyFromInput, type ServerInputKind } from '../../src/policy/server-input.js';
import type { ServerPolicy } from '../../src/policy/server-policy.js';
import { describeNegotiated, renderSimulation } from '../../src/report/simulation.js';
import { simulate, type SimulationResult } from '../../src/simulate/simulate.js';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const EXAMPLES = 'test/fixtures/examples/';
const SCHEMA = JSON.parse(readFileSync(`${ROOT}schemas/simulate.schema.json`, 'utf8')) as object;
const validate = new Ajv({ allErrors: true, strict: false }).compile(SCHEMA);

const readFromRoot = (path: string): Uint8Array => readFileSync(`${ROOT}${path}`);
const catalogue = errorCatalogue();

/** A server as `--server` reads it: a preset name or a file (by content, as the CLI does). */
function server(spec: string, kind: ServerInputKind): ServerPolicy {
  const r = serverPolicyFromInput(spec, readFromRoot);
  assert.equal(r.kind, kind);
  return r.policy;
}

/** `--credssp-version N` on top of a server (src/cli/credssp-options.ts): it speaks versions 2..N. */
function withCredsspVersion(p: ServerPolicy, n: number): ServerPolicy {
  return { ...p, credssp: { ...DEFAULT_CREDSSP, ...p.credssp, versions: Array.from({ length: n - 1 }, (_, i) => i + 2) } };
}

/** The risk ids a checked fix still leaves (the `still:` lines, `fixes[].risks`). */
function stillIds(f: CheckedFix): string[] {
  return f.risks.map((r) => r.id);
}

/** A client file as `--client FILE` reads it. */
function clientFile(name: string): ClientReading {
  return readClientInput(readFromRoot(`${EXAMPLES}${name}`), { file: name });
}

interface Diagnosis {
  result: SimulationResult;
  fixes: CheckedFix[];
}

async function diagnose(client: ClientProfile, srv: ServerPolicy): Promise<Diagnosis> {
  const result = await simulate({ client, server: srv });
  const fixes = await checkedFixes({ client, server: srv, baseline: result });
  // the JSON contract `simulate --json` prints (schemas/simulate.schema.json)
  assert.ok(validate({ ...result, fixes }), JSON.stringify(validate.errors));
  return { result, fixes };
}

const SAFETY_BY_ID = new Map(fixCandidates().map((f) => [f.id, f.safety]));

/** Every fix that weakens security says what and names a safer candidate that is itself safe. */
function assertWeakeningFixesNameSaferOnes(fixes: readonly CheckedFix[]): void {
  for (const f of fixes) {
    if (f.safety !== 'weakens-security') continue;
    assert.ok(f.weakens && f.weakens.length > 20, `${f.id}: says what it weakens`);
    assert.ok(f.saferAlternative, `${f.id}: names a safer alternative`);
    assert.equal(SAFETY_BY_ID.get(f.saferAlternative.id), 'safe', `${f.id}: its alternative ${f.saferAlternative.id} is safe`);
  }
  // safe fixes come first
  const firstWeak = fixes.findIndex((f) => f.safety === 'weakens-security');
  if (firstWeak >= 0) assert.ok(fixes.slice(firstWeak).every((f) => f.safety === 'weakens-security'), 'safe fixes are listed before weakening ones');
}

function fix(fixes: readonly CheckedFix[], id: string): CheckedFix {
  const f = fixes.find((x) => x.id === id);
  assert.ok(f, `fix ${id} offered (offered: ${fixes.map((x) => x.id).join(', ')})`);
  return f;
}

/** `rdpsec explain TEXT`: the best match. */
function explainTop(text: string): ExplainMatch {
  const m = explain(text, catalogue).matches[0];
  assert.ok(m, `explain finds something for ${JSON.stringify(text.slice(0, 60))}`);
  return m;
}

/** Every weakening fix of an explain entry names a safer alternative. */
function assertExplainFixesHonest(m: ExplainMatch): void {
  for (const f of m.entry.fixes) {
    if (f.safety !== 'weakens-security') continue;
    assert.ok(f.weakens, `${m.entry.id}: "${f.summary}" says what it weakens`);
    assert.ok(f.saferAlternative, `${m.entry.id}: "${f.summary}" names a safer fix`);
  }
}

describe('field example 1: a PAM proxy gets ERRCONNECT_SECURITY_NEGO_CONNECT_FAILED from a host with SecurityLayer 0 and NLA off', () => {
  const PAM_MESSAGE = 'ERRCONNECT_SECURITY_NEGO_CONNECT_FAILED\nFailed to connect to target server\nThe connection failed at negotiating security settings';

  it('the host\'s reg export reads as SecurityLayer 0, UserAuthentication 0: Standard RDP Security only', () => {
    const p = server(`${EXAMPLES}pam-target-rdp-tcp.reg`, 'reg');
    assert.equal(p.flavor, 'windows');
    if (p.flavor !== 'windows') return;
    assert.equal(p.windows.securityLayer, 0);
    assert.equal(p.windows.userAuthentication, 0);
    assert.deepEqual(p.protocols.offered, ['RDP']);
    assert.equal(p.nla.required, false);
  });

  it('the proxy asks NLA then TLS, is refused twice with SSL_NOT_ALLOWED_BY_SERVER and shows the Netwrix KB\'s three lines', async () => {
    const { result: r, fixes } = await diagnose(clientProfile('pam-proxy'), server(`${EXAMPLES}pam-target-rdp-tcp.reg`, 'reg'));
    assert.equal(r.connects, false);
    assert.deepEqual(
      r.attempts.map((a) => [a.requestedProtocols, a.outcome]),
      [
        [['SSL', 'HYBRID'], 'SSL_NOT_ALLOWED_BY_SERVER'],
        [['SSL'], 'SSL_NOT_ALLOWED_BY_SERVER'],
      ],
    );
    assert.equal(r.failure?.stage, 'x224');
    assert.equal(r.failure?.code, 'SSL_NOT_ALLOWED_BY_SERVER');
    assert.equal(r.failure?.clientCode, 'ERRCONNECT_SECURITY_NEGO_CONNECT_FAILED');
    assert.equal(r.failure?.clientMessage, PAM_MESSAGE);
    assert.equal(r.failure?.explain, 'freerdp-security-nego-connect-failed');

    // fixes: the host first (SecurityLayer 2 with NLA), the proxy's RDP security last, marked
    assert.deepEqual(
      fixes.map((f) => [f.id, f.safety]),
      [
        ['windows-require-tls-and-nla', 'safe'],
        ['windows-require-tls', 'safe'],
        ['windows-negotiate-layer', 'safe'],
        ['client-pam-rdp-security', 'weakens-security'],
      ],
    );
    assert.deepEqual(fixes[0]!.result, { protocol: 'HYBRID', tlsVersion: 'TLSv1.2', encryptionMethod: 'NONE', encryptionLevel: 'NONE', credsspVersion: 6 });
    assertWeakeningFixesNameSaferOnes(fixes);
    // the pair: SecurityLayer 2 with NLA rather than Standard RDP Security
    const weak = fix(fixes, 'client-pam-rdp-security');
    assert.deepEqual(weak.saferAlternative, { id: 'windows-require-tls-and-nla', summary: fixes[0]!.summary, works: true });
    assert.equal(weak.result.protocol, 'RDP');
    // what each fix still leaves: nothing for the three host fixes, no server authentication for the proxy's RDP security
    assert.deepEqual(fixes.map(stillIds), [[], [], [], ['no-server-authentication']]);
    assert.equal(describeNegotiated(weak.result), 'Standard RDP Security, 128-bit RC4, level CLIENT_COMPATIBLE');
  });

  it('the preset windows-legacy-rdp (the same knobs) gives the same answer as the reg export', async () => {
    const r = await simulate({ client: clientProfile('pam-proxy'), server: preset('windows-legacy-rdp') });
    assert.equal(r.failure?.code, 'SSL_NOT_ALLOWED_BY_SERVER');
    assert.equal(r.failure?.clientCode, 'ERRCONNECT_SECURITY_NEGO_CONNECT_FAILED');
  });

  it('explain with the pasted message: FreeRDP\'s security negotiation failure, its /sec:rdp fix marked and pointing at TLS on the server', () => {
    const m = explainTop(PAM_MESSAGE);
    assert.equal(m.entry.id, 'freerdp-security-nego-connect-failed');
    assert.equal(m.confidence, 1);
    assert.deepEqual(
      m.entry.fixes.map((f) => [f.where, f.safety]),
      [
        ['client', 'safe'],
        ['server', 'safe'],
        ['client', 'weakens-security'],
      ],
    );
    assert.match(m.entry.fixes[1]!.summary, /SecurityLayer=2 with UserAuthentication=1/);
    // the first cause is this case: a SecurityLayer 0 host answering SSL_NOT_ALLOWED_BY_SERVER to a PAM proxy without RDP security
    const first = m.entry.causes[0]!;
    assert.match(first.summary, /SecurityLayer=0/);
    assert.match(first.summary, /SSL_NOT_ALLOWED_BY_SERVER/);
    assert.match(first.summary, /PAM proxy/);
    assert.equal(first.command, 'rdpsec doctor HOST --client pam-proxy');
    assertExplainFixesHonest(m);
  });
});

describe('field example 2: a Windows XP SP3 client against an NLA host', () => {
  it('the host\'s reg export requires NLA; XP (no CredSSP) is refused with HYBRID_REQUIRED_BY_SERVER and shows 0xB09', async () => {
    const p = server(`${EXAMPLES}nla-host-rdp-tcp.reg`, 'reg');
    assert.equal(p.nla.required, true);
    const { result: r, fixes } = await diagnose(clientProfile('mstsc-xp-sp3'), p);
    assert.equal(r.connects, false);
    assert.equal(r.attempts.length, 1);
    assert.equal(r.failure?.stage, 'x224');
    assert.equal(r.failure?.code, 'HYBRID_REQUIRED_BY_SERVER');
    assert.equal(r.failure?.clientCode, '0xB09');
    assert.match(r.failure?.clientMessage ?? '', /^The remote computer requires Network Level Authentication, which your computer does not support\./);
    assert.equal(r.failure?.explain, 'mstsc-0xb09');

    assert.deepEqual(
      fixes.map((f) => [f.id, f.safety]),
      [
        ['client-mstsc-xp-enable-credssp', 'safe'],
        ['client-use-current-mstsc', 'safe'],
        ['windows-nla-off', 'weakens-security'],
        ['windows-security-layer-rdp', 'weakens-security'],
      ],
    );
    // the first fix works, but over TLS 1.0 with CredSSP 2 (XP gets no CVE-2018-0886 fix)
    assert.deepEqual(fixes[0]!.result, { protocol: 'HYBRID', tlsVersion: 'TLSv1', encryptionMethod: 'NONE', encryptionLevel: 'NONE', credsspVersion: 2 });
    assertWeakeningFixesNameSaferOnes(fixes);
    // NLA off: prefer turning CredSSP on in the client, which works here
    assert.deepEqual(fix(fixes, 'windows-nla-off').saferAlternative, { id: 'client-mstsc-xp-enable-credssp', summary: fixes[0]!.summary, works: true });
    // SecurityLayer 0: the safer one named is SecurityLayer 2 with NLA (the pair); for an XP
    // client without CredSSP it is not enough on its own, and the tool says so
    const sl0 = fix(fixes, 'windows-security-layer-rdp');
    assert.equal(sl0.saferAlternative?.id, 'windows-require-tls-and-nla');
    assert.equal(sl0.saferAlternative?.works, false);
    // the first fix still leaves this client on TLS 1.0 and CredSSP 2: said with it
    assert.deepEqual(fixes[0]!.risks.map((x) => x.id), ['old-tls', 'credssp-unpatched']);
    assert.deepEqual(stillIds(fix(fixes, 'windows-nla-off')), ['old-tls', 'no-nla']);
    assert.deepEqual(stillIds(sl0), ['no-server-authentication']);
  });

  it('the preset windows-2019 (what doctor infers from serve --preset windows-2019) agrees', async () => {
    const r = await simulate({ client: clientProfile('mstsc-xp-sp3'), server: preset('windows-2019') });
    assert.equal(r.failure?.code, 'HYBRID_REQUIRED_BY_SERVER');
    assert.equal(r.failure?.clientCode, '0xB09');
  });

  it('explain with the pasted dialog: 0xB09, CredSSP on the client first, NLA off marked and pointing back at it', () => {
    const m = explainTop('The remote computer requires Network Level Authentication, which your computer does not support. For assistance, contact your system administrator or technical support.');
    assert.equal(m.entry.id, 'mstsc-0xb09');
    assert.equal(m.entry.fixes[0]!.safety, 'safe');
    assert.match(m.entry.fixes[0]!.steps.join(' '), /KB951608/);
    const nlaOff = m.entry.fixes.find((f) => f.safety === 'weakens-security');
    assert.match(nlaOff?.summary ?? '', /UserAuthentication=0/);
    assert.match(nlaOff?.saferAlternative ?? '', /CredSSP on the client/);
    assertExplainFixesHonest(m);
  });
});

describe('field example 3: a patched Windows 10 client against an unpatched server (the encryption-oracle message)', () => {
  const ORACLE_DIALOG =
    'An authentication error has occurred. The function requested is not supported. Remote computer: ts01. This could be due to CredSSP encryption oracle remediation. For more information, see https://go.microsoft.com/fwlink/?linkid=866660';

  it('mstsc-win10 refuses CredSSP 2 with 0x80090302 and the KB4295591 dialog; patch the server first, AllowEncryptionOracle=2 marked', async () => {
    const { result: r, fixes } = await diagnose(clientProfile('mstsc-win10'), preset('windows-2008r2-tls10'));
    assert.equal(r.connects, false);
    assert.equal(r.failure?.stage, 'credssp');
    assert.equal(r.failure?.code, 'CREDSSP_ORACLE_REMEDIATION');
    assert.equal(r.failure?.clientCode, '0x80090302');
    assert.match(r.failure?.clientMessage ?? '', /This could be due to CredSSP encryption oracle remediation/);
    assert.equal(r.failure?.explain, 'credssp-encryption-oracle');

    assert.equal(fixes[0]!.id, 'server-credssp-patch');
    assert.equal(fixes[0]!.safety, 'safe');
    assert.equal(fixes[0]!.result.credsspVersion, 6);
    assertWeakeningFixesNameSaferOnes(fixes);
    // the pair: patch the server rather than AllowEncryptionOracle=2
    const aeo2 = fix(fixes, 'client-credssp-vulnerable');
    assert.equal(aeo2.safety, 'weakens-security');
    assert.deepEqual(aeo2.saferAlternative, { id: 'server-credssp-patch', summary: fixes[0]!.summary, works: true });
    assert.equal(aeo2.result.credsspVersion, 2);
    // the one client's temporary workaround before the server-wide SecurityLayer 0, which is last
    assert.deepEqual(fixes.map((f) => f.id), ['server-credssp-patch', 'client-credssp-vulnerable', 'windows-security-layer-rdp']);
    // this host has TLS 1.0 only: patching CredSSP still leaves TLS 1.0, and says so
    assert.deepEqual(stillIds(fixes[0]!), ['old-tls']);
  });

  it('the host\'s own reg export plus --credssp-version 2 (a host without the March 2018 update): the same failure and fixes, over TLS 1.2', async () => {
    const p = withCredsspVersion(server(`${EXAMPLES}nla-host-rdp-tcp.reg`, 'reg'), 2);
    assert.deepEqual(p.credssp?.versions, [2]);
    const { result: r, fixes } = await diagnose(clientProfile('mstsc-win10'), p);
    assert.equal(r.connects, false);
    assert.equal(r.failure?.code, 'CREDSSP_ORACLE_REMEDIATION');
    assert.equal(r.failure?.clientCode, '0x80090302');
    assert.deepEqual(
      fixes.map((f) => [f.id, f.safety]),
      [
        ['server-credssp-patch', 'safe'],
        ['client-credssp-vulnerable', 'weakens-security'],
        ['windows-security-layer-rdp', 'weakens-security'],
      ],
    );
    assertWeakeningFixesNameSaferOnes(fixes);
    assert.deepEqual(fixes[0]!.result, { protocol: 'HYBRID_EX', tlsVersion: 'TLSv1.2', encryptionMethod: 'NONE', encryptionLevel: 'NONE', credsspVersion: 6 });
    assert.deepEqual(fixes.map(stillIds), [[], ['credssp-unpatched'], ['no-server-authentication']]);
    // SecurityLayer 0 names SecurityLayer 2 with NLA, which does not fix a CredSSP mismatch on its own
    assert.deepEqual(fix(fixes, 'windows-security-layer-rdp').saferAlternative?.works, false);
    assert.equal(fix(fixes, 'windows-security-layer-rdp').saferAlternative?.id, 'windows-require-tls-and-nla');
  });

  it('the same client with AllowEncryptionOracle=2 connects, names the risks it keeps, and hardening offers the CredSSP patch and TLS 1.2', async () => {
    const client = clientProfile('mstsc-win10-aeo2');
    const srv = preset('windows-2008r2-tls10');
    const r = await simulate({ client, server: srv });
    assert.equal(r.connects, true);
    assert.deepEqual(r.risks.map((x) => x.id), ['old-tls', 'credssp-unpatched']);
    const hardening = await checkedFixes({ client, server: srv, baseline: r });
    assert.deepEqual(
      hardening.map((f) => [f.id, f.safety]),
      [
        ['server-credssp-patch', 'safe'],
        ['server-tls12', 'safe'],
      ],
    );
    // each removes one of the two risks and keeps the other
    assert.deepEqual(hardening.map(stillIds), [['old-tls'], ['credssp-unpatched']]);
    assert.deepEqual(fix(hardening, 'server-tls12').result, { protocol: 'HYBRID', tlsVersion: 'TLSv1.2', encryptionMethod: 'NONE', encryptionLevel: 'NONE', credsspVersion: 2 });
  });

  it('explain with the pasted dialog: credssp-encryption-oracle, patch first, AllowEncryptionOracle=2 weakens and says patch the server', () => {
    const m = explainTop(ORACLE_DIALOG);
    assert.equal(m.entry.id, 'credssp-encryption-oracle');
    assert.equal(m.entry.fixes[0]!.safety, 'safe');
    assert.equal(m.entry.fixes[0]!.where, 'server');
    const aeo2 = m.entry.fixes.find((f) => f.safety === 'weakens-security' && /AllowEncryptionOracle=2/.test(f.summary));
    assert.ok(aeo2);
    assert.match(aeo2.saferAlternative ?? '', /Patch the server/);
    assertExplainFixesHonest(m);
  });
});

describe('field example 4: the reverse - an unpatched client against a server set to Force Updated Clients', () => {
  it('the reg export with CredSSP\\Parameters AllowEncryptionOracle=0 reads as a nonce-checking server', () => {
    const p = server(`${EXAMPLES}force-updated-clients.reg`, 'reg');
    assert.equal(p.credssp?.allowEncryptionOracle, 0);
    assert.equal(p.credssp?.checkNonce, true);
  });

  it('the server refuses CredSSP 2 after the logon; the client sees its CredSSP dialog end (not a network loss); update the client first', async () => {
    const { result: r, fixes } = await diagnose(clientProfile('mstsc-win7-unpatched'), server(`${EXAMPLES}force-updated-clients.reg`, 'reg'));
    assert.equal(r.connects, false);
    assert.equal(r.failure?.stage, 'credssp');
    assert.equal(r.failure?.code, 'TRANSPORT_CLOSED');
    assert.equal(r.failure?.clientMessage, 'An authentication error has occurred.');
    assert.equal(r.failure?.explain, 'mstsc-authentication-error');
    // the reason is on the server's side of the transcript
    assert.equal(r.attempts[0]!.server.outcome, 'refused');
    assert.match(r.attempts[0]!.server.reason, /AllowEncryptionOracle=0 \(Force Updated Clients\) refuses it/);

    assert.equal(fixes[0]!.id, 'client-credssp-update');
    assert.equal(fixes[0]!.safety, 'safe');
    assertWeakeningFixesNameSaferOnes(fixes);
    const mitigated = fix(fixes, 'server-credssp-mitigated');
    assert.deepEqual(mitigated.saferAlternative, { id: 'client-credssp-update', summary: fixes[0]!.summary, works: true });
    // Mitigated (what the server had before) before the server-wide SecurityLayer 0, which is last
    assert.deepEqual(fixes.map((f) => f.id), ['client-credssp-update', 'client-use-current-mstsc', 'server-credssp-mitigated', 'windows-security-layer-rdp']);
    assert.deepEqual(stillIds(mitigated), ['credssp-unpatched']);

    // the client shows no code, so the report quotes its message for explain
    const text = renderSimulation(r, fixes, { color: false });
    assert.match(text, /^ {2}more: rdpsec explain "An authentication error has occurred\."$/m);
    assert.match(text, /^ {5}still: CredSSP 2: without the CVE-2018-0886 fix/m);
  });

  it('explain with what the client shows: mstsc\'s CredSSP dialog, its first cause the oracle remediation including Force Updated Clients', () => {
    const m = explainTop('An authentication error has occurred.');
    assert.equal(m.entry.id, 'mstsc-authentication-error');
    assert.match(m.entry.causes[0]!.summary, /Force Updated Clients/);
  });
});

describe('field example 5: Windows 10 through an RD Gateway behind a proxy (not simulated: gateway transports are a later issue)', () => {
  it('the .rdp file\'s gateway settings are read and recorded, each marked not modelled; the simulation connects directly', async () => {
    // readClientInput picks the .rdp reader by the extension; its reading carries the gateway settings
    const r = clientFile('gateway-win10.rdp') as RdpFileReading;
    assert.equal(r.form, 'rdp-file');
    assert.deepEqual(r.target, { host: 'ts01.corp.example' });
    assert.deepEqual(r.gateway, { hostname: 'rdgw.corp.example', usageMethod: 1, credentialsSource: 0, profileUsageMethod: 1, brokeringType: 0 });
    const gw = r.notes.filter((n) => n.setting.startsWith('gateway'));
    assert.equal(gw.length, 5);
    assert.ok(gw.every((n) => !n.modelled));
    assert.match(gw.find((n) => n.setting === 'gatewayhostname')!.effect, /RD Gateway transports \(MS-TSGU\) are future work, the simulation connects directly/);
    assert.match(r.profile.notModelled ?? '', /connects through the RD Gateway rdgw\.corp\.example; RD Gateway transports \(MS-TSGU\) are future work/);
    const s = await simulate({ client: r.profile, server: preset('windows-2019') });
    assert.equal(s.connects, true);
    assert.equal(s.negotiated?.protocol, 'HYBRID_EX');
  });

  it('the client .reg: LmCompatibilityLevel 2 is recorded (NTLMv1, no channel bindings) but not modelled; RDGClientTransport is read and marked not simulated', () => {
    const r = clientFile('gateway-client.reg');
    assert.equal(r.form, 'reg');
    const lm = r.notes.find((n) => n.setting === 'Lsa\\LmCompatibilityLevel');
    assert.ok(lm);
    assert.equal(lm.modelled, false);
    assert.match(lm.effect, /NTLMv1, which has no channel bindings/);
    const gt = r.notes.find((n) => n.setting.endsWith('Terminal Server Client\\RDGClientTransport'));
    assert.equal(gt?.modelled, false);
    assert.match(gt?.effect ?? '', /RPC-over-HTTP/);
  });

  it('explain 0x03000017 (security package error in the transport layer): the proxy first, then RDGClientTransport=1 (RPC over HTTP), both safe', () => {
    for (const text of ['50331671', "Your computer can't connect to the remote computer because a security package error occurred in the transport layer."]) {
      const m = explainTop(text);
      assert.equal(m.entry.id, 'gateway-0x03000017');
      assert.deepEqual(
        m.entry.fixes.map((f) => [f.where, f.safety]),
        [
          ['network', 'safe'],
          ['client', 'safe'],
        ],
      );
      assert.match(m.entry.fixes[1]!.steps.join(' '), /RDGClientTransport \/t REG_DWORD \/d 1/);
      assert.ok(m.entry.related?.includes('gateway-status-bad-bindings'));
    }
  });

  it('explain STATUS_BAD_BINDINGS: LmCompatibilityLevel 3 or more first; EnforceChannelBinding=0 weakens and names it as the safer fix', () => {
    for (const text of ['0xC000035B', '-1073740965', 'STATUS_BAD_BINDINGS']) {
      const m = explainTop(text);
      assert.equal(m.entry.id, 'gateway-status-bad-bindings');
      assert.match(m.entry.causes[0]!.summary, /LmCompatibilityLevel is below 3, so it sends NTLMv1/);
      assert.equal(m.entry.fixes[0]!.safety, 'safe');
      assert.match(m.entry.fixes[0]!.summary, /LAN Manager authentication level to 3 or more/);
      // the pair, which only explain has (data/fixes.yaml has no gateway lever)
      const ecb = m.entry.fixes.find((f) => /EnforceChannelBinding=0/.test(f.summary));
      assert.ok(ecb);
      assert.equal(ecb.where, 'gateway');
      assert.equal(ecb.safety, 'weakens-security');
      assert.match(ecb.weakens ?? '', /NTLM relay/);
      assert.match(ecb.saferAlternative ?? '', /LmCompatibilityLevel 3 or more/);
      assertExplainFixesHonest(m);
    }
  });

  it('explain "RPC over HTTP": the two gateway transports and RDGClientTransport, both fixes safe', () => {
    const m = explainTop('RPC over HTTP');
    assert.equal(m.entry.id, 'gateway-transport-http-or-rpc');
    assert.ok(m.entry.fixes.every((f) => f.safety === 'safe'));
    assert.match(m.entry.fixes.map((f) => f.steps.join(' ')).join(' '), /RDGClientTransport \/t REG_DWORD \/d 1/);
  });
});

describe('field example 6: a macOS client dropping xrdp sessions with SSL errors', () => {
  it('an xrdp.ini with ssl_protocols=TLSv1.3 only: the macOS client (TLS 1.0 to 1.2) fails the TLS handshake and shows 0x207', async () => {
    const p = server(`${EXAMPLES}xrdp-tls13-only.ini`, 'xrdp-ini');
    assert.equal(p.flavor, 'xrdp');
    assert.deepEqual(p.tls.versions, ['TLSv1.3']);
    const { result: r, fixes } = await diagnose(clientProfile('macos-rd-10'), p);
    assert.equal(r.connects, false);
    assert.equal(r.failure?.stage, 'tls');
    assert.equal(r.failure?.code, 'TLS_HANDSHAKE_FAILED');
    assert.equal(r.failure?.clientCode, '0x207');
    assert.match(r.failure?.clientMessage ?? '', /because of a security error.*Error code: 0x207/);
    assert.equal(r.failure?.explain, 'mstsc-0x207');
    // what xrdp logs ("SSL: error:0A000102:SSL routines::unsupported protocol"), from the server's side
    assert.match(r.attempts[0]!.server.reason, /unsupported protocol/);

    // the xrdp.ini line, once (no Windows SChannel steps for an xrdp host), and nothing weaker
    assert.deepEqual(fixes.map((f) => [f.id, f.safety]), [['xrdp-tls-protocols', 'safe']]);
    assert.equal(fixes[0]!.result.tlsVersion, 'TLSv1.2');
    assert.deepEqual(stillIds(fixes[0]!), ['no-nla']);
    // the SChannel candidates are for Windows hosts only
    for (const id of ['server-tls12', 'server-tls10']) assert.equal(fixCandidates().find((f) => f.id === id)?.flavor, 'windows', id);
    assert.equal(fixCandidates().find((f) => f.id === 'server-tls10')?.saferAlternative, 'server-tls12');
  });

  it('against xrdp as Debian installs it the same client connects over TLS 1.2, without NLA (xrdp has none)', async () => {
    const r = await simulate({ client: clientProfile('macos-rd-10'), server: preset('xrdp-debian') });
    assert.equal(r.connects, true);
    assert.deepEqual(r.negotiated, { protocol: 'SSL', tlsVersion: 'TLSv1.2', encryptionMethod: 'NONE', encryptionLevel: 'NONE' });
    assert.deepEqual(r.risks.map((x) => x.id), ['no-nla']);
  });

  it('explain with the xrdp log (real xrdp 0.9.21 lines): OpenSSL unsupported protocol first, then xrdp\'s SSL failure with the certificate cause', () => {
    const log = new TextDecoder().decode(readFromRoot(`${EXAMPLES}xrdp-macos-log.txt`));
    const ms = explain(log, catalogue).matches;
    assert.deepEqual(
      ms.map((m) => m.entry.id),
      ['openssl-unsupported-protocol', 'xrdp-ssl-library-failure', 'xrdp-tls-accept-failed', 'xrdp-connection-closed-chain'],
    );
    assert.equal(ms[0]!.confidence, 1);
    const lib = ms[1]!;
    assert.ok(lib.entry.causes.some((c) => /macOS/.test(c.summary) && /certificate/.test(c.summary)));
    const rdp = lib.entry.fixes.find((f) => f.safety === 'weakens-security');
    assert.match(rdp?.summary ?? '', /security_layer=rdp/);
    assert.match(rdp?.saferAlternative ?? '', /keep security_layer=tls or negotiate/);
    for (const m of ms) assertExplainFixesHonest(m);
  });

  it('explain 0x207 names the TLS-version cause with the simulate command that shows it', () => {
    const m = explainTop('0x207');
    assert.equal(m.entry.id, 'mstsc-0x207');
    assert.ok(m.entry.causes.some((c) => /ssl_protocols=TLSv1\.3 only/.test(c.summary) && c.command === 'rdpsec simulate --client macos-rd-10 --server PRESET'));
  });
});

describe('field example 7: encryption level LOW leaves server-to-client traffic in the clear', () => {
  it('a reg export with SecurityLayer 0 and MinEncryptionLevel 1 reads as Standard RDP Security at level LOW', () => {
    const p = server(`${EXAMPLES}low-encryption-rdp-tcp.reg`, 'reg');
    assert.equal(p.flavor, 'windows');
    if (p.flavor !== 'windows') return;
    assert.equal(p.windows.minEncryptionLevel, 1);
    assert.equal(p.standardSecurity.encryptionLevel, 'LOW');
    assert.deepEqual(p.protocols.offered, ['RDP']);
  });

  it('mstsc connects (after SSL_NOT_ALLOWED_BY_SERVER, over Standard RDP Security) and the risks say so; hardening, all safe, keeps it connecting', async () => {
    const { result: r, fixes } = await diagnose(clientProfile('mstsc-win10'), server(`${EXAMPLES}low-encryption-rdp-tcp.reg`, 'reg'));
    assert.equal(r.connects, true);
    assert.equal(r.failure, null);
    assert.deepEqual(
      r.attempts.map((a) => [a.requestedProtocols, a.outcome]),
      [
        [['SSL', 'HYBRID', 'HYBRID_EX'], 'SSL_NOT_ALLOWED_BY_SERVER'],
        [['RDP'], 'connected'],
      ],
    );
    assert.deepEqual(r.negotiated, { protocol: 'RDP', tlsVersion: null, encryptionMethod: '128BIT', encryptionLevel: 'LOW' });
    assert.deepEqual(r.risks.map((x) => x.id), ['no-server-authentication', 'server-to-client-in-clear']);
    assert.match(r.risks[1]!.summary, /what the server sends \(the screen\) travels in the clear/);

    assert.deepEqual(
      fixes.map((f) => [f.id, f.safety]),
      [
        ['windows-require-tls-and-nla', 'safe'],
        ['windows-require-tls', 'safe'],
        ['windows-encryption-high', 'safe'],
      ],
    );
    assert.equal(fixes[0]!.result.protocol, 'HYBRID_EX');
    assert.deepEqual(fix(fixes, 'windows-encryption-high').result, { protocol: 'RDP', tlsVersion: null, encryptionMethod: '128BIT', encryptionLevel: 'HIGH' });
    // TLS with NLA leaves nothing; level High still leaves Standard RDP Security's unauthenticated server
    assert.deepEqual(fixes.map(stillIds), [[], [], ['no-server-authentication']]);
    assert.equal(describeNegotiated(r.negotiated!), 'Standard RDP Security, 128-bit RC4, level LOW');
  });
});

describe('the fix catalogue: every weakening candidate names a safe one', () => {
  it('data/fixes.yaml', () => {
    for (const f of fixCandidates()) {
      if (f.safety !== 'weakens-security') continue;
      assert.ok(f.weakens, f.id);
      assert.ok(f.saferAlternative, f.id);
      for (const alt of [f.saferAlternative].flat()) assert.equal(SAFETY_BY_ID.get(alt), 'safe', `${f.id} -> ${alt}`);
    }
    // the pair: SecurityLayer 2 with NLA rather than SecurityLayer 0
    assert.equal(fixCandidates().find((f) => f.id === 'windows-security-layer-rdp')?.saferAlternative, 'windows-require-tls-and-nla');
  });
});
