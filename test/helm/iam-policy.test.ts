// deploy/iam-policy.json against the code it must allow: exactly the EC2 actions the activities call, tag
// conditions that match the tags the controller writes, attach/detach only to this cluster's instances, and adoption
// of the Go controller's ENIs only in the cluster's VPC. The condition keys and the resource types they apply to are
// from the Service Authorization Reference for Amazon EC2,
// https://docs.aws.amazon.com/service-authorization/latest/reference/list_amazonec2.html (AttachNetworkInterface and
// DetachNetworkInterface: `instance*` with `aws:ResourceTag/${TagKey}`; resource type `network-interface` and
// `security-group`: `ec2:Vpc`), and https://docs.aws.amazon.com/AWSEC2/latest/UserGuide/control-access-with-tags.html;
// deploy/README.md lists them per statement.
import fs from 'node:fs';
import path from 'node:path';
import { REPO_ROOT } from '../../dev/stack/paths.js';
import { creationTags, identityTags } from '../../activities/aws/eni-tags.js';
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
const INSTANCE_ARN = 'arn:aws:ec2:${AWS_REGION}:${AWS_ACCOUNT_ID}:instance/*';
const SG_ARN = 'arn:aws:ec2:${AWS_REGION}:${AWS_ACCOUNT_ID}:security-group/*';
const VPC_ARN = 'arn:aws:ec2:${AWS_REGION}:${AWS_ACCOUNT_ID}:vpc/${VPC_ID}';
/** The cluster tag Kubernetes' AWS integrations put on a cluster's instances (value `owned` or `shared`). */
const INSTANCE_CLUSTER_TAG = 'kubernetes.io/cluster/${CLUSTER_NAME}';

