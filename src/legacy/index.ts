export { LegacyStreamSource, type LegacyStreamSourceOptions } from './legacy-stream-source.js';
