/**
 * Static checks of the Dockerfile (no container engine runs here, so `docker build` cannot): two stages,
 * production dependencies only in the runtime stage, a numeric non-root user matching the pod's
 * securityContext, the gateway's port and bind address, and the command `npm start` runs.
 */
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { describe, test } from 'node:test';
import { parse as parseJsonc } from 'yaml';
import { field, findObject, loadManifest, REPO_ROOT, readRepoFile } from './manifest.js';

interface Instruction {
  keyword: string;
  args: string;
}
interface Stage {
  from: string;
  name: string | undefined;
  instructions: Instruction[];
}

/** Splits a Dockerfile into stages of instructions (comments dropped, `\` continuations joined). */
function parseDockerfile(text: string): Stage[] {
  const logical = text
    .replace(/\\\r?\n/g, ' ')
    .split(/\r?\n/)
    .map((line) => line.trim())
    .filter((line) => line !== '' && !line.startsWith('#'));
  const stages: Stage[] = [];
  for (const line of logical) {
    const match = /^(\S+)\s+(.*)$/.exec(line);
    assert.ok(match, `instruction with arguments: ${line}`);
    const keyword = match[1]!.toUpperCase();
    const args = match[2]!.trim();
    if (keyword === 'FROM') {
      const from = /^(\S+)(?:\s+AS\s+(\S+))?$/i.exec(args);
      assert.ok(from, `FROM image [AS name]: ${args}`);
      stages.push({ from: from[1]!, name: from[2], instructions: [] });
      continue;
    }
    const stage = stages.at(-1);
    assert.ok(stage, `${keyword} before any FROM`);
    stage.instructions.push({ keyword, args });
  }
  return stages;
}

function all(stage: Stage, keyword: string): string[] {
  return stage.instructions.filter((i) => i.keyword === keyword).map((i) => i.args);
}

/** Whether .dockerignore lets `path` into the build context (last matching pattern wins). */
function inContext(patterns: readonly string[], path: string): boolean {
  let included = true;
  for (const raw of patterns) {
    const negated = raw.startsWith('!');
    const pattern = (negated ? raw.slice(1) : raw).replace(/\/$/, '');
    const regex = new RegExp(
      `^${pattern.replace(/[.+^${}()|[\]\\]/g, '\\$&').replaceAll('*', '[^/]*')}(/.*)?$`,
    );
    if (regex.test(path)) included = negated;
  }
  return included;
}

const stages = parseDockerfile(readRepoFile('Dockerfile'));
const runtime = stages.at(-1)!;
const build = stages[0]!;
const packageJson = JSON.parse(readRepoFile('package.json')) as {
  scripts: Record<string, string>;
  bin: Record<string, string>;
  engines: { node: string };
};
const objects = loadManifest();
const container = field(findObject(objects, 'Rollout'), 'spec.template.spec.containers.0') as {
  ports: Array<{ name: string; containerPort: number }>;
  image: string;
};
const podSecurity = field(findObject(objects, 'Rollout'), 'spec.template.spec.securityContext') as {
  runAsUser: number;
  runAsGroup: number;
};

