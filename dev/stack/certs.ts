// PKI for the local kube-apiserver: a CA, a serving cert for 127.0.0.1, an admin client cert in
// system:masters (so RBAC can stay on), and the service-account signing key pair. Made once per stack dir.
import fs from 'node:fs';
import path from 'node:path';
import { execFileP } from './processes.js';

export interface Pki {
  dir: string;
  caCert: string;
  caKey: string;
  servingCert: string;
  servingKey: string;
  adminCert: string;
  adminKey: string;
  saKey: string;
  saPub: string;
}

const openssl = (args: string[], cwd: string) => execFileP('openssl', args, { cwd });

export async function clientCert(dir: string, name: string, subject: string): Promise<void> {
  await openssl(['req', '-newkey', 'rsa:2048', '-nodes', '-keyout', `${name}.key`, '-out', `${name}.csr`, '-subj', subject], dir);
  await openssl(['x509', '-req', '-in', `${name}.csr`, '-CA', 'ca.crt', '-CAkey', 'ca.key', '-CAcreateserial', '-out', `${name}.crt`, '-days', '3650'], dir);
}

/** Where the PKI of a stack dir lives (made by ensurePki). */
export function pkiPaths(dir: string): Pki {
  return {
    dir,
    caCert: path.join(dir, 'ca.crt'),
    caKey: path.join(dir, 'ca.key'),
    servingCert: path.join(dir, 'apiserver.crt'),
    servingKey: path.join(dir, 'apiserver.key'),
    adminCert: path.join(dir, 'admin.crt'),
    adminKey: path.join(dir, 'admin.key'),
    saKey: path.join(dir, 'sa.key'),
    saPub: path.join(dir, 'sa.pub'),
  };
}

export async function ensurePki(dir: string): Promise<Pki> {
  const pki = pkiPaths(dir);
  if (fs.existsSync(pki.saPub)) return pki;
  fs.mkdirSync(dir, { recursive: true });
  await openssl(['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'ca.key', '-out', 'ca.crt', '-days', '3650', '-subj', '/CN=multi-eni-local-ca'], dir);
  await openssl(['req', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'apiserver.key', '-out', 'apiserver.csr', '-subj', '/CN=kube-apiserver'], dir);
  fs.writeFileSync(path.join(dir, 'san.ext'), 'subjectAltName=IP:127.0.0.1,DNS:localhost,DNS:kubernetes,DNS:kubernetes.default.svc\n');
  await openssl(
    ['x509', '-req', '-in', 'apiserver.csr', '-CA', 'ca.crt', '-CAkey', 'ca.key', '-CAcreateserial', '-out', 'apiserver.crt', '-days', '3650', '-extfile', 'san.ext'],
    dir,
  );
  await clientCert(dir, 'admin', '/O=system:masters/CN=multi-eni-admin');
  await openssl(['genrsa', '-out', 'sa.key', '2048'], dir);
  await openssl(['rsa', '-in', 'sa.key', '-pubout', '-out', 'sa.pub'], dir);
  return pki;
}

/** A kubeconfig with client-certificate auth (admin) or a bearer token (a ServiceAccount's). */
export function kubeconfigYaml(server: string, caCert: string, user: { cert: string; key: string } | { token: string }): string {
  const auth =
    'token' in user
      ? `    token: ${user.token}\n`
      : `    client-certificate: ${user.cert}\n    client-key: ${user.key}\n`;
  return `apiVersion: v1
kind: Config
clusters:
- name: local
  cluster:
    server: ${server}
    certificate-authority: ${caCert}
users:
- name: user
  user:
${auth}contexts:
- name: local
  context:
    cluster: local
    user: user
current-context: local
`;
}
