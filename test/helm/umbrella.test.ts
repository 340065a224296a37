// helm/multi-eni-with-temporal: the controller chart (file://) and the Temporal chart 1.6.0 in one release. The
// Temporal chart comes from go.temporal.io, which the tests do not reach (loopback only) and which is not vendored:
// helm refuses to render the chart until `helm dependency build` has fetched it. Most tests render the chart's own
// templates, values and examples with the controller chart only (umbrellaWithoutTemporal in support.ts), and check
// the Temporal side against what the Temporal chart does with these values. The last block renders the release
// with the real Temporal chart (a copy of the published 1.6.0 kept on this machine, umbrellaWithTemporal) and
// dry-runs every object against the local apiserver; test/kubelet-temporal.test.ts installs and runs it.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { loadYaml } from '@kubernetes/client-node';
import { REPO_ROOT } from '../../dev/stack/paths.js';
import { readState, type StackState } from '../../dev/stack/stack.js';
import { CHART_DIR, NO_NETWORK, UMBRELLA_DIR, UMBRELLA_EXAMPLES_DIR, chartYaml, envOf, find, helm, kubectl, manifestsYaml, parseManifests, podSpec, umbrellaWithTemporal, umbrellaWithoutTemporal, type K8sObject } from './support.js';

const T = 120000;
const EXAMPLE = path.join(UMBRELLA_EXAMPLES_DIR, 'rds-postgresql.yaml');
let built: string;
let state: StackState;

beforeAll(async () => {
  const s = readState();
  if (!s) throw new Error('no local stack state: the integration global setup should have started it');
  state = s;
  built = await umbrellaWithoutTemporal();
}, T);

afterAll(() => {
  fs.rmSync(path.dirname(built), { recursive: true, force: true });
});

/**
 * The frontend Service name the Temporal chart gives a release, written from its templates (temporal.fullname,
 * then temporal.componentname): the full name is the release name (if it contains the chart name) or
 * <release>-<name>, cut to 63; the component name cuts the full name to 62 - len(component) and appends
 * -<component>. Go's trimSuffix drops one trailing "-".
 */
function temporalServiceName(release: string, component: string, o: { nameOverride?: string; fullnameOverride?: string } = {}): string {
  const cut = (s: string, n: number) => {
    const c = s.slice(0, n);
    return c.endsWith('-') ? c.slice(0, -1) : c;
  };
  const name = o.nameOverride || 'temporal';
  const full = o.fullnameOverride ? cut(o.fullnameOverride, 63) : release.includes(name) ? cut(release, 63) : cut(`${release}-${name}`, 63);
  return `${cut(full, 62 - component.length)}-${component}`;
}

async function renderUmbrella(release: string, args: string[]): Promise<K8sObject[]> {
  const r = await helm(['template', release, built, '--namespace', 'multi-eni', '-f', EXAMPLE, ...args], { env: NO_NETWORK });
  if (r.code !== 0) throw new Error(`helm template ${release} failed (${r.code}): ${r.stderr}`);
  return parseManifests(r.stdout);
}

function addresses(objects: K8sObject[]): string[] {
  return [envOf(find(objects, 'Deployment')).TEMPORAL_ADDRESS!, envOf(find(objects, 'DaemonSet')).TEMPORAL_ADDRESS!];
}

