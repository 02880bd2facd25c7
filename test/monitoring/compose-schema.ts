/**
 * Our own strict schema for monitoring/compose.yml: the part of the Compose file format the kit uses,
 * typed as the Compose Specification defines it, with every object closed so an unknown or misspelled
 * key (`volumez`, `read-only`) is an error instead of being silently ignored by the engine.
 *
 * It is a subset on purpose: anything it accepts is a valid Compose file, but a valid Compose file may
 * use keys or forms it rejects (short volume syntax, `depends_on` conditions, networks, ...). Using one
 * in compose.yml means describing it here first, with the type the specification gives it.
 */
import { z } from 'zod';

/** Top-level `name`: lowercase letters, digits, `-` and `_`, starting with a letter or digit. */
const projectName = z.string().regex(/^[a-z0-9][a-z0-9_-]*$/, 'must be lowercase letters, digits, - or _');
const serviceName = z.string().regex(/^[a-zA-Z0-9._-]+$/, 'must be letters, digits, ., - or _');
const nonEmpty = z.string().min(1);
const absolutePath = z.string().regex(/^\//, 'must be an absolute path in the container');
const port = z.number().int().min(1).max(65535);

/** `build`, long form: the context folder (relative to this file) and the Dockerfile within it. */
const build = z
  .object({
    context: nonEmpty,
    dockerfile: nonEmpty.optional(),
    target: nonEmpty.optional(),
    args: z.record(z.string(), z.union([z.string(), z.number(), z.boolean(), z.null()])).optional(),
  })
  .strict();

/**
 * A volume in long form. The engine accepts these mount types; `source` is required here because every
 * mount the kit uses has one (a tmpfs mount, which has none, would need this relaxed).
 */
export const MOUNT_TYPES = ['bind', 'volume', 'tmpfs', 'npipe', 'cluster', 'image'] as const;
const mount = z
  .object({
    type: z.enum(MOUNT_TYPES),
    source: nonEmpty,
    target: absolutePath,
    read_only: z.boolean().optional(),
    bind: z
      .object({
        create_host_path: z.boolean().optional(),
        propagation: z.enum(['private', 'rprivate', 'shared', 'rshared', 'slave', 'rslave']).optional(),
        selinux: z.enum(['z', 'Z']).optional(),
      })
      .strict()
      .optional(),
  })
  .strict();

/** A port: a container port number, the short `[ip:][host:]container[/protocol]` string, or long form. */
const portRange = String.raw`\d+(?:-\d+)?`;
const hostIp = String.raw`(?:\d{1,3}(?:\.\d{1,3}){3}|\[[0-9a-fA-F:]+\])`;
const shortPort = new RegExp(`^(?:${hostIp}:)?(?:(?:${portRange})?:)?${portRange}(?:/(?:tcp|udp|sctp))?$`);
const portMapping = z.union([
  port,
  z.string().regex(shortPort, 'must be [ip:][host:]container[/protocol]'),
  z
    .object({
      target: port,
      published: z.union([port, z.string().regex(new RegExp(`^${portRange}$`))]).optional(),
      host_ip: nonEmpty.optional(),
      protocol: z.enum(['tcp', 'udp', 'sctp']).optional(),
      mode: z.enum(['host', 'ingress']).optional(),
      name: nonEmpty.optional(),
      app_protocol: nonEmpty.optional(),
    })
    .strict(),
]);

/** `restart`: no, always, unless-stopped, or on-failure with an optional retry limit. */
const restart = z.union([
  z.enum(['no', 'always', 'unless-stopped']),
  z.string().regex(/^on-failure(?::\d+)?$/, 'must be no, always, unless-stopped or on-failure[:retries]'),
]);

const service = z
  .object({
    image: nonEmpty.optional(),
    build: build.optional(),
    container_name: z
      .string()
      .regex(/^[a-zA-Z0-9][a-zA-Z0-9_.-]+$/)
      .optional(),
    // `host`, `none`, `bridge`, `service:<name>`, `container:<id>` or a network's name.
    network_mode: nonEmpty.optional(),
    // Map form: values are strings, numbers or booleans (passed as text), or null to take the host's.
    environment: z.record(nonEmpty, z.union([z.string(), z.number(), z.boolean(), z.null()])).optional(),
    volumes: z.array(mount).optional(),
    // List form (exec form, no shell).
    command: z.array(z.string()).optional(),
    entrypoint: z.array(z.string()).optional(),
    working_dir: absolutePath.optional(),
    user: nonEmpty.optional(),
    // List form: services started first, each named once.
    depends_on: z
      .array(serviceName)
      .refine((names) => new Set(names).size === names.length, 'must not name a service twice')
      .optional(),
    ports: z.array(portMapping).optional(),
    restart: restart.optional(),
  })
  .strict()
  .refine((svc) => svc.image !== undefined || svc.build !== undefined, 'needs an image or a build');

export const composeSchema = z
  .object({
    name: projectName.optional(),
    services: z.record(serviceName, service),
  })
  .strict();

export type ComposeFile = z.infer<typeof composeSchema>;
export type ComposeService = ComposeFile['services'][string];
export type ComposeMount = NonNullable<ComposeService['volumes']>[number];

/** `services.grafana.volumes[1].type`: where an issue is, as a reader of the YAML would look for it. */
export function pathOf(path: ReadonlyArray<PropertyKey>): string {
  return path
    .map((segment, i) =>
      typeof segment === 'number' ? `[${segment}]` : `${i === 0 ? '' : '.'}${String(segment)}`,
    )
    .join('');
}

/** Every problem in a Compose document, one `path: message` line each; empty when it is valid. */
export function composeErrors(document: unknown): string[] {
  const result = composeSchema.safeParse(document);
  if (result.success) return [];
  return result.error.issues.flatMap((issue) =>
    issue.code === 'unrecognized_keys'
      ? issue.keys.map((key) => `${pathOf([...issue.path, key])}: unknown key`)
      : [`${pathOf(issue.path) || '(document)'}: ${issue.message}`],
  );
}
