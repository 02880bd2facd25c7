/**
 * Validation of fault-injection arguments, shared by the programmatic API and the HTTP control API (whose
 * 400 responses carry these messages). Unknown keys are rejected so a typo never passes silently.
 */
import { CloseCodes } from '../core/close-codes.js';
import { MAX_TIMER_MS } from '../core/timers.js';
import { integerOption, invalidOption } from './options.js';
import type { DropOptions, MalformedOptions, RefuseStatus, ShutdownOptions } from './types.js';

export interface ResolvedDrop {
  readonly id: string | undefined;
  readonly code: number;
  readonly reason: string;
  readonly abrupt: boolean;
}

export function record(name: string, value: unknown, allowed: readonly string[]): Record<string, unknown> {
  if (value === undefined) return {};
  if (typeof value !== 'object' || value === null || Array.isArray(value))
    invalidOption(name, 'an object', value);
  for (const key of Object.keys(value)) {
    if (!allowed.includes(key)) invalidOption(`${name}.${key}`, `one of the keys ${allowed.join(', ')}`, key);
  }
  return value as Record<string, unknown>;
}

function targetId(name: string, value: unknown): string | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'string' || value === '') invalidOption(`${name}.id`, 'a connection id string', value);
  return value;
}

/** Close codes a server may send (RFC 6455 section 7.4; 1004-1006 and 1015 are reserved). */
export function isSendableCloseCode(code: number): boolean {
  return (
    (code >= 1000 && code <= 1014 && code !== 1004 && code !== 1005 && code !== 1006) ||
    (code >= 3000 && code <= 4999)
  );
}

export function resolveDrop(options: DropOptions | undefined): ResolvedDrop {
  const o = record('drop options', options, ['id', 'code', 'reason', 'abrupt']);
  const code = o['code'] ?? CloseCodes.GOING_AWAY;
  if (typeof code !== 'number' || !Number.isInteger(code) || !isSendableCloseCode(code)) {
    invalidOption('drop options.code', 'a close code from 1000-1003, 1007-1014 or 3000-4999', code);
  }
  const reason = o['reason'] ?? 'Dropped by fault injection';
  if (typeof reason !== 'string' || Buffer.byteLength(reason) > 123) {
    invalidOption('drop options.reason', 'a string of at most 123 bytes', reason);
  }
  const abrupt = o['abrupt'] ?? false;
  if (typeof abrupt !== 'boolean') invalidOption('drop options.abrupt', 'a boolean', abrupt);
  return { id: targetId('drop options', o['id']), code, reason, abrupt };
}

export function resolveTarget(name: string, options: { id?: string } | undefined): string | undefined {
  return targetId(name, record(name, options, ['id'])['id']);
}

export function resolveMalformed(options: MalformedOptions | undefined): {
  id: string | undefined;
  count: number;
} {
  const o = record('malformed options', options, ['id', 'count']);
  return {
    id: targetId('malformed options', o['id']),
    count: integerOption('malformed options.count', o['count'], 1, 10_000, 1),
  };
}

export function resolveShutdown(
  options: ShutdownOptions | undefined,
  defaultCloseAfterMs: number,
): { id: string | undefined; closeAfterMs: number } {
  const o = record('shutdown options', options, ['id', 'closeAfterMs']);
  return {
    id: targetId('shutdown options', o['id']),
    closeAfterMs: integerOption(
      'shutdown options.closeAfterMs',
      o['closeAfterMs'],
      0,
      MAX_TIMER_MS,
      defaultCloseAfterMs,
    ),
  };
}

/** Longest `Retry-After` the simulator sends: Binance's longest documented IP ban, 3 days. */
const MAX_RETRY_AFTER_S = 3 * 24 * 3600;

export function resolveRefuse(
  ms: unknown,
  status: unknown,
  retryAfterS?: unknown,
): { ms: number; status: RefuseStatus; retryAfterS: number | null | undefined } {
  const duration = integerOption('refuse ms', ms, 0, MAX_TIMER_MS);
  const code = status ?? 429;
  if (code !== 429 && code !== 418 && code !== 503) invalidOption('refuse status', '429, 418 or 503', code);
  const seconds =
    retryAfterS === undefined || retryAfterS === null
      ? retryAfterS
      : integerOption('refuse retryAfterS', retryAfterS, 0, MAX_RETRY_AFTER_S);
  return { ms: duration, status: code, retryAfterS: seconds };
}

export function resolveLatency(ms: unknown): number {
  return integerOption('latency ms', ms, 0, 600_000);
}
