// deploy/iam-policy.json against the code it must allow: exactly the EC2 actions the activities call, tag
// conditions that match the tags the controller writes, and adoption of the Go controller's ENIs.
import fs from 'node:fs';
import path from 'node:path';
import { REPO_ROOT } from '../../dev/stack/paths.js';
import { creationTags, identityTags } from '../../activities/eni-tags.js';
import { TAG_CLUSTER, TAG_GO_MANAGED_BY, TAG_NODEENI } from '../../common/names.js';

interface Statement {
  Sid: string;
  Effect: 'Allow' | 'Deny';
  Action: string | string[];
  Resource: string | string[];
  Condition?: Record<string, Record<string, string | string[]>>;
}

const policy = JSON.parse(fs.readFileSync(path.join(REPO_ROOT, 'deploy', 'iam-policy.json'), 'utf8')) as { Version: string; Statement: Statement[] };
const list = (x: string | string[]) => (Array.isArray(x) ? x : [x]);
const statements = policy.Statement;
const CLUSTER = '${CLUSTER_NAME}';
const ENI_ARN = 'arn:aws:ec2:${AWS_REGION}:${AWS_ACCOUNT_ID}:network-interface/*';

/** EC2 commands the controller sends (activities and workers, tests excluded). */
function ec2ActionsInCode(): string[] {
  const found = new Set<string>();
  for (const dir of ['activities', 'workers', 'workflows']) {
    for (const f of fs.readdirSync(path.join(REPO_ROOT, dir))) {
      if (!f.endsWith('.ts') || f.endsWith('.test.ts')) continue;
      const src = fs.readFileSync(path.join(REPO_ROOT, dir, f), 'utf8');
      for (const m of src.matchAll(/new ([A-Z][A-Za-z]+)Command\(/g)) found.add(`ec2:${m[1]}`);
    }
  }
  return [...found].sort();
}

const sample = { nodeENI: 'upf', nodeName: 'ip-10-0-1-23.ec2.internal', subnetId: 'subnet-0123', clusterName: 'prod' };

it('allows exactly the EC2 actions the controller calls, and only Allow statements', () => {
  expect(policy.Version).toBe('2012-10-17');
  expect(statements.every((s) => s.Effect === 'Allow')).toBe(true);
  const actions = [...new Set(statements.flatMap((s) => list(s.Action)))].sort();
  const inCode = ec2ActionsInCode();
  expect(inCode).toContain('ec2:CreateNetworkInterface');
  expect(actions).toEqual(inCode);
});

it('leaves only the Describe calls unconditioned on "*" (EC2 has no resource-level permissions for them)', () => {
  for (const s of statements) {
    if (list(s.Resource).includes('*')) expect(list(s.Action).every((a) => a.startsWith('ec2:Describe'))).toBe(true);
    if (list(s.Action).some((a) => a.startsWith('ec2:Describe'))) expect(s.Resource).toBe('*');
  }
});

it('creates ENIs only with this cluster tag and only the tag keys the controller writes', () => {
  const create = statements.find((s) => list(s.Action).includes('ec2:CreateNetworkInterface') && list(s.Resource).includes(ENI_ARN))!;
  expect(create.Condition!.StringEquals).toEqual({ [`aws:RequestTag/${TAG_CLUSTER}`]: CLUSTER });
  expect([...(create.Condition!['ForAllValues:StringEquals']!['aws:TagKeys'] as string[])].sort()).toEqual(Object.keys(creationTags(sample, '2026-01-01T00:00:00Z')).sort());
  // Subnets and security groups of the cluster's VPC only.
  const inVpc = statements.find((s) => list(s.Action).includes('ec2:CreateNetworkInterface') && s !== create)!;
  expect(list(inVpc.Resource).map((r) => r.split(':').pop()!.split('/')[0])).toEqual(['subnet', 'security-group']);
  expect(inVpc.Condition).toEqual({ ArnEquals: { 'ec2:Vpc': 'arn:aws:ec2:${AWS_REGION}:${AWS_ACCOUNT_ID}:vpc/${VPC_ID}' } });
});

it('tags: at creation, ENIs of this cluster, and the Go controller ENIs it adopts; nothing else', () => {
  const tagging = statements.filter((s) => list(s.Action).includes('ec2:CreateTags'));
  expect(tagging.every((s) => list(s.Action).length === 1 && s.Resource === ENI_ARN)).toBe(true);
  expect(tagging.map((s) => s.Sid)).toEqual(['TagEniOnCreate', 'RetagOwnEnis', 'AdoptGoControllerEnis']);
  const [onCreate, own, adopt] = tagging as [Statement, Statement, Statement];
  expect(onCreate.Condition).toEqual({ StringEquals: { 'ec2:CreateAction': 'CreateNetworkInterface' } });
  const keys = Object.keys(identityTags(sample)).concat('multi-eni.networking.k8s.aws/created-at').sort();
  for (const s of [own, adopt]) expect([...(s.Condition!['ForAllValues:StringEquals']!['aws:TagKeys'] as string[])].sort()).toEqual(keys);
  expect(own.Condition!.StringEquals).toEqual({ [`ec2:ResourceTag/${TAG_CLUSTER}`]: CLUSTER });
  expect(own.Condition!.StringEqualsIfExists).toEqual({ [`aws:RequestTag/${TAG_CLUSTER}`]: CLUSTER });
  // Adoption: an ENI with no cluster tag yet, that the Go controller made (NodeENI tag, its managed-by tag),
  // may be given this cluster's tag, and only this cluster's.
  expect(adopt.Condition!.Null).toEqual({ [`ec2:ResourceTag/${TAG_CLUSTER}`]: 'true', [`ec2:ResourceTag/${TAG_NODEENI}`]: 'false' });
  expect(adopt.Condition!.StringEquals).toEqual({ [`ec2:ResourceTag/${TAG_GO_MANAGED_BY}`]: 'nodeeni-controller', [`aws:RequestTag/${TAG_CLUSTER}`]: CLUSTER });
  // What adoption writes on such an ENI always includes the cluster tag, so the request carries it.
  expect(Object.keys(identityTags(sample))).toContain(TAG_CLUSTER);
});

it('attaches, detaches, modifies and deletes only ENIs carrying this cluster tag', () => {
  const own = statements.find((s) => s.Sid === 'ManageOwnEnis')!;
  expect(list(own.Action).sort()).toEqual(['ec2:AttachNetworkInterface', 'ec2:DeleteNetworkInterface', 'ec2:DetachNetworkInterface', 'ec2:ModifyNetworkInterfaceAttribute']);
  expect(own.Resource).toBe(ENI_ARN);
  expect(own.Condition).toEqual({ StringEquals: { [`ec2:ResourceTag/${TAG_CLUSTER}`]: CLUSTER } });
  // Every other statement naming network interfaces is one of the tagging statements above or create.
  const onEnis = statements.filter((s) => list(s.Resource).includes(ENI_ARN)).map((s) => s.Sid);
  expect(onEnis.sort()).toEqual(['AdoptGoControllerEnis', 'CreateEniWithClusterTag', 'ManageOwnEnis', 'RetagOwnEnis', 'TagEniOnCreate']);
  // Instances and security groups are the other resources those calls touch; they carry no ENI-level power.
  const others = statements.find((s) => s.Sid === 'InstancesAndGroupsOfOwnEnis')!;
  expect(list(others.Resource).map((r) => r.split(':').pop()!.split('/')[0])).toEqual(['instance', 'security-group']);
  expect(list(others.Action).every((a) => list(own.Action).includes(a))).toBe(true);
});
