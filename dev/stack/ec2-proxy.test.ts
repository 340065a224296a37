import {
  DEFAULT_FAULTS,
  DEFAULT_SEMANTICS,
  FaultsSchema,
  SemanticsSchema,
  decideFault,
  drawWindow,
  ec2ErrorXml,
  errorCodeOf,
  keyParams,
  mapNetworkInterfaceItems,
  mergeConfig,
  outcomeOf,
  parseForm,
  parseInstance,
  parseNetworkInterfaces,
  parseSecurityGroups,
  rewriteAttachmentStatus,
  seededRandom,
} from './ec2-proxy.js';

// Shaped like moto's DescribeNetworkInterfaces answer: ENI items hold nested <item>s (groupSet, privateIpAddressesSet).
const eniItem = (id: string, attachment?: { index: number; status: string; instance: string }) =>
  `<item>${
    attachment
      ? `<attachment><attachTime>2026-01-01T00:00:00.000Z</attachTime><attachmentId>eni-attach-${id}</attachmentId><deleteOnTermination>false</deleteOnTermination><deviceIndex>${attachment.index}</deviceIndex><instanceId>${attachment.instance}</instanceId><status>${attachment.status}</status></attachment>`
      : ''
  }<groupSet><item><groupId>sg-1</groupId><groupName>default</groupName></item></groupSet><networkInterfaceId>eni-${id}</networkInterfaceId>` +
  `<privateIpAddressesSet><item><primary>true</primary><privateIpAddress>10.0.1.4</privateIpAddress></item></privateIpAddressesSet>` +
  `<status>${attachment ? 'in-use' : 'available'}</status><tagSet/></item>`;
const describeXml = (...items: string[]) =>
  `<?xml version="1.0" encoding="utf-8"?>\n<DescribeNetworkInterfacesResponse xmlns="http://ec2.amazonaws.com/doc/2016-11-15"><networkInterfaceSet>${items.join('')}</networkInterfaceSet><requestId>r</requestId></DescribeNetworkInterfacesResponse>`;

describe('EC2 query parsing', () => {
  it('reads form bodies and picks the key params, including the first of a list', () => {
    const p = parseForm('Action=AttachNetworkInterface&Version=2016-11-15&NetworkInterfaceId=eni-1&InstanceId=i-1&DeviceIndex=2&Filter.1.Name=x');
    expect(p.get('Action')).toBe('AttachNetworkInterface');
    expect(keyParams(p)).toEqual({ NetworkInterfaceId: 'eni-1', InstanceId: 'i-1', DeviceIndex: '2' });
    expect(keyParams(parseForm('Action=DescribeNetworkInterfaces&NetworkInterfaceId.1=eni-9&ClientToken=a%20b'))).toEqual({ NetworkInterfaceId: 'eni-9', ClientToken: 'a b' });
  });
});

describe('EC2 error XML', () => {
  it('is the envelope the SDK reads Errors.Error.Code from, with text escaped', () => {
    const xml = ec2ErrorXml('InvalidParameterValue', "Instance 'i-1' <x> & y", 'req-1');
    expect(xml).toContain('<Response><Errors><Error><Code>InvalidParameterValue</Code><Message>Instance \'i-1\' &lt;x&gt; &amp; y</Message></Error></Errors><RequestID>req-1</RequestID></Response>');
    expect(errorCodeOf(xml)).toBe('InvalidParameterValue');
  });

  it('classifies answers into outcomes', () => {
    expect(outcomeOf(200, '<x/>')).toBe('ok');
    expect(outcomeOf(503, ec2ErrorXml('RequestLimitExceeded', 'm', 'r'))).toBe('throttled');
    expect(outcomeOf(500, ec2ErrorXml('InternalError', 'm', 'r'))).toBe('5xx');
    expect(outcomeOf(400, ec2ErrorXml('InvalidNetworkInterface.InUse', 'm', 'r'))).toBe('InvalidNetworkInterface.InUse');
    expect(outcomeOf(404, 'not xml')).toBe('http-404');
  });
});

