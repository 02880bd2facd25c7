/** Gateway configuration: the variable table, the loader and the generated help text. */
export { type GatewayConfig, LOG_LEVELS, type LogLevel } from './gateway-config.js';
export { ImplementationDefault } from './implementation-default.js';
export { defaultConfig, loadConfig, resolveConfig } from './load-config.js';
export { configUsage, formatDefault } from './usage.js';
export { VARIABLES, type Variable } from './variables.js';
