// Where the stack keeps its state, logs and tools. Outside the repo, so a clean checkout stays clean.
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

import fs from 'node:fs';

/** The repository root, found from this file whether it runs from dev/stack/ (ts) or dist/dev/stack/ (js). */
function findRepoRoot(): string {
  let dir = path.dirname(fileURLToPath(import.meta.url));
  while (!fs.existsSync(path.join(dir, 'package.json')) || path.basename(dir) === 'dist') dir = path.dirname(dir);
  return dir;
}
export const REPO_ROOT = findRepoRoot();
export const TOOLS_CACHE = process.env.MULTI_ENI_CACHE ?? path.join(os.homedir(), '.cache', 'multi-eni');
export const TOOLS_BIN = path.join(TOOLS_CACHE, 'bin');
export const STACK_DIR = process.env.MULTI_ENI_STACK_DIR ?? path.join(os.tmpdir(), 'multi-eni-stack');
export const STATE_FILE = path.join(STACK_DIR, 'state.json');

/** Loopback ports; a base other than the default lets two stacks run side by side. */
export function stackPorts(base = Number(process.env.MULTI_ENI_PORT_BASE ?? 17200)) {
  return {
    temporal: base + 33,
    temporalUi: base + 80,
    etcdClient: base + 79,
    etcdPeer: base + 78,
    apiserver: base + 43,
    moto: base + 50,
    ec2Proxy: base + 51,
  };
}
export type StackPorts = ReturnType<typeof stackPorts>;

/** moto_server as this project runs it: through dev/stack/moto-server.py (indexed tag reads), with moto's own Python. */
export function motoServerCommand(port: number): { cmd: string; args: string[] } {
  const python = path.join(path.dirname(fs.realpathSync(path.join(TOOLS_BIN, 'moto_server'))), 'python3');
  return { cmd: python, args: [path.join(REPO_ROOT, 'dev', 'stack', 'moto-server.py'), '-H', '127.0.0.1', '-p', String(port)] };
}
