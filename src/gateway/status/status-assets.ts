/**
 * The status page's files, read once from disk and served from memory: the page, its stylesheet and
 * script (in ./assets, copied next to the compiled code by `npm run build`) and uPlot, served from its
 * npm package. Nothing is fetched from elsewhere, so the page works offline and behind a port-forward.
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import type { HttpResponse } from '../../http/http-response.js';

/**
 * The page loads only its own files and talks only to its own origin; uPlot sizes elements through
 * the CSSOM, which `style-src 'self'` allows.
 */
const SECURITY_HEADERS = {
  'content-security-policy':
    "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self' data:; " +
    "base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
};

interface Asset {
  readonly file: URL | string;
  readonly type: string;
}

const require = createRequire(import.meta.url);
const local = (name: string) => new URL(`./assets/${name}`, import.meta.url);

/** Request path → file. `/` and `/status` both serve the page; its links are relative to `/`. */
const ASSETS: Readonly<Record<string, Asset>> = {
  '/': { file: local('index.html'), type: 'text/html; charset=utf-8' },
  '/status': { file: local('index.html'), type: 'text/html; charset=utf-8' },
  '/status/status.css': { file: local('status.css'), type: 'text/css; charset=utf-8' },
  '/status/status.js': { file: local('status.js'), type: 'text/javascript; charset=utf-8' },
  '/status/uplot.css': {
    file: require.resolve('uplot/dist/uPlot.min.css'),
    type: 'text/css; charset=utf-8',
  },
  '/status/uplot.js': {
    file: require.resolve('uplot/dist/uPlot.iife.min.js'),
    type: 'text/javascript; charset=utf-8',
  },
};

export const STATUS_ASSET_PATHS: readonly string[] = Object.keys(ASSETS);

const loaded = new Map<string, HttpResponse>();

/** The response for an asset path (see STATUS_ASSET_PATHS); files are read on first use. */
export function assetResponse(path: string): HttpResponse {
  let response = loaded.get(path);
  if (response === undefined) {
    const asset = ASSETS[path];
    if (asset === undefined) throw new Error(`no status page asset at ${path}`);
    response = {
      status: 200,
      headers: { 'content-type': asset.type, 'cache-control': 'no-cache', ...SECURITY_HEADERS },
      body: readFileSync(asset.file, 'utf8'),
    };
    loaded.set(path, response);
  }
  return response;
}
