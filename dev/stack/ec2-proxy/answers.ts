// The answers the proxy gives itself, in EC2's XML: successes, and the error envelope with EC2's codes.
import type http from 'node:http';
import { ec2ErrorXml } from './xml.js';

export const EC2_NS = 'http://ec2.amazonaws.com/doc/2016-11-15';

export interface Answer {
  status: number;
  headers: http.OutgoingHttpHeaders;
  body: Buffer;
}

let requestSeq = 0;
export const requestId = () => `ec2-proxy-${Date.now().toString(36)}-${(++requestSeq).toString(36)}`;

export function xmlAnswer(status: number, xml: string): Answer {
  return { status, headers: { 'content-type': 'text/xml;charset=UTF-8' }, body: Buffer.from(xml) };
}
export const errorAnswer = (status: number, code: string, message: string) => xmlAnswer(status, ec2ErrorXml(code, message, requestId()));
export const inUse = (eni: string) => errorAnswer(400, 'InvalidNetworkInterface.InUse', `The network interface '${eni}' is currently in use.`);
export const eniNotFound = (eni: string) => errorAnswer(400, 'InvalidNetworkInterfaceID.NotFound', `The networkInterface ID '${eni}' does not exist`);

export function okXml(action: string): Answer {
  return xmlAnswer(200, `<?xml version="1.0" encoding="UTF-8"?>\n<${action}Response xmlns="${EC2_NS}"><requestId>${requestId()}</requestId><return>true</return></${action}Response>`);
}
