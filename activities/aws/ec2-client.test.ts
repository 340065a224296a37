// The controller's EC2 client never takes credentials from IMDSv1: against an instance metadata service on loopback
// that refuses the IMDSv2 token and would hand out instance-profile credentials without one.
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { makeEc2Client } from './ec2-client.js';

interface FakeImds {
  url: string;
  requests: string[];
  close(): Promise<void>;
}

async function fakeImdsV1Only(): Promise<FakeImds> {
  const requests: string[] = [];
  const server = http.createServer((req, res) => {
    requests.push(`${req.method} ${req.url}`);
    if (req.method === 'PUT') return void res.writeHead(405).end(); // IMDSv2 token refused, as on an IMDSv1-only host
    if (req.url === '/latest/meta-data/iam/security-credentials/') return void res.end('node-role');
    if (req.url?.startsWith('/latest/meta-data/iam/security-credentials/node-role')) {
      const expiration = new Date(Date.now() + 3600_000).toISOString();
      return void res.end(JSON.stringify({ Code: 'Success', AccessKeyId: 'AKIAV1STOLEN', SecretAccessKey: 's', Token: 't', Expiration: expiration }));
    }
    res.writeHead(404).end();
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, requests, close: () => new Promise((r) => server.close(() => r())) };
}

describe('EC2 client credentials', () => {
  const saved = { ...process.env };
  let imds: FakeImds;
  beforeEach(async () => {
    imds = await fakeImdsV1Only();
    // Nothing but IMDS in the chain: no keys, no profile files, no container credentials.
    for (const k of Object.keys(process.env)) if (/^AWS_/.test(k)) delete process.env[k];
    Object.assign(process.env, {
      AWS_EC2_METADATA_SERVICE_ENDPOINT: imds.url,
      AWS_CONFIG_FILE: '/nonexistent/config',
      AWS_SHARED_CREDENTIALS_FILE: '/nonexistent/credentials',
      AWS_METADATA_SERVICE_NUM_ATTEMPTS: '1',
    });
  });
  afterEach(async () => {
    await imds.close();
    for (const k of Object.keys(process.env)) if (!(k in saved)) delete process.env[k];
    Object.assign(process.env, saved);
  });

  it('refuses the IMDSv1 fallback by default: no credentials, none even asked for without a token', async () => {
    const ec2 = makeEc2Client({ region: 'us-east-1' });
    await expect(ec2.config.credentials()).rejects.toThrow();
    expect(process.env.AWS_EC2_METADATA_V1_DISABLED).toBe('true');
    expect(imds.requests.filter((r) => r.startsWith('GET /latest/meta-data/iam'))).toEqual([]);
    ec2.destroy();
  });

  it('(the same host hands them out to a client that allows IMDSv1, so the check above can fail)', async () => {
    process.env.AWS_EC2_METADATA_V1_DISABLED = 'false';
    const ec2 = makeEc2Client({ region: 'us-east-1' });
    expect((await ec2.config.credentials()).accessKeyId).toBe('AKIAV1STOLEN');
    ec2.destroy();
  });
});
