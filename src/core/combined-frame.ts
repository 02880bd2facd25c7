/**
 * The combined frame `{"stream":"<name>","data":<payload>}`: how every stream event is delivered to
 * consumers (`StreamMessage.frameBytes`) and forwarded to a gateway's clients, whatever venue it came
 * from. Binance's combined connections send events in exactly this form.
 */

/** The text before the payload in a combined frame: `{"stream":"<name>","data":`. */
export function combinedPrefix(stream: string): string {
  return `{"stream":${JSON.stringify(stream)},"data":`;
}

const CLOSE_BRACE = Buffer.from('}');

/** The combined frame that carries `payload` (JSON text), built from its bytes. */
export function combinedFrame(stream: string, payload: Buffer): Buffer {
  return Buffer.concat([Buffer.from(combinedPrefix(stream)), payload, CLOSE_BRACE]);
}

const CLOSE_BRACE_BYTE = 0x7d;
const WHITESPACE = new Set([0x20, 0x09, 0x0a, 0x0d]);

/**
 * Locates `<payload>` in a combined frame `{"stream":"<name>","data":<payload>}` (trailing whitespace
 * allowed) without copying; undefined when the frame is laid out otherwise (other key order or spacing).
 */
export function sliceData(frame: Buffer, stream: string): Buffer | undefined {
  const prefix = combinedPrefix(stream);
  const start = Buffer.byteLength(prefix);
  if (frame.length <= start || frame.toString('utf8', 0, start) !== prefix) return undefined;
  let end = frame.length - 1;
  while (end > start && WHITESPACE.has(frame[end]!)) end--;
  if (frame[end] !== CLOSE_BRACE_BYTE) return undefined;
  end--;
  while (end >= start && WHITESPACE.has(frame[end]!)) end--;
  return end >= start ? frame.subarray(start, end + 1) : undefined;
}
