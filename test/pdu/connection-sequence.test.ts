/**
 * The whole connection sequence after the MCS Connect-Response (MS-RDPBCGR 1.3.1.1), as xrdp
 * 0.9.21 and the FreeRDP 2.11.7 shadow server ran it with xfreerdp 2.11.7, decoded PDU by PDU
 * with the codecs of mcs-domain, security-header, client-info, licensing, share, capabilities
 * and fastpath; and how the same phases look encrypted (rdesktop, 128-bit RC4).
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { CLEAR_SESSIONS, sessionFrames, walkSession, type SessionStep } from './fixtures-session.js';
import { enc, hex } from './fuzz-helpers.js';
import * as md from '../../src/pdu/mcs-domain.js';
import * as ci from '../../src/pdu/client-info.js';
import * as lic from '../../src/pdu/licensing.js';
import * as sh from '../../src/pdu/share.js';
import * as fp from '../../src/pdu/fastpath.js';
import * as sec from '../../src/pdu/security-header.js';
import { decodeX224Data } from '../../src/pdu/x224.js';

/** "dir label", with repeats folded: all channel joins into one line, consecutive equal lines into one. */
function transcript(steps: readonly SessionStep[]): string[] {
  const out: string[] = [];
  for (const s of steps) {
    let line = `${s.dir} ${s.label}`;
    if (s.mcs?.kind === 'channelJoinRequest' || s.mcs?.kind === 'channelJoinConfirm') line = 'channel joins';
    if (line !== out[out.length - 1]) out.push(line);
  }
  return out;
}

const CONNECT = ['c2s MCS Connect-Initial', 's2c MCS Connect-Response', 'c2s MCS erectDomainRequest', 'c2s MCS attachUserRequest', 's2c MCS attachUserConfirm', 'channel joins', 'c2s Client Info'];
const CLIENT_FINALIZATION = ['c2s PDUTYPE_DATAPDU/PDUTYPE2_SYNCHRONIZE', 'c2s PDUTYPE_DATAPDU/PDUTYPE2_CONTROL', 'c2s PDUTYPE_DATAPDU/PDUTYPE2_FONTLIST'];
const SERVER_FINALIZATION = ['s2c PDUTYPE_DATAPDU/PDUTYPE2_SYNCHRONIZE', 's2c PDUTYPE_DATAPDU/PDUTYPE2_CONTROL', 's2c PDUTYPE_DATAPDU/PDUTYPE2_FONTMAP'];

describe('connection sequence: xrdp 0.9.21 with xfreerdp 2.11.7', () => {
  const expected = [
    ...CONNECT,
    's2c License LICENSE_REQUEST',
    'c2s License NEW_LICENSE_REQUEST',
    's2c License ERROR_ALERT',
    's2c PDUTYPE_DEMANDACTIVEPDU',
    'c2s PDUTYPE_CONFIRMACTIVEPDU',
    ...CLIENT_FINALIZATION,
    ...SERVER_FINALIZATION,
    's2c fast-path FASTPATH_UPDATETYPE_SYNCHRONIZE',
    's2c channel 1007 data',
    's2c fast-path FASTPATH_UPDATETYPE_POINTER',
  ];
  it('Standard RDP Security, encryption NONE: the same PDUs in the same order as under TLS', () => {
    assert.deepEqual(transcript(walkSession('xrdp-rdp-none--xfreerdp-sec-rdp')), expected);
    assert.deepEqual(transcript(walkSession('xrdp-tls--xfreerdp-default', 'tls')), expected);
  });
});

describe('connection sequence: FreeRDP 2.11.7 shadow server with xfreerdp 2.11.7', () => {
  const head = [...CONNECT, 's2c License ERROR_ALERT', 's2c PDUTYPE_DEMANDACTIVEPDU', 'c2s PDUTYPE_CONFIRMACTIVEPDU'];
  it('Standard RDP Security (NONE) and NLA: no license request; the client finalizes first', () => {
    assert.deepEqual(transcript(walkSession('shadow-rdp--xfreerdp-sec-rdp')), [...head, ...CLIENT_FINALIZATION, ...SERVER_FINALIZATION]);
    assert.deepEqual(transcript(walkSession('shadow-nla--xfreerdp-ok', 'tls')), [...head, ...CLIENT_FINALIZATION, ...SERVER_FINALIZATION, 's2c channel 1005 data', 's2c channel 1007 data']);
  });

  it('under TLS this run shows the server answering Synchronize and Cooperate before the client sent them', () => {
    assert.deepEqual(transcript(walkSession('shadow-tls--xfreerdp-default', 'tls')), [
      ...head,
      's2c PDUTYPE_DATAPDU/PDUTYPE2_SYNCHRONIZE',
      's2c PDUTYPE_DATAPDU/PDUTYPE2_CONTROL',
      'c2s PDUTYPE_DATAPDU/PDUTYPE2_SYNCHRONIZE',
      'c2s PDUTYPE_DATAPDU/PDUTYPE2_CONTROL',
      's2c PDUTYPE_DATAPDU/PDUTYPE2_CONTROL',
      'c2s PDUTYPE_DATAPDU/PDUTYPE2_FONTLIST',
      's2c PDUTYPE_DATAPDU/PDUTYPE2_FONTMAP',
    ]);
  });
});

