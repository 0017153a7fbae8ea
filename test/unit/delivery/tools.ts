/**
 * The delivery tests' access to their command-line tools (bin/helm, bin/status-check, kubectl, prometheus, promtool,
 * prometheus-blackbox-exporter):
 * a missing tool fails the test with the command that provides it, never skips it.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { parseAllDocuments, parse as parseYaml } from 'yaml';
import type { KubeObject } from '../../../src/runtime/kube-client.ts';
import { REPO_ROOT } from '../../harness/control-plane.ts';

export const CHART_DIR = join(REPO_ROOT, 'charts', 'tenant-operator');

const HOW_TO_GET: Record<string, string> = {
  helm: 'run `make tools` (bash hack/build-tools.sh builds bin/helm from the Go module proxy)',
  promtool: 'run `make tools` (installs the Debian packages of hack/tools/apt-packages.txt)',
  'status-check': 'run `make tools` (bash hack/build-tools.sh builds bin/status-check from hack/tools/status-check)',
  prometheus: 'run `make tools` (installs the Debian packages of hack/tools/apt-packages.txt)',
  'prometheus-blackbox-exporter': 'run `make tools` (installs the Debian packages of hack/tools/apt-packages.txt)',
  kubectl: 'install kubectl >= 1.27 (the machine image ships one; Debian’s kubernetes-client is too old for kustomize v5)',
};

/** Absolute path of a tool: bin/helm and bin/status-check (built by the project), otherwise the first match on PATH. */
export function tool(name: keyof typeof HOW_TO_GET): string {
  if (name === 'helm' || name === 'status-check') {
    const built = join(REPO_ROOT, 'bin', name);
    if (existsSync(built)) return built;
  } else {
    for (const dir of (process.env.PATH ?? '').split(delimiter)) if (dir && existsSync(join(dir, name))) return join(dir, name);
  }
  throw new Error(`${name} is missing: ${HOW_TO_GET[name]}`);
}

/** Runs a tool; a non-zero exit throws with its output, so the failing test shows why. */
export function run(name: keyof typeof HOW_TO_GET, args: string[], env: Record<string, string> = {}, input?: string): string {
  try {
    return execFileSync(tool(name), args, {
      cwd: REPO_ROOT,
      encoding: 'utf8',
      input: input ?? '',
      stdio: ['pipe', 'pipe', 'pipe'],
      env: { ...process.env, ...env },
      maxBuffer: 64 * 1024 * 1024,
    });
  } catch (err) {
    const e = err as Error & { stdout?: string; stderr?: string };
    throw new Error(`${name} ${args.join(' ')} failed:\n${e.stdout ?? ''}${e.stderr ?? e.message}`);
  }
}

/** A scratch directory, with helm's cache, config and data homes in it (tests never touch ~/.cache). */
export function scratch(prefix: string): { dir: string; helmEnv: Record<string, string> } {
  const dir = mkdtempSync(join(tmpdir(), `tenant-operator-${prefix}-`));
  return {
    dir,
    helmEnv: {
      HELM_CACHE_HOME: join(dir, 'helm-cache'),
      HELM_CONFIG_HOME: join(dir, 'helm-config'),
      HELM_DATA_HOME: join(dir, 'helm-data'),
    },
  };
}

export function parseObjects(text: string): KubeObject[] {
  return parseAllDocuments(text)
    .map((d) => d.toJS() as KubeObject | null)
    .filter((o): o is KubeObject => o !== null);
}

export interface HelmRelease {
  release?: string;
  namespace?: string;
  values?: Record<string, unknown>;
}

/** Writes the values as a file (JSON is YAML) and returns helm's `-n`, `-f` arguments for it. */
export function helmArgs(dir: string, o: HelmRelease): string[] {
  const valuesFile = join(dir, `values-${Math.random().toString(36).slice(2, 8)}.json`);
  writeFileSync(valuesFile, JSON.stringify(o.values ?? {}));
  return ['--namespace', o.namespace ?? 'tenant-operator-system', '--values', valuesFile];
}

/** `helm template` of the chart, parsed: one object per rendered document. */
export function helmTemplate(dir: string, helmEnv: Record<string, string>, o: HelmRelease & { includeCrds?: boolean } = {}) {
  const args = ['template', o.release ?? 'tenant-operator', CHART_DIR, ...helmArgs(dir, o)];
  return parseObjects(run('helm', o.includeCrds ? [...args, '--include-crds'] : args, helmEnv));
}

/** The one object of this kind (and name, when given) in a list; throws naming what is there. */
export function find<T = KubeObject>(objects: KubeObject[], kind: string, name?: string): T & KubeObject {
  const match = objects.filter((o) => o.kind === kind && (name === undefined || o.metadata.name === name));
  if (match.length !== 1)
    throw new Error(
      `expected one ${kind}${name ? ` ${name}` : ''}, found ${match.length} among ${objects.map((o) => `${o.kind}/${o.metadata.name}`).join(', ')}`,
    );
  return match[0] as T & KubeObject;
}

/** The rules of every ClusterRole (or Role) in config/rbac, the source the chart must match exactly. */
export function configRbacRules(kind: 'ClusterRole' | 'Role'): unknown[] {
  const dir = join(REPO_ROOT, 'config', 'rbac');
  const { resources } = parseYaml(readFileSync(join(dir, 'kustomization.yaml'), 'utf8')) as { resources: string[] };
  return resources
    .flatMap((file) => parseObjects(readFileSync(join(dir, file), 'utf8')))
    .flatMap((o) => (o.kind === kind ? ((o as KubeObject & { rules?: unknown[] }).rules ?? []) : []));
}

/** What Argo CD or kstatus (Flux) says of one object. */
export interface Verdict {
  status: string;
  message: string;
  /** Set when the evaluator failed (a script error): Argo CD then shows Unknown with it. */
  error?: string;
}

/**
 * Evaluates objects with bin/status-check, in one process for all of them: `kstatus` is
 * cli-utils' status.Compute, `argocd-health` runs `script` as Argo CD does (gopher-lua, no
 * standard libraries). One verdict per object, in order.
 */
export function statusCheck(mode: 'kstatus' | { argocdHealth: string }, objects: readonly unknown[]): Verdict[] {
  const args = mode === 'kstatus' ? ['kstatus'] : ['argocd-health', mode.argocdHealth];
  const verdicts = JSON.parse(run('status-check', args, {}, objects.map((o) => JSON.stringify(o)).join('\n'))) as Verdict[];
  if (verdicts.length !== objects.length)
    throw new Error(`status-check answered ${verdicts.length} verdicts for ${objects.length} objects`);
  return verdicts;
}
