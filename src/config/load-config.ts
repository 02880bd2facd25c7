/** Resolves the gateway configuration once: environment strings or typed overrides, checked, then frozen. */
import { ConfigError } from '../core/errors.js';
import type { GatewayConfig } from './gateway-config.js';
import { ImplementationDefault } from './implementation-default.js';
import { VARIABLES, type Variable } from './variables.js';

type Mutable<T> = { -readonly [K in keyof T]: T[K] };

/** The defaults as one frozen object (the only place they live is the VARIABLES table). */
export function defaultConfig(): GatewayConfig {
  const config: Partial<Mutable<GatewayConfig>> = {};
  for (const v of VARIABLES) assign(config, v, v.default);
  return Object.freeze(pickDefaults(config));
}

/**
 * Reads every variable from `env` (unset = default), validates it and returns a frozen config. A variable
 * set to the empty string is an error like any other invalid value: an empty METRICS_TOKEN read as unset
 * would silently turn authentication off, so "set" always means "checked".
 * @throws ConfigError whose one-line message names the variable, the value and what is expected.
 */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): GatewayConfig {
  const config: Partial<Mutable<GatewayConfig>> = {};
  for (const v of VARIABLES) {
    const raw = env[v.env];
    if (raw === undefined) {
      assign(config, v, v.default);
      continue;
    }
    const parsed = raw === '' ? undefined : v.fromEnv.safeParse(raw);
    if (!parsed?.success) throw new ConfigError(invalid(v.env, raw, v.expected, v.secret));
    assign(config, v, parsed.data);
  }
  return finish(pickDefaults(config));
}

/**
 * Applies typed overrides over the defaults (what `startGateway({...})` receives), with the same checks.
 * @throws ConfigError naming the option, the value and what is expected.
 */
export function resolveConfig(overrides: Partial<GatewayConfig> = {}): GatewayConfig {
  const config: Partial<Mutable<GatewayConfig>> = {};
  for (const v of VARIABLES) {
    const has = Object.hasOwn(overrides, v.key) && overrides[v.key] !== undefined;
    let value: unknown = has ? overrides[v.key] : v.default;
    if (has) {
      const parsed = v.value.safeParse(value);
      if (!parsed.success) {
        const shown = v.secret && value !== '' ? hidden(String(value)) : JSON.stringify(value);
        throw new ConfigError(`${v.key} (${v.env})=${shown} is not valid: expected ${v.expected}`);
      }
      // The checked value, normalised where the schema does (origins as browsers send them).
      value = parsed.data;
    }
    assign(config, v, value);
  }
  return finish(pickDefaults(config));
}

/** Replaces each per-implementation default left in `config` by the value for the selected implementation. */
function pickDefaults(config: Partial<Mutable<GatewayConfig>>): GatewayConfig {
  const target: Record<string, unknown> = config;
  for (const v of VARIABLES) {
    const value = target[v.key];
    if (value instanceof ImplementationDefault) target[v.key] = value.pick(config.useNewWsManager === true);
  }
  return config as GatewayConfig;
}

function finish(config: GatewayConfig): GatewayConfig {
  if ((config.tlsCertFile === undefined) !== (config.tlsKeyFile === undefined)) {
    const [set, unset] = config.tlsCertFile
      ? ['TLS_CERT_FILE', 'TLS_KEY_FILE']
      : ['TLS_KEY_FILE', 'TLS_CERT_FILE'];
    throw new ConfigError(`${set} is set but ${unset} is not: expected both or neither`);
  }
  checkVenues(config);
  if (config.simulatorSymbols) Object.freeze(config.simulatorSymbols);
  Object.freeze(config.venues);
  if (config.allowedOrigins) Object.freeze(config.allowedOrigins);
  return Object.freeze(config);
}

/** Each venue served besides Binance: its upstream setting and an example of it. */
const OTHER_VENUES = [
  { venue: 'bybit', env: 'BYBIT_URL', key: 'bybitUrl', name: 'a Bybit', example: 'wss://stream.bybit.com' },
  { venue: 'okx', env: 'OKX_URL', key: 'okxUrl', name: 'an OKX', example: 'wss://ws.okx.com:8443' },
] as const;

/** The venues' settings that only make sense together. */
function checkVenues(config: GatewayConfig): void {
  for (const { venue, env, key, name, example } of OTHER_VENUES) {
    if (!config.venues.includes(venue)) {
      if (config[key] !== undefined)
        throw new ConfigError(
          `${env} is set but VENUES does not include ${venue}: expected VENUES=binance,${venue}`,
        );
      continue;
    }
    // In clustered mode both roles read their venues through WSManager or NATS, whatever USE_NEW_WS_MANAGER says.
    if (!config.useNewWsManager && config.natsUrl === undefined)
      throw new ConfigError(
        `VENUES includes ${venue}, which only WSManager serves: expected USE_NEW_WS_MANAGER=true`,
      );
    if (config.upstreamUrl !== undefined && config[key] === undefined)
      throw new ConfigError(
        `VENUES includes ${venue} and UPSTREAM_URL is set but ${env} is not: expected ${name} WebSocket base such as ${example}`,
      );
  }
}

function assign(target: Record<string, unknown>, v: Variable, value: unknown): void {
  target[v.key] = Array.isArray(value) ? [...value] : value;
}

function invalid(name: string, raw: string, expected: string, secret = false): string {
  const shown = raw.length > 200 ? `${raw.slice(0, 200)}…` : raw;
  const value = secret && raw !== '' ? hidden(raw) : JSON.stringify(shown);
  return `${name}=${value} is not valid: expected ${expected}`;
}

/** A credential stays out of logs: only its length and whether it holds whitespace are shown. */
function hidden(raw: string): string {
  const whitespace = /\s/.test(raw) ? ', with whitespace' : '';
  return `(hidden, ${raw.length} characters${whitespace})`;
}
