import { StringDecoder } from 'node:string_decoder';

/**
 * Splits a byte stream into lines as chunks arrive, so a marker is acted on the moment its
 * newline is read. UTF-8 sequences split across chunks are kept whole.
 */
export class LineSplitter {
  private readonly decoder = new StringDecoder('utf8');
  private pending = '';

  /** Feed a chunk; returns the complete lines in it (without their newline). */
  push(chunk: Buffer | string): string[] {
    const text = this.pending + (typeof chunk === 'string' ? chunk : this.decoder.write(chunk));
    const parts = text.split('\n');
    this.pending = parts.pop() ?? '';
    return parts;
  }

  /** The last line when the stream ended without a newline. */
  end(): string[] {
    const rest = this.pending + this.decoder.end();
    this.pending = '';
    return rest ? [rest] : [];
  }
}
