/**
 * Incremental parsers for the two streaming formats providers use: Server-Sent Events (OpenAI,
 * Anthropic) and newline-delimited JSON (Ollama). Both bound the line length and the total bytes.
 */
export class StreamLimitError extends Error {}

export interface StreamLimits {
  maxLineBytes: number;
  maxTotalBytes: number;
}

/** Text lines of a byte stream (LF, CRLF or CR endings), with a final unterminated line if any. */
export async function* lines(body: AsyncIterable<Uint8Array>, limits: StreamLimits): AsyncGenerator<string> {
  const decoder = new TextDecoder('utf-8');
  let buf = '';
  let total = 0;
  let pendingCr = false;
  for await (const chunk of body) {
    total += chunk.byteLength;
    if (total > limits.maxTotalBytes) throw new StreamLimitError(`the response is larger than ${limits.maxTotalBytes} bytes`);
    buf += decoder.decode(chunk, { stream: true });
    let start = 0;
    // The LF of a CRLF split across two chunks.
    if (pendingCr && buf.charCodeAt(0) === 10) start = 1;
    pendingCr = false;
    for (let i = start; i < buf.length; i++) {
      const ch = buf.charCodeAt(i);
      if (ch === 10 || ch === 13) {
        yield buf.slice(start, i);
        if (ch === 13) {
          if (i === buf.length - 1) pendingCr = true;
          else if (buf.charCodeAt(i + 1) === 10) i++;
        }
        start = i + 1;
      }
    }
    buf = buf.slice(start);
    if (buf.length > limits.maxLineBytes) throw new StreamLimitError(`a line of the response is longer than ${limits.maxLineBytes} bytes`);
  }
  buf += decoder.decode();
  if (buf.length > 0) yield buf;
}

export interface SseEvent {
  event: string;
  data: string;
}

/** Server-Sent Events: `event:` and `data:` fields, dispatched on a blank line; comments ignored. */
export async function* sseEvents(body: AsyncIterable<Uint8Array>, limits: StreamLimits): AsyncGenerator<SseEvent> {
  let event = '';
  let data: string[] = [];
  let dataBytes = 0;
  for await (const line of lines(body, limits)) {
    if (line === '') {
      if (data.length > 0) yield { event: event || 'message', data: data.join('\n') };
      event = '';
      data = [];
      dataBytes = 0;
      continue;
    }
    if (line.startsWith(':')) continue;
    const colon = line.indexOf(':');
    const field = colon < 0 ? line : line.slice(0, colon);
    let value = colon < 0 ? '' : line.slice(colon + 1);
    if (value.startsWith(' ')) value = value.slice(1);
    if (field === 'event') event = value;
    else if (field === 'data') {
      dataBytes += value.length;
      if (dataBytes > limits.maxLineBytes) throw new StreamLimitError(`an event of the response is longer than ${limits.maxLineBytes} bytes`);
      data.push(value);
    }
  }
  // A final event without its blank line: the stream was cut, but the event itself may be whole.
  if (data.length > 0) yield { event: event || 'message', data: data.join('\n') };
}

/** Newline-delimited JSON: one parsed value per non-empty line. Throws SyntaxError on a bad line. */
export async function* ndjson(body: AsyncIterable<Uint8Array>, limits: StreamLimits): AsyncGenerator<unknown> {
  for await (const line of lines(body, limits)) {
    if (line.trim() === '') continue;
    yield JSON.parse(line);
  }
}

/** Reads a whole body as text, up to `maxBytes`. */
export async function readText(body: AsyncIterable<Uint8Array>, maxBytes: number): Promise<string> {
  const decoder = new TextDecoder('utf-8');
  let out = '';
  let total = 0;
  for await (const chunk of body) {
    total += chunk.byteLength;
    if (total > maxBytes) throw new StreamLimitError(`the response is larger than ${maxBytes} bytes`);
    out += decoder.decode(chunk, { stream: true });
  }
  return out + decoder.decode();
}
