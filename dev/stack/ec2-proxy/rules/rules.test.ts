// The rules of AttachNetworkInterface, DeleteNetworkInterface and DescribeNetworkInterfaces over a proxy state,
// against a fake moto that answers the proxy's internal describes from a list of ENIs.
import type http from 'node:http';
import { xmlAnswer, type Answer } from '../answers.js';
import type { Forward, ProxyContext } from '../context.js';
import { createState } from '../state.js';
import type { Upstream } from '../upstream.js';
import { errorCodeOf, parseNetworkInterfaces } from '../xml.js';
import { attachNetworkInterface } from './attach.js';
import { deleteNetworkInterface } from './delete.js';
import { describeNetworkInterfaces } from './describe.js';

interface FakeEni {
  id: string;
  az?: string;
  subnet?: string;
  ips?: string[];
  attached?: { instance: string; index: number };
}

const eniXml = (e: FakeEni) =>
  `<item>${e.attached ? `<attachment><attachmentId>eni-attach-${e.id}</attachmentId><deviceIndex>${e.attached.index}</deviceIndex><instanceId>${e.attached.instance}</instanceId><status>attached</status></attachment>` : ''}` +
  `<availabilityZone>${e.az ?? 'us-east-1a'}</availabilityZone><networkInterfaceId>${e.id}</networkInterfaceId>` +
  `<privateIpAddressesSet>${(e.ips ?? ['10.0.1.4']).map((ip) => `<item><privateIpAddress>${ip}</privateIpAddress></item>`).join('')}</privateIpAddressesSet>` +
  `<status>${e.attached ? 'in-use' : 'available'}</status><subnetId>${e.subnet ?? 'subnet-1'}</subnetId></item>`;
const describeXml = (enis: FakeEni[]) => `<DescribeNetworkInterfacesResponse><networkInterfaceSet>${enis.map(eniXml).join('')}</networkInterfaceSet></DescribeNetworkInterfacesResponse>`;

/** moto as the proxy's internal calls see it: these ENIs, instance i-1 (t3.small, 2 interfaces of 3 addresses) in us-east-1a. */
function fakeMoto(enis: FakeEni[]): Upstream {
  const internal = async (_h: http.IncomingHttpHeaders, p: Record<string, string>): Promise<Answer | undefined> => {
    if (p.Action === 'DescribeNetworkInterfaces') {
      const v = p['Filter.1.Value.1'];
      const match: Record<string, (e: FakeEni) => boolean> = {
        'network-interface-id': (e) => e.id === v,
        'attachment.instance-id': (e) => e.attached?.instance === v,
      };
      return xmlAnswer(200, describeXml(enis.filter(match[p['Filter.1.Name']!] ?? (() => false))));
    }
    if (p.Action === 'DescribeInstances') return xmlAnswer(200, '<instanceType>t3.small</instanceType><placement><availabilityZone>us-east-1a</availabilityZone></placement>');
    if (p.Action === 'DescribeInstanceTypes') return xmlAnswer(200, '<maximumNetworkInterfaces>2</maximumNetworkInterfaces><ipv4AddressesPerInterface>3</ipv4AddressesPerInterface>');
    return undefined;
  };
  return { internal, forward: () => Promise.reject(new Error('the rules forward through fwd')) };
}

function setup(enis: FakeEni[]) {
  const ctx: ProxyContext = { state: createState(), upstream: fakeMoto(enis), target: new URL('http://moto.invalid'), log: () => undefined };
  const forwarded: (ReadonlyMap<string, string> | undefined)[] = [];
  let answer = xmlAnswer(200, '<AttachNetworkInterfaceResponse><attachmentId>eni-attach-new</attachmentId></AttachNetworkInterfaceResponse>');
  const fwd: Forward = (params) => {
    forwarded.push(params);
    return Promise.resolve(answer);
  };
  return { ctx, state: ctx.state, fwd, forwarded, answerWith: (a: Answer) => (answer = a) };
}