describe('helm/multi-eni-with-temporal from a checkout', () => {
  it('depends on the controller chart of this checkout and on temporal 1.6.0; nothing fetched is committed, and git ignores it', () => {
    expect(chartYaml(UMBRELLA_DIR).dependencies).toEqual([
      { name: 'multi-eni-controller', version: chartYaml(CHART_DIR).version, repository: 'file://../multi-eni-controller' },
      { name: 'temporal', version: '1.6.0', repository: 'https://go.temporal.io/helm-charts' },
    ]);
    const tracked = execFileSync('git', ['-C', REPO_ROOT, 'ls-files', 'helm']).toString().trim().split('\n');
    expect(tracked.filter((f) => f.endsWith('.tgz') || f.includes('/charts/'))).toEqual([]);
    expect(fs.existsSync(path.join(UMBRELLA_DIR, 'charts'))).toBe(false);
    const ignored = execFileSync('git', ['-C', REPO_ROOT, 'check-ignore', 'helm/multi-eni-with-temporal/charts/temporal-1.6.0.tgz', 'helm/multi-eni-with-temporal/charts/multi-eni-controller-0.1.0.tgz'])
      .toString()
      .trim()
      .split('\n');
    expect(ignored).toHaveLength(2);
  });

  it('helm refuses to render it until `helm dependency build` has fetched the Temporal chart (the README step)', async () => {
    const r = await helm(['template', 'rel', UMBRELLA_DIR, '-f', EXAMPLE], { env: NO_NETWORK });
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain('found in Chart.yaml, but missing in charts/ directory: multi-eni-controller, temporal');
  }, T);

  it('without the Temporal chart it builds offline and lints', async () => {
    expect(fs.readdirSync(path.join(built, 'charts'))).toEqual([`multi-eni-controller-${chartYaml(CHART_DIR).version}.tgz`]);
    const lint = await helm(['lint', built, '-f', EXAMPLE], { env: NO_NETWORK });
    expect(lint.code).toBe(0);
    expect(lint.stdout).toContain('1 chart(s) linted, 0 chart(s) failed');
    expect(lint.stdout.split('\n').filter((l) => l.startsWith('[WARNING]') || l.startsWith('[ERROR]'))).toEqual([]);
  }, T);

  it("renders the controller with examples/rds-postgresql.yaml, pointed at this release's Temporal frontend", async () => {
    const objects = await renderUmbrella('multi-eni', []);
    expect(addresses(objects)).toEqual(['multi-eni-temporal-frontend.multi-eni.svc:7233', 'multi-eni-temporal-frontend.multi-eni.svc:7233']);
    expect(envOf(find(objects, 'Deployment')).TEMPORAL_NAMESPACE).toBe('default');
    expect(objects.filter((o) => o.metadata.labels?.['helm.sh/chart']?.startsWith('temporal-'))).toEqual([]);
    // What `helm install` prints: the Web UI Service of the same Temporal.
    const install = await helm(['install', 'multi-eni', built, '--dry-run=client', '--namespace', 'multi-eni', '--kubeconfig', state.kube.kubeconfig, '-f', EXAMPLE], { env: NO_NETWORK });
    expect(install.code).toBe(0);
    const notes = install.stdout.slice(install.stdout.indexOf('NOTES:'));
    expect(notes).toContain('The controller and the node agents connect to multi-eni-temporal-frontend.multi-eni.svc:7233.');
    expect(notes).toContain('kubectl -n multi-eni port-forward svc/multi-eni-temporal-web 8080:8080');
  }, T);

  it.each([
    // The longest release name helm installs (53): <release>-temporal is 62, cut to 54 for "-frontend".
    ['a 53-character release name', 'multi-eni-for-the-eu-west-1-production-cluster-blue-2', {}, (r: string) => `${r}-frontend`],
    // <release>-temporal is 58: the Temporal chart cuts it mid-word, to 54.
    ['a 49-character release name', 'multi-eni-for-the-eu-west-1-production-cluster-01', {}, (r: string) => `${r}-temp-frontend`],
    // The release name contains "temporal": it is the full name.
    ['a 53-character release name containing "temporal"', 'prod-temporal-and-multi-eni-controller-eu-west-1-blue', {}, (r: string) => `${r}-frontend`],
    ['fullnameOverride (63 characters)', 'rel', { fullnameOverride: 'temporal-for-the-multi-eni-controller-of-the-eu-west-1-cluster1' }, () => 'temporal-for-the-multi-eni-controller-of-the-eu-west-1-frontend'],
    ['nameOverride', 'rel', { nameOverride: 'tmprl' }, () => 'rel-tmprl-frontend'],
  ])('%s: the address is the frontend Service the Temporal chart names, a valid DNS label', async (_what, release, o, literal) => {
    const set = Object.entries(o).flatMap(([k, v]) => ['--set', `temporal.${k}=${v}`, '--set', `multi-eni-controller.temporal.${k}=${v}`]);
    const objects = await renderUmbrella(release, set);
    const [ctl, agent] = addresses(objects);
    expect(agent).toBe(ctl);
    const host = ctl!.split('.')[0]!;
    expect(host).toBe(literal(release));
    expect(host).toBe(temporalServiceName(release, 'frontend', o));
    expect(host.length).toBeLessThanOrEqual(63);
    expect(host).toMatch(/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/);
    expect(ctl).toBe(`${host}.multi-eni.svc:7233`);
  }, T);

  it('a frontend port set for the Temporal chart and the controller is the address port', async () => {
    const objects = await renderUmbrella('multi-eni', ['--set', 'temporal.server.frontend.service.port=7300', '--set', 'multi-eni-controller.temporal.server.frontend.service.port=7300']);
    expect(addresses(objects)[0]).toBe('multi-eni-temporal-frontend.multi-eni.svc:7300');
  }, T);

  it.each([
    ['a fullnameOverride only the Temporal chart has', ['--set', 'temporal.fullnameOverride=tmprl'], 'multi-eni-controller.temporal.fullnameOverride: "" differs from temporal.fullnameOverride "tmprl"'],
    ['a nameOverride only the controller has', ['--set', 'multi-eni-controller.temporal.nameOverride=tmprl'], 'multi-eni-controller.temporal.nameOverride: "tmprl" differs from temporal.nameOverride ""'],
    ['a frontend port only the Temporal chart has', ['--set', 'temporal.server.frontend.service.port=7300'], 'multi-eni-controller.temporal.server.frontend.service.port: "7233" differs from temporal.server.frontend.service.port "7300"'],
    [
      'the controller told there is no Temporal in the release',
      ['--set', 'multi-eni-controller.temporal.enabled=false', '--set', 'multi-eni-controller.temporalConnection.address=temporal-frontend.temporal.svc:7233'],
      'multi-eni-controller.temporal.enabled: must be true in this chart',
    ],
    // The controller chart's own refusal comes first here.
    ['no Temporal for the controller at all', ['--set', 'multi-eni-controller.temporal.enabled=false'], 'temporalConnection.address: set the Temporal frontend address (host:port), or install with Temporal'],
  ])('refuses %s, naming the values', async (_what, set, message) => {
    const r = await helm(['template', 'multi-eni', built, '-f', EXAMPLE, ...set], { env: NO_NETWORK });
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain(message);
  }, T);

  it("the example's Temporal stores: RDS over TLS, with host verification set so the schema Jobs connect", () => {
    type Sql = { pluginName: string; connectAddr: string; existingSecret: string; tls?: { enabled?: boolean; enableHostVerification?: boolean; caFile?: string } };
    const values = loadYaml<{ temporal: { server: { config: { persistence: { defaultStore: string; visibilityStore: string; datastores: Record<string, { sql: Sql }> } } } } }>(fs.readFileSync(EXAMPLE, 'utf8'));
    const p = values.temporal.server.config.persistence;
    expect(Object.keys(p.datastores).sort()).toEqual([p.defaultStore, p.visibilityStore].sort());
    for (const [name, { sql }] of Object.entries(p.datastores)) {
      expect({ name, plugin: sql.pluginName, rds: /\.rds\.amazonaws\.com:5432$/.test(sql.connectAddr), secret: sql.existingSecret }).toEqual({ name, plugin: 'postgres12', rds: true, secret: 'temporal-db' });
      // The Temporal chart gives its schema Jobs SQL_TLS=<enabled> and, only when the key is present,
      // SQL_TLS_DISABLE_HOST_VERIFICATION=<not enableHostVerification>. Without the key the tools verify RDS's
      // certificate against roots they lack; verifying needs a caFile.
      expect(sql.tls?.enabled).toBe(true);
      expect(typeof sql.tls?.enableHostVerification).toBe('boolean');
      if (sql.tls?.enableHostVerification) expect(sql.tls.caFile).toMatch(/^\//);
    }
  });
});

describe('helm/multi-eni-with-temporal with the real Temporal chart 1.6.0', () => {
  let withTemporal = '';
  const render = async (release: string, args: string[] = []): Promise<K8sObject[]> => {
    const r = await helm(['template', release, withTemporal, '--namespace', 'multi-eni', '--skip-tests', '-f', EXAMPLE, ...args], { env: NO_NETWORK });
    if (r.code !== 0) throw new Error(`helm template ${release} failed (${r.code}): ${r.stderr}`);
    return parseManifests(r.stdout);
  };
  const named = (objects: K8sObject[], kind: string, name: string) => {
    const o = objects.find((x) => x.kind === kind && x.metadata.name === name);
    if (!o) throw new Error(`no ${kind} ${name} among ${objects.map((x) => `${x.kind}/${x.metadata.name}`).join(', ')}`);
    return o;
  };
  beforeAll(async () => {
    withTemporal = await umbrellaWithTemporal();
  }, T);
  afterAll(() => {
    if (withTemporal) fs.rmSync(path.dirname(withTemporal), { recursive: true, force: true });
  });

  it("renders the whole release: Temporal's services, Jobs and Web UI beside the controller, every client pointed at the same frontend Service", async () => {
    const objects = await render('multi-eni');
    const deployments = objects.filter((o) => o.kind === 'Deployment').map((o) => o.metadata.name).sort();
    expect(deployments).toEqual(['multi-eni-multi-eni-controller-controller', ...['admintools', 'frontend', 'history', 'matching', 'web', 'worker'].map((c) => `multi-eni-temporal-${c}`)].sort());
    expect(objects.filter((o) => o.kind === 'Job').map((o) => o.metadata.name).sort()).toEqual(['multi-eni-temporal-namespace-1-6-0-1', 'multi-eni-temporal-schema']);
    const frontend = named(objects, 'Service', 'multi-eni-temporal-frontend') as K8sObject & { spec: { ports: { name: string; port: number }[] } };
    const port = frontend.spec.ports.find((p) => p.name === 'grpc-rpc')?.port;
    const address = `multi-eni-temporal-frontend.multi-eni.svc:${port}`;
    expect(addresses(objects)).toEqual([address, address]);
    const nsJob = named(objects, 'Job', 'multi-eni-temporal-namespace-1-6-0-1') as K8sObject & { spec: { template: { spec: { initContainers: { env: { name: string; value?: string }[]; args: string[] }[] } } } };
    const create = nsJob.spec.template.spec.initContainers[0]!;
    expect(create.env.find((e) => e.name === 'TEMPORAL_ADDRESS')?.value).toBe(address);
    expect(create.args.join(' ')).toContain('temporal operator namespace create -n default --retention 7d');
    expect(envOf(named(objects, 'Deployment', 'multi-eni-temporal-web')).TEMPORAL_ADDRESS).toBe(address);
    // The example's TLS block reaches the schema tools as the Temporal chart promises.
    const schema = named(objects, 'Job', 'multi-eni-temporal-schema') as K8sObject & { metadata: { annotations: Record<string, string> }; spec: { template: { spec: { initContainers: { name: string; env: { name: string; value?: string }[] }[] } } } };
    expect(schema.metadata.annotations['helm.sh/hook']).toBe('pre-install,pre-upgrade');
    for (const c of schema.spec.template.spec.initContainers) {
      const env = Object.fromEntries(c.env.map((e) => [e.name, e.value]));
      expect({ c: c.name, tls: env.SQL_TLS, noVerify: env.SQL_TLS_DISABLE_HOST_VERIFICATION }).toEqual({ c: c.name, tls: 'true', noVerify: 'true' });
    }
    // 1.31.2 images render their own config template: the umbrella turns the 1.29 shims off, nothing is mounted over them.
    expect(objects.some((o) => o.kind === 'ConfigMap' && o.metadata.name.endsWith('-shims'))).toBe(false);
    const server = podSpec(named(objects, 'Deployment', 'multi-eni-temporal-history'));
    expect(JSON.stringify(server)).not.toContain('dockerize');
    expect((server.containers[0] as { image?: string }).image).toBe('temporalio/server:1.31.2');
  }, T);

  it.each([
    ['a 53-character release name', 'multi-eni-for-the-eu-west-1-production-cluster-blue-2', {}],
    ['a 49-character release name', 'multi-eni-for-the-eu-west-1-production-cluster-01', {}],
    ['a release name containing "temporal"', 'prod-temporal-and-multi-eni-controller-eu-west-1-blue', {}],
    ['fullnameOverride', 'rel', { fullnameOverride: 'temporal-for-the-multi-eni-controller-of-the-eu-west-1-cluster1' }],
    ['nameOverride', 'rel', { nameOverride: 'tmprl' }],
  ])('%s: the controller`s address names a frontend Service the real chart renders', async (_what, release, o) => {
    const set = Object.entries(o).flatMap(([k, v]) => ['--set', `temporal.${k}=${v}`, '--set', `multi-eni-controller.temporal.${k}=${v}`]);
    const objects = await render(release, set);
    const host = addresses(objects)[0]!.split('.')[0]!;
    expect(named(objects, 'Service', host).metadata.labels?.['app.kubernetes.io/component']).toBe('frontend');
  }, T);

  it('every object of the release passes the local apiserver`s validation (server-side dry run)', async () => {
    const objects = await render('multi-eni');
    const ns = `umbrella-dry-${process.pid}`;
    const kc = state.kube.kubeconfig;
    const created = await kubectl(kc, ['create', 'namespace', ns]);
    expect(created.code).toBe(0);
    try {
      // The release's namespace is the scratch one; the few objects the chart puts elsewhere (kube-system, default) keep theirs.
      const elsewhere = objects.filter((o) => o.metadata.namespace && o.metadata.namespace !== 'multi-eni');
      const inRelease = objects.filter((o) => !elsewhere.includes(o)).map((o) => (o.metadata.namespace ? { ...o, metadata: { ...o.metadata, namespace: ns } } : o));
      for (const [set, args] of [
        [inRelease, ['--namespace', ns]],
        [elsewhere, []],
      ] as const) {
        const r = await kubectl(kc, ['apply', '--dry-run=server', ...args, '-f', '-'], { input: manifestsYaml([...set]) });
        expect(r.stderr).toBe('');
        expect(r.code).toBe(0);
        expect(r.stdout.trim().split('\n')).toHaveLength(set.length);
      }
    } finally {
      await kubectl(kc, ['delete', 'namespace', ns, '--wait=false']);
    }
  }, T);
});
