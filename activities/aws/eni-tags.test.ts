import { adoptionTags, creationTags, tagsToWrite } from './eni-tags.js';

const id = { nodeENI: 'upf-control-plane', nodeName: 'ip-10-0-1-100.ec2.internal', subnetId: 'subnet-0a1b2c', clusterName: 'prod' };

describe('ENI tags', () => {
  it("carries the Go controller's keys, no_manage, and the cluster and created-at tags", () => {
    expect(creationTags(id, '2026-11-23T00:00:00Z')).toEqual({
      Name: 'nodeeni-upf-control-plane-ip-10-0-1-100.ec2.internal-0a1b2c',
      NodeENI: 'upf-control-plane',
      Node: 'ip-10-0-1-100.ec2.internal',
      SubnetID: 'subnet-0a1b2c',
      'node.k8s.amazonaws.com/no_manage': 'true',
      'multi-eni.networking.k8s.aws/cluster': 'prod',
      'multi-eni.networking.k8s.aws/created-at': '2026-11-23T00:00:00Z',
    });
  });

  it('writes only what is missing or different', () => {
    expect(tagsToWrite({ a: '1', b: '2' }, { a: '1', b: '3', c: '4' })).toEqual({ b: '3', c: '4' });
    expect(tagsToWrite({ a: '1' }, { a: '1' })).toEqual({});
  });

  it("adopts a Go controller ENI by adding only the cluster tag and an age stamp", () => {
    const goTags = { ...creationTags(id, 'x') };
    delete (goTags as Record<string, string>)['multi-eni.networking.k8s.aws/cluster'];
    delete (goTags as Record<string, string>)['multi-eni.networking.k8s.aws/created-at'];
    expect(adoptionTags(goTags, id, 'now')).toEqual({ 'multi-eni.networking.k8s.aws/cluster': 'prod', 'multi-eni.networking.k8s.aws/created-at': 'now' });
    expect(adoptionTags(creationTags(id, 'then'), id, 'now')).toEqual({});
  });
});
