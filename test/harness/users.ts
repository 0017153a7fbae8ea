/**
 * People for tests of who may do what: a client certificate signed by the test control plane's CA
 * (the API server takes CN as the username and each O as a group, as for any x509 user) and a
 * kubeconfig for it, usable by the operator's KubeClient and by kubectl alike.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { KubeClient } from '../../src/runtime/kube-client.ts';
import { KubeConnection } from '../../src/runtime/kubeconfig.ts';
import type { ControlPlaneInfo } from './control-plane.ts';

export interface TestUser {
  name: string;
  groups: string[];
  kubeconfig: string;
  client: KubeClient;
}

/** Issues `name` (in `groups`) a certificate from the control plane's CA; idempotent per name. */
export function testUser(info: ControlPlaneInfo, name: string, groups: string[] = []): TestUser {
  const dir = info.dir;
  const file = `user-${name.replace(/[^a-zA-Z0-9]/g, '_')}`;
  const subject = `${groups.map((g) => `/O=${g}`).join('')}/CN=${name}`;
  const openssl = (...args: string[]) => execFileSync('openssl', args, { cwd: dir, stdio: 'pipe' });
  openssl('req', '-newkey', 'rsa:2048', '-nodes', '-keyout', `${file}.key`, '-out', `${file}.csr`, '-subj', subject);
  openssl(
    'x509',
    '-req',
    '-in',
    `${file}.csr`,
    '-CA',
    'ca.crt',
    '-CAkey',
    'ca.key',
    '-CAcreateserial',
    '-out',
    `${file}.crt`,
    '-days',
    '1',
  );
  const b64 = (f: string) => readFileSync(join(dir, f)).toString('base64');
  const kubeconfig = join(dir, `${file}.kubeconfig`);
  writeFileSync(
    kubeconfig,
    `apiVersion: v1
kind: Config
clusters:
- name: test
  cluster:
    server: ${info.server}
    certificate-authority-data: ${b64('ca.crt')}
users:
- name: ${file}
  user:
    client-certificate-data: ${b64(`${file}.crt`)}
    client-key-data: ${b64(`${file}.key`)}
contexts:
- name: test
  context: { cluster: test, user: ${file} }
current-context: test
`,
  );
  return { name, groups, kubeconfig, client: new KubeClient(KubeConnection.load({ path: kubeconfig })) };
}
