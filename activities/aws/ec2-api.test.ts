// The adapter from the SDK client: each method sends its own command with the input as given, and passes the
// client's answer and error through unchanged (the error mapping is the providers').
import type { EC2Client } from '@aws-sdk/client-ec2';
import { ec2ApiOf, type Ec2Api } from './ec2-api.js';
import { awsError } from './fake-ec2-api.js';

function recordingClient(answer: (name: string) => unknown) {
  const sent: { name: string; input: unknown }[] = [];
  const client = {
    async send(command: { constructor: { name: string }; input: unknown }) {
      const name = command.constructor.name;
      sent.push({ name, input: command.input });
      return answer(name);
    },
  };
  return { sent, api: ec2ApiOf(client as unknown as EC2Client) };
}

describe('ec2ApiOf', () => {
  it('sends one command per method, named after it', async () => {
    const { sent, api } = recordingClient(() => ({}));
    const methods = Object.keys(api) as (keyof Ec2Api)[];
    for (const m of methods) await (api[m] as (input: unknown) => Promise<unknown>)({ marker: m });
    expect(sent.map((s) => s.name)).toEqual(methods.map((m) => `${m[0]!.toUpperCase()}${m.slice(1)}Command`));
    expect(sent.map((s) => s.input)).toEqual(methods.map((m) => ({ marker: m })));
    expect(methods).toHaveLength(13);
  });

  it("passes the client's answer and error through", async () => {
    const { api } = recordingClient((name) => {
      if (name === 'DeleteNetworkInterfaceCommand') throw awsError('InvalidNetworkInterfaceID.NotFound');
      return { Subnets: [{ SubnetId: 'subnet-1' }] };
    });
    expect(await api.describeSubnets({ Filters: [] })).toEqual({ Subnets: [{ SubnetId: 'subnet-1' }] });
    await expect(api.deleteNetworkInterface({ NetworkInterfaceId: 'eni-1' })).rejects.toMatchObject({ name: 'InvalidNetworkInterfaceID.NotFound' });
  });
});
