import { subnetsForNode } from './subnet-placement.js';

const ID = 'spec.subnetID/subnetIDs';
const NAME = 'spec.subnetName/subnetNames';
const node = { instanceId: 'i-1', vpcId: 'vpc-1', az: 'us-east-1b' };
const s = (id: string, az: string, field = NAME, vpcId = 'vpc-1') => ({ id, az, vpcId, field });

describe('subnetsForNode', () => {
  it("keeps the node's AZ's subnets in spec order, so device indexes go by position among them", () => {
    const r = subnetsForNode([s('a1', 'us-east-1a'), s('b1', 'us-east-1b'), s('a2', 'us-east-1a'), s('b2', 'us-east-1b')], node);
    expect(r).toEqual({ ok: true, subnets: [s('b1', 'us-east-1b'), s('b2', 'us-east-1b')], otherAz: [s('a1', 'us-east-1a'), s('a2', 'us-east-1a')] });
  });

  it('a single-AZ list of the node\'s AZ is taken whole (as before multi-AZ)', () => {
    const list = [s('b1', 'us-east-1b', ID), s('b2', 'us-east-1b', ID)];
    expect(subnetsForNode(list, node)).toEqual({ ok: true, subnets: list, otherAz: [] });
  });

  it("no subnet in the node's AZ: an error naming the zone, the subnets and the field", () => {
    const r = subnetsForNode([s('a1', 'us-east-1a', ID), s('a2', 'us-east-1a', NAME)], node);
    expect(r).toEqual({
      ok: false,
      error:
        "no listed subnet is in us-east-1b, the availability zone of the node's instance i-1: a1 (us-east-1a), a2 (us-east-1a); EC2 attaches an ENI only to an instance of its subnet's zone, so list a subnet of us-east-1b too (spec.subnetID/subnetIDs, spec.subnetName/subnetNames)",
    });
  });

  it('a subnet of another VPC is an error even when others fit', () => {
    const r = subnetsForNode([s('b1', 'us-east-1b'), s('x1', 'us-east-1b', ID, 'vpc-2')], node);
    expect(r).toEqual({ ok: false, error: "subnet x1 is in vpc-2, not in vpc-1, the VPC of the node's instance i-1 (spec.subnetID/subnetIDs)" });
  });

  it('unknown zones (no AZ reported) are not filtered out', () => {
    expect(subnetsForNode([{ id: 'q', field: ID }], { instanceId: 'i-1' })).toEqual({ ok: true, subnets: [{ id: 'q', field: ID }], otherAz: [] });
  });
});