describe('networkInterfaceSet items', () => {
  const xml = describeXml(eniItem('a', { index: 0, status: 'attached', instance: 'i-1' }), eniItem('b', { index: 2, status: 'attached', instance: 'i-1' }), eniItem('c'));

  it('finds top-level items despite nested <item>s, and leaves the document intact', () => {
    const seen: string[] = [];
    const same = mapNetworkInterfaceItems(xml, (item) => (seen.push(item), item));
    expect(same).toBe(xml);
    expect(seen).toHaveLength(3);
    expect(seen[1]).toMatch(/^<item><attachment>.*<networkInterfaceId>eni-b<.*<tagSet\/><\/item>$/);
  });

  it('summarises each ENI: its own status apart from the attachment status, and its private addresses', () => {
    expect(parseNetworkInterfaces(xml)).toEqual([
      { id: 'eni-a', status: 'in-use', privateIps: ['10.0.1.4'], attachment: { attachmentId: 'eni-attach-a', instanceId: 'i-1', deviceIndex: 0, status: 'attached' } },
      { id: 'eni-b', status: 'in-use', privateIps: ['10.0.1.4'], attachment: { attachmentId: 'eni-attach-b', instanceId: 'i-1', deviceIndex: 2, status: 'attached' } },
      { id: 'eni-c', status: 'available', privateIps: ['10.0.1.4'] },
    ]);
    expect(parseNetworkInterfaces(describeXml().replace('<networkInterfaceSet></networkInterfaceSet>', '<networkInterfaceSet/>'))).toEqual([]);
  });

  it('rewrites the attachment status of the named ENI only', () => {
    const out = rewriteAttachmentStatus(xml, new Map([['eni-b', 'attaching']]));
    const enis = parseNetworkInterfaces(out);
    expect(enis.map((e) => [e.id, e.status, e.attachment?.status])).toEqual([
      ['eni-a', 'in-use', 'attached'],
      ['eni-b', 'in-use', 'attaching'],
      ['eni-c', 'available', undefined],
    ]);
    expect(out.replace('attaching', 'attached')).toBe(xml);
    // An ENI without an attachment is left alone.
    expect(rewriteAttachmentStatus(xml, new Map([['eni-c', 'detaching']]))).toBe(xml);
  });
});

describe('faults', () => {
  it('are reproducible for a seed', () => {
    const run = (seed: number) => {
      const r = seededRandom(seed);
      return Array.from({ length: 50 }, () => decideFault({ ...DEFAULT_FAULTS, throttleRate: 0.3, serverErrorRate: 0.2 }, 'X', r));
    };
    expect(run(7)).toEqual(run(7));
    expect(run(7)).not.toEqual(run(8));
    const counts = run(7).reduce<Record<string, number>>((m, d) => ((m[d] = (m[d] ?? 0) + 1), m), {});
    expect(Object.keys(counts).sort()).toEqual(['none', 'serverError', 'throttle']);
  });

  it('apply to every action unless a list is given, and at rate 1 always', () => {
    const r = seededRandom(1);
    expect(decideFault({ ...DEFAULT_FAULTS, throttleRate: 1 }, 'DescribeNetworkInterfaces', r)).toBe('throttle');
    expect(decideFault({ ...DEFAULT_FAULTS, serverErrorRate: 1 }, 'DescribeNetworkInterfaces', r)).toBe('serverError');
    const only = { ...DEFAULT_FAULTS, throttleRate: 1, actions: ['CreateNetworkInterface'] };
    expect(decideFault(only, 'DescribeNetworkInterfaces', r)).toBe('none');
    expect(decideFault(only, 'CreateNetworkInterface', r)).toBe('throttle');
    expect(decideFault(DEFAULT_FAULTS, 'CreateNetworkInterface', r)).toBe('none');
  });
});

