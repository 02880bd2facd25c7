/**
 * Decimal strings the way Binance writes them ("25.35190000"): amounts are kept as integer counts of
 * 10^-8 and formatted by string arithmetic, never through floating point.
 */

/** Binance spot prints prices and quantities with 8 decimals. */
export const DECIMALS = 8;
export const UNIT = 100_000_000;

/** Formats an integer count of 10^-decimals as a fixed-point decimal string. */
export function formatFixed(units: number | bigint, decimals: number = DECIMALS): string {
  let digits = String(units);
  const negative = digits.startsWith('-');
  if (negative) digits = digits.slice(1);
  if (decimals === 0) return (negative ? '-' : '') + digits;
  digits = digits.padStart(decimals + 1, '0');
  const cut = digits.length - decimals;
  return `${negative ? '-' : ''}${digits.slice(0, cut)}.${digits.slice(cut)}`;
}

/** price × quantity, both in 10^-8 units, as 10^-8 units (rounded down). */
export function multiplyUnits(a: number | bigint, b: number | bigint): bigint {
  return (BigInt(a) * BigInt(b)) / BigInt(UNIT);
}

/** (a - b) / b as a percentage with 2 decimals, e.g. "-1.25" (rounded toward zero). */
export function percentChange(current: number, reference: number): string {
  if (reference === 0) return '0.00';
  const hundredths = (BigInt(current - reference) * 10_000n) / BigInt(reference);
  return formatFixed(hundredths, 2);
}