describe('connection sequence: every walkable session', () => {
  it('each PDU re-encodes byte for byte, and the activation ties together (share id, user id, channels)', () => {
    for (const { capture, layer, userName, server } of CLEAR_SESSIONS) {
      const steps = walkSession(capture, layer);
      const user = (steps.find((s) => s.mcs?.kind === 'attachUserConfirm')!.mcs!.value as md.AttachUserConfirm).initiator!;
      let shareId: number | undefined;
      for (const s of steps) {
        if (s.mcs) assert.equal(hex(enc(s.mcs, md.encodeDomainPdu)), hex(decodeX224Data(s.frame)), `${capture} ${s.label}`);
        if (s.info) assert.equal(hex(enc(s.info, ci.encodeInfoPacket)), hex(s.payload!));
        if (s.license) assert.equal(hex(enc(s.license, lic.encodeLicensingPdu)), hex(s.payload!));
        if (s.fastPath) assert.equal(hex(enc(s.fastPath, fp.encodeFastPathOutput)), hex(s.frame));
        if (s.mcs && (s.mcs.kind === 'sendDataRequest' || s.mcs.kind === 'sendDataIndication')) assert.equal((s.mcs.value as md.SendData).initiator, user);
        for (const p of s.share ?? []) {
          assert.equal(hex(enc(p, sh.encodeSharePdu)), hex(s.payload!));
          assert.equal(p.pduSource, user, `${capture}: pduSource is the user channel`);
          if (p.kind === 'demandActive') shareId = p.value.shareId;
          else if (p.kind !== 'raw') assert.equal(p.value.shareId, shareId, `${capture}: one share id`);
        }
      }
      assert.equal(steps.find((s) => s.info)!.info!.userName, userName);
      // xrdp: 0x10000 + the server channel 1002; FreeRDP: 0x10000 + the user id
      assert.equal(shareId, 0x10000 + (server === 'xrdp' ? 1002 : user), `${capture}: shareId ${shareId?.toString(16)}`);
    }
  });
});

describe('connection sequence encrypted (rdesktop 1.9 with xrdp, 128-bit RC4)', () => {
  it('only the headers are readable: exchange, info, licensing in clear, then encrypted share PDUs', () => {
    const lines: string[] = [];
    for (const f of sessionFrames('xrdp-rdp-high--rdesktop', 'tcp')) {
      const p = decodeX224Data(f.bytes);
      if (p[0] === 0x7f) continue;
      const m = md.decodeDomainPdu(p);
      if (m.kind !== 'sendDataRequest' && m.kind !== 'sendDataIndication') continue;
      const { header, body } = sec.splitSecurityHeader(m.value.userData, 'rc4');
      if (header.form === 'none') continue;
      const what = header.flags & sec.SEC_LICENSE_PKT ? `License ${lic.LICENSE_MSG_TYPE_NAMES[body[0]!]}` : header.form === 'rc4' ? `encrypted ${body.length} bytes` : 'Security Exchange';
      lines.push(`${f.dir} ${sec.securityFlagNames(header.flags).join('|')} ${what}`);
    }
    assert.deepEqual(lines, [
      'c2s SEC_EXCHANGE_PKT Security Exchange',
      'c2s SEC_ENCRYPT|SEC_INFO_PKT encrypted 312 bytes',
      's2c SEC_LICENSE_PKT License LICENSE_REQUEST',
      'c2s SEC_LICENSE_PKT License NEW_LICENSE_REQUEST',
      's2c SEC_LICENSE_PKT License ERROR_ALERT',
      's2c SEC_ENCRYPT encrypted 410 bytes',
      'c2s SEC_ENCRYPT|SEC_RESET_SEQNO|SEC_IGNORE_SEQNO encrypted 442 bytes',
      'c2s SEC_ENCRYPT encrypted 22 bytes',
      'c2s SEC_ENCRYPT encrypted 26 bytes',
      'c2s SEC_ENCRYPT encrypted 26 bytes',
    ]);
  });
});
