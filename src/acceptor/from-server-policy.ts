import { negotiate, selectEncryptionMethod } from '../policy/negotiation.js';
import { describePolicy, type ServerPolicy } from '../policy/server-policy.js';
import { RDP_VERSION_10_7, RDP_VERSION_5_PLUS } from '../pdu/client-data.js';
import type { AcceptorPolicy } from './acceptor-policy.js';

/**
 * The acceptor's view of a ServerPolicy: the policy module decides (negotiation and method
 * rules, each with its source), the acceptor only carries the decision out.
 */
export function acceptorPolicy(p: ServerPolicy): AcceptorPolicy {
  return {
    name: `${p.name} (${describePolicy(p)})`,
    rejectSaltedMac: p.standardSecurity.saltedMac === 'rejected',
    // xrdp 0.9 announces RDP 5 (0x00080004, seen in every capture); Windows 10 / Server 2016+ RDP 10
    rdpVersion: p.flavor === 'xrdp' ? RDP_VERSION_5_PLUS : RDP_VERSION_10_7,
    negotiate(requested, flags) {
      const d = negotiate(p, requested, flags);
      if (d.outcome === 'selected') return { selected: d.selectedProtocol, negData: d.negData, responseFlags: d.responseFlags };
      if (d.outcome === 'failure') return { failureCode: d.code, delivery: d.delivery };
      // xrdp answers a request it cannot parse with a Disconnect Provider Ultimatum (INDEX.md)
      return { drop: p.flavor === 'xrdp' ? 'ultimatum' : 'close', reason: `dropped: ${d.rule}` };
    },
    encryption(clientMethods) {
      const s = selectEncryptionMethod(p, clientMethods);
      return s.outcome === 'selected' ? { method: s.methodValue, level: s.levelValue } : { refuse: `${s.reason}: ${s.rule}` };
    },
  };
}