/** EC2 commands the controller sends (activities and workers, tests excluded). */
function ec2ActionsInCode(): string[] {
  const found = new Set<string>();
  for (const dir of ['activities', 'workers', 'workflows']) {
    // Recursive: the EC2 commands are sent from activities/aws/.
    for (const f of fs.readdirSync(path.join(REPO_ROOT, dir), { recursive: true, encoding: 'utf8' })) {
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
  expect(inVpc.Condition).toEqual({ ArnEquals: { 'ec2:Vpc': VPC_ARN } });
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
  // Adoption: an ENI with no cluster tag yet, that the Go controller made (NodeENI tag, its managed-by tag), in the
  // cluster's VPC (the Go controller of another cluster in the account leaves its ENIs alone), may be given this
  // cluster's tag, and only this cluster's.
  expect(Object.keys(adopt.Condition!).sort()).toEqual(['ArnEquals', 'ForAllValues:StringEquals', 'Null', 'StringEquals']);
  expect(adopt.Condition!.Null).toEqual({ [`ec2:ResourceTag/${TAG_CLUSTER}`]: 'true', [`ec2:ResourceTag/${TAG_NODEENI}`]: 'false' });
  expect(adopt.Condition!.StringEquals).toEqual({ [`ec2:ResourceTag/${TAG_GO_MANAGED_BY}`]: 'nodeeni-controller', [`aws:RequestTag/${TAG_CLUSTER}`]: CLUSTER });
  expect(adopt.Condition!.ArnEquals).toEqual({ 'ec2:Vpc': VPC_ARN });
  // The other two tagging statements need no VPC: at creation (the create statements check the VPC) and on ENIs
  // already carrying this cluster's tag.
  for (const s of [onCreate, own]) expect(s.Condition!.ArnEquals).toBeUndefined();
  // What adoption writes on such an ENI always includes the cluster tag, so the request carries it.
  expect(Object.keys(identityTags(sample))).toContain(TAG_CLUSTER);
});

it('attaches, detaches, modifies, deletes and assigns addresses only on ENIs carrying this cluster tag', () => {
  const own = statements.find((s) => s.Sid === 'ManageOwnEnis')!;
  expect(list(own.Action).sort()).toEqual([
    'ec2:AssignPrivateIpAddresses',
    'ec2:AttachNetworkInterface',
    'ec2:DeleteNetworkInterface',
    'ec2:DetachNetworkInterface',
    'ec2:ModifyNetworkInterfaceAttribute',
    'ec2:UnassignPrivateIpAddresses',
  ]);
  expect(own.Resource).toBe(ENI_ARN);
  expect(own.Condition).toEqual({ StringEquals: { [`ec2:ResourceTag/${TAG_CLUSTER}`]: CLUSTER } });
  // Every other statement naming network interfaces is one of the tagging statements above or create.
  const onEnis = statements.filter((s) => list(s.Resource).includes(ENI_ARN)).map((s) => s.Sid);
  expect(onEnis.sort()).toEqual(['AdoptGoControllerEnis', 'CreateEniWithClusterTag', 'ManageOwnEnis', 'RetagOwnEnis', 'TagEniOnCreate']);
});

it("attaches and detaches only on instances carrying this cluster's kubernetes.io/cluster/<name> tag (owned or shared)", () => {
  const instances = statements.find((s) => s.Sid === 'AttachOnlyToClusterInstances')!;
  expect(list(instances.Action).sort()).toEqual(['ec2:AttachNetworkInterface', 'ec2:DetachNetworkInterface', 'ec2:ModifyNetworkInterfaceAttribute']);
  expect(instances.Resource).toBe(INSTANCE_ARN);
  expect(instances.Condition).toEqual({ StringEquals: { [`aws:ResourceTag/${INSTANCE_CLUSTER_TAG}`]: ['owned', 'shared'] } });
  // No other statement grants anything on instances: an instance without the tag cannot get or lose an ENI.
  const onInstances = statements.filter((s) => list(s.Resource).some((r) => r.includes(':instance/') || r === '*'));
  expect(onInstances.map((s) => s.Sid).sort()).toEqual(['AttachOnlyToClusterInstances', 'DescribeNetwork']);
  // Attach and detach authorize both the ENI (ManageOwnEnis) and the instance; each is conditioned.
  for (const action of ['ec2:AttachNetworkInterface', 'ec2:DetachNetworkInterface']) {
    const granting = statements.filter((s) => list(s.Action).includes(action));
    expect(granting.map((s) => s.Sid).sort()).toEqual(['AttachOnlyToClusterInstances', 'ManageOwnEnis']);
    expect(granting.every((s) => s.Condition && Object.keys(s.Condition).length > 0)).toBe(true);
  }
  // A security-group change (ModifyNetworkInterfaceAttribute with Groups) only to groups of the cluster's VPC.
  const groups = statements.find((s) => s.Sid === 'SecurityGroupsInClusterVpc')!;
  expect(groups.Action).toBe('ec2:ModifyNetworkInterfaceAttribute');
  expect(groups.Resource).toBe(SG_ARN);
  expect(groups.Condition).toEqual({ ArnEquals: { 'ec2:Vpc': VPC_ARN } });
  // Every statement is conditioned except the Describe calls (EC2 allows none there).
  expect(statements.filter((s) => !s.Condition).map((s) => s.Sid)).toEqual(['DescribeNetwork']);
});

it('uses only the placeholders the README fills with envsubst', () => {
  const text = fs.readFileSync(path.join(REPO_ROOT, 'deploy', 'iam-policy.json'), 'utf8');
  expect([...new Set([...text.matchAll(/\$\{([A-Z_]+)\}/g)].map((m) => m[1]))].sort()).toEqual(['AWS_ACCOUNT_ID', 'AWS_REGION', 'CLUSTER_NAME', 'VPC_ID']);
  expect(fs.readFileSync(path.join(REPO_ROOT, 'helm', 'multi-eni-controller', 'README.md'), 'utf8')).toContain('export AWS_ACCOUNT_ID=111122223333 AWS_REGION=us-east-1 VPC_ID=vpc-0abc1234 CLUSTER_NAME=');
});