const refusal = (a: Answer) => ({ status: a.status, code: errorCodeOf(a.body.toString()), message: /<Message>([^<]*)<\/Message>/.exec(a.body.toString())?.[1] });
const attachParams = (eni: string, index: number) => new Map([['Action', 'AttachNetworkInterface'], ['NetworkInterfaceId', eni], ['InstanceId', 'i-1'], ['DeviceIndex', String(index)]]);
const primary: FakeEni = { id: 'eni-primary', attached: { instance: 'i-1', index: 0 } };

describe('AttachNetworkInterface rules', () => {
  test('an ENI already attached is in use; an occupied device index is refused; neither reaches moto', async () => {
    const { ctx, fwd, forwarded } = setup([primary, { id: 'eni-b' }]);
    expect(refusal(await attachNetworkInterface(ctx, attachParams('eni-primary', 1), {}, fwd))).toEqual({ status: 400, code: 'InvalidNetworkInterface.InUse', message: 'Interface: [eni-primary] in use.' });
    expect(refusal(await attachNetworkInterface(ctx, attachParams('eni-b', 0), {}, fwd))).toEqual({
      status: 400,
      code: 'InvalidParameterValue',
      message: "Instance 'i-1' already has an interface attached at device index '0'.",
    });
    expect(forwarded).toHaveLength(0);
  });

  test("only an ENI of the instance's availability zone", async () => {
    const { ctx, fwd, forwarded } = setup([primary, { id: 'eni-b', az: 'us-east-1b' }]);
    expect(refusal(await attachNetworkInterface(ctx, attachParams('eni-b', 1), {}, fwd)).code).toBe('InvalidParameterCombination');
    expect(forwarded).toHaveLength(0);
  });

  test("the instance type's MaximumNetworkInterfaces counts the primary, and device indexes stay below it", async () => {
    const full = setup([primary, { id: 'eni-b', attached: { instance: 'i-1', index: 1 } }, { id: 'eni-c' }]);
    expect(refusal(await attachNetworkInterface(full.ctx, attachParams('eni-c', 2), {}, full.fwd))).toEqual({ status: 400, code: 'AttachmentLimitExceeded', message: 'Interface count 3 exceeds the limit for t3.small' });
    const room = setup([primary, { id: 'eni-c' }]);
    expect(refusal(await attachNetworkInterface(room.ctx, attachParams('eni-c', 2), {}, room.fwd)).message).toBe('Device index 2 exceeds the limit for t3.small (2 network interfaces)');
    expect((await attachNetworkInterface(room.ctx, attachParams('eni-c', 1), {}, room.fwd)).status).toBe(200);
  });

  test("an ENI holding more than Ipv4AddressesPerInterface (each delegated prefix counting as one) is refused", async () => {
    const { ctx, state, fwd } = setup([primary, { id: 'eni-b', ips: ['10.0.1.10', '10.0.1.11'] }]);
    state.eniPrefixes.set('eni-b', ['10.0.1.32/28', '10.0.1.48/28']); // 2 addresses + 2 prefixes = 4 > 3
    expect(refusal(await attachNetworkInterface(ctx, attachParams('eni-b', 1), {}, fwd))).toEqual({ status: 400, code: 'PrivateIpAddressLimitExceeded', message: 'eni-b: Number of private addresses will exceed limit.' });
    state.eniPrefixes.set('eni-b', ['10.0.1.32/28']); // 3, the limit itself
    expect((await attachNetworkInterface(ctx, attachParams('eni-b', 1), {}, fwd)).status).toBe(200);
  });

  test('each rule is off behind its switch; an attach that goes through opens the attaching window', async () => {
    const { ctx, state, fwd, forwarded } = setup([primary, { id: 'eni-b', az: 'us-east-1b' }]);
    state.semantics = { ...state.semantics, deviceIndexConflicts: false, availabilityZone: false, attachingMs: 500 };
    const before = Date.now();
    const a = await attachNetworkInterface(ctx, attachParams('eni-b', 0), {}, fwd);
    expect([a.status, a.windowMs, forwarded.length]).toEqual([200, 500, 1]);
    expect(state.attachmentEni.get('eni-attach-new')).toBe('eni-b');
    expect(state.attachingUntil.get('eni-b')).toBeGreaterThanOrEqual(before + 500);
  });
});