describe('control config', () => {
  it('merges a partial PUT and validates it', () => {
    const r = mergeConfig(SemanticsSchema, DEFAULT_SEMANTICS, { attachingMs: 200 });
    expect(r).toEqual({ ok: true, value: { ...DEFAULT_SEMANTICS, attachingMs: 200 } });
    const bad = mergeConfig(SemanticsSchema, DEFAULT_SEMANTICS, { attachingMS: 200, clientToken: 'yes' });
    expect(bad.ok).toBe(false);
    expect(!bad.ok && bad.error).toMatch(/clientToken/);
    expect(mergeConfig(FaultsSchema, DEFAULT_FAULTS, { throttleRate: 2 }).ok).toBe(false);
    expect(mergeConfig(FaultsSchema, DEFAULT_FAULTS, [1]).ok).toBe(false);
  });

  it('clears the actions filter with null', () => {
    const set = mergeConfig(FaultsSchema, DEFAULT_FAULTS, { actions: ['AttachNetworkInterface'] });
    expect(set.ok && set.value.actions).toEqual(['AttachNetworkInterface']);
    const cleared = set.ok ? mergeConfig(FaultsSchema, set.value, { actions: null }) : set;
    expect(cleared).toEqual({ ok: true, value: DEFAULT_FAULTS });
  });
});

describe('moto answers the strict rules read', () => {
  it("an instance's type and AZ, from its placement", () => {
    const xml =
      '<DescribeInstancesResponse><reservationSet><item><instancesSet><item><instanceId>i-1</instanceId><instanceType>m5.large</instanceType>' +
      '<placement><availabilityZone>us-east-1b</availabilityZone><tenancy>default</tenancy></placement></item></instancesSet></item></reservationSet></DescribeInstancesResponse>';
    expect(parseInstance(xml)).toEqual({ type: 'm5.large', az: 'us-east-1b' });
    expect(parseInstance('<DescribeInstancesResponse><reservationSet/></DescribeInstancesResponse>')).toBeUndefined();
  });

  it("each group's own id and VPC, not those its rules name", () => {
    const rule = '<ipPermissions><item><groups><item><groupId>sg-other</groupId><vpcId>vpc-x</vpcId></item></groups></item></ipPermissions>';
    const xml = `<DescribeSecurityGroupsResponse><securityGroupInfo><item>${rule}<groupId>sg-1</groupId><vpcId>vpc-1</vpcId></item><item><groupId>sg-2</groupId><ipPermissionsEgress/><vpcId>vpc-2</vpcId></item></securityGroupInfo></DescribeSecurityGroupsResponse>`;
    expect(parseSecurityGroups(xml)).toEqual([
      { id: 'sg-1', vpcId: 'vpc-1' },
      { id: 'sg-2', vpcId: 'vpc-2' },
    ]);
  });

  it('reads the ENI\'s AZ, subnet and VPC outside its attachment', () => {
    const item = '<item><availabilityZone>us-east-1a</availabilityZone><networkInterfaceId>eni-1</networkInterfaceId><status>available</status><subnetId>subnet-1</subnetId><vpcId>vpc-1</vpcId></item>';
    expect(parseNetworkInterfaces(describeXml(item))).toEqual([{ id: 'eni-1', status: 'available', availabilityZone: 'us-east-1a', subnetId: 'subnet-1', vpcId: 'vpc-1', privateIps: [] }]);
  });
});

describe('windows', () => {
  it('a fixed length, or one drawn within [min, max] that repeats for a seed', () => {
    expect(drawWindow(1500, seededRandom(1))).toBe(1500);
    const draw = (seed: number) => {
      const r = seededRandom(seed);
      return Array.from({ length: 20 }, () => drawWindow([1000, 3000], r));
    };
    expect(draw(3)).toEqual(draw(3));
    expect(Math.min(...draw(3))).toBeGreaterThanOrEqual(1000);
    expect(Math.max(...draw(3))).toBeLessThanOrEqual(3000);
    expect(new Set(draw(3)).size).toBeGreaterThan(10);
    expect(drawWindow([5, 5], seededRandom(9))).toBe(5);
  });
});
