// EC2 query answers as moto writes them: reading ENIs, instances and groups out of them, rewriting what the proxy
// knows better (attachment status), and EC2's error envelope.
import { privateIpsOf } from '../ec2-addresses.js';

// Pure helpers, unit-tested in ec2-proxy.test.ts.

const escapeXml = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

/** EC2's error envelope, as moto writes it and as the SDK's AwsEc2QueryProtocol reads `Errors.Error.Code`. */
export function ec2ErrorXml(code: string, message: string, requestId: string): string {
  return (
    `<?xml version="1.0" encoding="UTF-8"?>\n<Response><Errors><Error><Code>${escapeXml(code)}</Code>` +
    `<Message>${escapeXml(message)}</Message></Error></Errors><RequestID>${escapeXml(requestId)}</RequestID></Response>`
  );
}

export function errorCodeOf(xml: string): string | undefined {
  return /<Error>\s*<Code>([^<]+)<\/Code>/.exec(xml)?.[1];
}

/**
 * Applies `fn` to each top-level `<item>` of the list element `set` (e.g. `networkInterfaceSet`). Items contain
 * nested `<item>`s (an ENI's groupSet and tagSet, a group's rules), so they are found by counting depth, not by a
 * lazy regex.
 */
export function mapTopLevelItems(xml: string, set: string, fn: (item: string) => string): string {
  const open = xml.indexOf(`<${set}>`);
  if (open < 0) return xml; // absent or `<set/>`
  const start = open + set.length + 2;
  const end = xml.indexOf(`</${set}>`, start);
  if (end < 0) return xml;
  const body = xml.slice(start, end);
  const tag = /<(\/?)item>/g;
  let out = '';
  let depth = 0;
  let itemStart = -1;
  let copied = 0;
  for (let m = tag.exec(body); m; m = tag.exec(body)) {
    if (m[1] === '') {
      if (depth++ === 0) itemStart = m.index;
    } else if (--depth === 0) {
      const itemEnd = m.index + m[0].length;
      out += body.slice(copied, itemStart) + fn(body.slice(itemStart, itemEnd));
      copied = itemEnd;
    }
  }
  return xml.slice(0, start) + out + body.slice(copied) + xml.slice(end);
}

/** `mapTopLevelItems` over a DescribeNetworkInterfaces answer's ENIs. */
export const mapNetworkInterfaceItems = (xml: string, fn: (item: string) => string): string => mapTopLevelItems(xml, 'networkInterfaceSet', fn);

export interface EniSummary {
  id: string;
  status?: string;
  availabilityZone?: string;
  subnetId?: string;
  vpcId?: string;
  privateIps?: string[];
  attachment?: { attachmentId?: string; instanceId?: string; deviceIndex?: number; status?: string };
}

export const tagValue = (xml: string, name: string) => new RegExp(`<${name}>([^<]*)</${name}>`).exec(xml)?.[1];
const ATTACHMENT_RE = /<attachment>[\s\S]*?<\/attachment>/;

export function summarizeEniItem(item: string): EniSummary | undefined {
  const att = ATTACHMENT_RE.exec(item)?.[0];
  // The ENI's own <status> is the one outside <attachment>; nested items carry no <status>.
  const rest = att ? item.replace(att, '') : item;
  const id = tagValue(rest, 'networkInterfaceId');
  if (!id) return undefined;
  const s: EniSummary = {
    id,
    status: tagValue(rest, 'status'),
    availabilityZone: tagValue(rest, 'availabilityZone'),
    subnetId: tagValue(rest, 'subnetId'),
    vpcId: tagValue(rest, 'vpcId'),
    privateIps: privateIpsOf(rest),
  };
  if (att) {
    const idx = tagValue(att, 'deviceIndex');
    s.attachment = { attachmentId: tagValue(att, 'attachmentId'), instanceId: tagValue(att, 'instanceId'), deviceIndex: idx === undefined ? undefined : Number(idx), status: tagValue(att, 'status') };
  }
  return s;
}

export function parseNetworkInterfaces(xml: string): EniSummary[] {
  const out: EniSummary[] = [];
  mapNetworkInterfaceItems(xml, (item) => {
    const s = summarizeEniItem(item);
    if (s) out.push(s);
    return item;
  });
  return out;
}

/** An instance's type and availability zone from a DescribeInstances answer for that one instance. */
export function parseInstance(xml: string): { type?: string; az?: string } | undefined {
  const type = tagValue(xml, 'instanceType');
  const az = /<placement>[\s\S]*?<availabilityZone>([^<]+)<\/availabilityZone>/.exec(xml)?.[1];
  return type || az ? { type, az } : undefined;
}

/** The groups of a DescribeSecurityGroups answer, with their VPC. */
export function parseSecurityGroups(xml: string): { id: string; vpcId?: string }[] {
  const out: { id: string; vpcId?: string }[] = [];
  mapTopLevelItems(xml, 'securityGroupInfo', (item) => {
    // A group's rules name other groups (their groupId and vpcId): read only the group's own fields.
    const own = item.replace(/<(ipPermissions|ipPermissionsEgress)>[\s\S]*?<\/\1>/g, '');
    const id = tagValue(own, 'groupId');
    if (id) out.push({ id, vpcId: tagValue(own, 'vpcId') });
    return item;
  });
  return out;
}

/** Rewrites the attachment `<status>` of the listed ENIs only; every other byte stays as moto wrote it. */
export function rewriteAttachmentStatus(xml: string, statusByEni: ReadonlyMap<string, string>): string {
  if (statusByEni.size === 0) return xml;
  return mapNetworkInterfaceItems(xml, (item) => {
    const att = ATTACHMENT_RE.exec(item)?.[0];
    const id = summarizeEniItem(item)?.id;
    const status = id === undefined ? undefined : statusByEni.get(id);
    if (!att || status === undefined) return item;
    return item.replace(att, att.replace(/<status>[^<]*<\/status>/, `<status>${status}</status>`));
  });
}