describe('DeleteNetworkInterface rules', () => {
  const del = (eni: string) => new Map([['Action', 'DeleteNetworkInterface'], ['NetworkInterfaceId', eni]]);

  test('refused while detaching or attached, without reaching moto; allowed when the switch is off', async () => {
    const { ctx, state, fwd, forwarded } = setup([primary, { id: 'eni-b' }]);
    state.detaching.set('eni-b', { timer: setTimeout(() => undefined, 0), run: () => Promise.resolve() });
    expect(refusal(await deleteNetworkInterface(ctx, del('eni-b'), {}, fwd))).toEqual({ status: 400, code: 'InvalidNetworkInterface.InUse', message: "The network interface 'eni-b' is currently in use." });
    expect(refusal(await deleteNetworkInterface(ctx, del('eni-primary'), {}, fwd)).code).toBe('InvalidNetworkInterface.InUse');
    expect(forwarded).toHaveLength(0);
    state.semantics = { ...state.semantics, refuseDeleteInUse: false };
    expect((await deleteNetworkInterface(ctx, del('eni-primary'), {}, fwd)).status).toBe(200);
    expect(forwarded).toHaveLength(1);
  });

  test("a deleted ENI's prefixes go back to the subnet; a failed delete keeps them", async () => {
    const { ctx, state, fwd, answerWith } = setup([{ id: 'eni-b' }]);
    state.eniPrefixes.set('eni-b', ['10.0.1.32/28']);
    state.eniSubnet.set('eni-b', 'subnet-1');
    answerWith(xmlAnswer(400, '<Response><Errors><Error><Code>InvalidNetworkInterfaceID.NotFound</Code></Error></Errors></Response>'));
    await deleteNetworkInterface(ctx, del('eni-b'), {}, fwd);
    expect(state.eniPrefixes.has('eni-b')).toBe(true);
    answerWith(xmlAnswer(200, '<DeleteNetworkInterfaceResponse><return>true</return></DeleteNetworkInterfaceResponse>'));
    await deleteNetworkInterface(ctx, del('eni-b'), {}, fwd);
    expect([state.eniPrefixes.has('eni-b'), state.eniSubnet.has('eni-b')]).toEqual([false, false]);
  });
});

describe('DescribeNetworkInterfaces rules', () => {
  test("moto's answer shows the attaching and detaching windows and the delegated prefixes; an ended window is forgotten", async () => {
    const attached = (id: string, index: number): FakeEni => ({ id, attached: { instance: 'i-1', index } });
    const { state, fwd, answerWith } = setup([]);
    answerWith(xmlAnswer(200, describeXml([attached('eni-a', 1), attached('eni-d', 2), attached('eni-old', 3)])));
    state.attachingUntil.set('eni-a', Date.now() + 60_000);
    state.attachingUntil.set('eni-old', Date.now() - 1);
    state.detaching.set('eni-d', { timer: setTimeout(() => undefined, 0), run: () => Promise.resolve() });
    state.eniPrefixes.set('eni-a', ['10.0.1.32/28']);
    const xml = (await describeNetworkInterfaces(state, fwd)).body.toString();
    expect(parseNetworkInterfaces(xml).map((e) => [e.id, e.attachment?.status])).toEqual([
      ['eni-a', 'attaching'],
      ['eni-d', 'detaching'],
      ['eni-old', 'attached'],
    ]);
    expect(state.attachingUntil.has('eni-old')).toBe(false);
    expect(xml).toContain('<ipv4Prefix>10.0.1.32/28</ipv4Prefix>');
  });
});