describe('Dockerfile', () => {
  test('is multi-stage: a build stage, then a runtime stage, both on one supported LTS line of Node.js', () => {
    assert.equal(stages.length, 2);
    assert.equal(build.name, 'build');
    assert.equal(runtime.name, 'runtime');
    const majors = stages.map((stage) => Number(/^node:(\d+)-slim$/.exec(stage.from)?.[1]));
    assert.equal(new Set(majors).size, 1, stages.map((s) => s.from).join(' | '));
    const major = majors[0]!;
    // Even majors are the LTS lines; 20 reached its end of life in April 2026.
    assert.ok(major % 2 === 0 && major >= 22, `node:${major} is not a supported LTS line`);
    const floor = Number(/(\d+)/.exec(packageJson.engines.node)?.[1]);
    assert.ok(
      floor <= major,
      `engines.node (${packageJson.engines.node}) excludes the image's Node.js ${major}`,
    );
  });

  test("CI runs the runtime tests on the image's Node.js major too", () => {
    const ci = readRepoFile('.ci/run');
    assert.match(ci, /^npm run test:image-node$/m);
    assert.match(packageJson.scripts['test:image-node'] ?? '', /scripts\/test-on-image-node\.sh/);
    // The script reads the major from the Dockerfile, so the image and CI cannot drift apart.
    assert.match(readRepoFile('scripts/test-on-image-node.sh'), /FROM node:.*Dockerfile/);
  });

  test('the build stage installs every dependency and runs the build script', () => {
    const runs = all(build, 'RUN');
    assert.ok(
      runs.some((r) => /^npm ci\b/.test(r) && !r.includes('--omit')),
      runs.join(' | '),
    );
    assert.ok(runs.includes('npm run build'), runs.join(' | '));
    assert.ok(packageJson.scripts['build'], 'package.json has a build script');
  });

  test('the runtime stage has production dependencies only, and dist/ from the build stage', () => {
    const runs = all(runtime, 'RUN').join(' && ');
    assert.match(runs, /npm ci [^&]*--omit=dev/);
    assert.match(runs, /--ignore-scripts/, 'no lifecycle scripts (prepare needs the dev-only compiler)');
    assert.doesNotMatch(runs, /npm (install|i)\b/);
    const copies = all(runtime, 'COPY');
    assert.ok(copies.includes('--from=build /app/dist ./dist'), copies.join(' | '));
    assert.ok(
      !copies.some((c) => c.includes('node_modules')),
      'node_modules (with dev deps) is not copied over',
    );
    assert.ok(!copies.some((c) => /(^|\s)src\b/.test(c)), 'no TypeScript sources in the runtime image');
  });

  test('runs as a numeric non-root user, the one the pod securityContext names', () => {
    const users = all(runtime, 'USER');
    assert.equal(users.length, 1);
    const [uid, gid] = users[0]!.split(':').map(Number);
    assert.ok(uid !== undefined && Number.isInteger(uid) && uid > 0, `numeric non-root uid: ${users[0]}`);
    assert.equal(uid, podSecurity.runAsUser);
    assert.equal(gid, podSecurity.runAsGroup);
    const last = runtime.instructions.at(-1)!;
    assert.equal(last.keyword, 'CMD', 'USER comes before the CMD, nothing runs as root after it');
  });

  test('listens on all interfaces on the port the pod declares', () => {
    const env = all(runtime, 'ENV').join(' ');
    assert.match(env, /\bHOST=0\.0\.0\.0\b/);
    const port = container.ports.find((p) => p.name === 'http')?.containerPort;
    assert.match(env, new RegExp(`\\bPORT=${port}\\b`));
    assert.deepEqual(all(runtime, 'EXPOSE'), [String(port)]);
  });

  test('CMD is exactly what `npm start` runs, in exec form, on the compiled CLI', () => {
    const cmds = all(runtime, 'CMD');
    assert.equal(cmds.length, 1);
    const argv = JSON.parse(cmds[0]!) as string[];
    assert.deepEqual(argv, packageJson.scripts['start']?.split(/\s+/));
    assert.equal(argv[1], packageJson.bin['ws-manager'], 'the bin entry and the CMD run the same file');
    assert.equal(all(runtime, 'ENTRYPOINT').length, 0);
    const tsconfig = parseJsonc(readRepoFile('tsconfig.json')) as { compilerOptions: { outDir: string } };
    const source = argv[1]!
      .replace(new RegExp(`^${tsconfig.compilerOptions.outDir}/`), '')
      .replace(/\.js$/, '.ts');
    assert.ok(existsSync(`${REPO_ROOT}${source}`), `${source} exists (compiles to ${argv[1]})`);
  });

  test('.dockerignore lets in exactly what the build copies', () => {
    const patterns = readRepoFile('.dockerignore')
      .split('\n')
      .map((l) => l.trim())
      .filter((l) => l !== '' && !l.startsWith('#'));
    const sources = stages
      .flatMap((s) => all(s, 'COPY'))
      .filter((c) => !c.startsWith('--from'))
      .flatMap((c) => c.split(/\s+/).slice(0, -1));
    for (const source of sources)
      assert.ok(inContext(patterns, source.replace(/^\.\//, '')), `${source} in context`);
    for (const kept of ['node_modules', 'dist', '.git', 'test', 'monitoring/secrets', 'k8s', 'app.log']) {
      assert.equal(inContext(patterns, kept), false, `${kept} stays out of the build context`);
    }
  });

  test('the image the Rollout runs is the tag the Dockerfile documents building', () => {
    assert.match(
      readRepoFile('Dockerfile'),
      new RegExp(`docker build -t ${container.image.replaceAll('.', '\\.')} \\.`),
    );
  });
});
