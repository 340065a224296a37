// Process entry of the EC2 fault proxy: node dist/dev/stack/ec2-proxy-main.js --port P --target http://127.0.0.1:MOTO [--host H]
import { parseArgs } from 'node:util';
import { startEc2Proxy } from './ec2-proxy.js';

const { values } = parseArgs({ options: { port: { type: 'string' }, target: { type: 'string' }, host: { type: 'string', default: '127.0.0.1' } } });
const port = Number(values.port);
if (!values.target || !Number.isInteger(port) || port < 0 || port > 65535) {
  console.error('usage: ec2-proxy-main --port P --target http://127.0.0.1:MOTO_PORT [--host 127.0.0.1]');
  process.exit(2);
}

const proxy = await startEc2Proxy({ port, host: values.host, target: values.target, log: (l) => console.error(l) });
console.log(`ec2-proxy listening on ${proxy.url} -> ${values.target} (control: ${proxy.url}/_proxy/)`);

let stopping = false;
const stop = (signal: string) => {
  if (stopping) return;
  stopping = true;
  proxy.close().then(
    () => {
      console.log(`ec2-proxy stopped (${signal})`);
      process.exit(0);
    },
    (e: unknown) => {
      console.error(`ec2-proxy: error while stopping: ${String(e)}`);
      process.exit(1);
    },
  );
};
process.on('SIGTERM', () => stop('SIGTERM'));
process.on('SIGINT', () => stop('SIGINT'));
