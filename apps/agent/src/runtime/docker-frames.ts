import type { OutputStream } from './types';

/**
 * Docker's multiplexed stream format (logs and exec of a container without a TTY): frames of an
 * 8-byte header — stream type (1 stdout, 2 stderr), three zero bytes, a big-endian uint32 length —
 * followed by that many bytes. Chunks may split headers and payloads anywhere; this keeps the rest.
 */
export class FrameDemuxer {
  private buffered: Buffer = Buffer.alloc(0);

  constructor(private readonly onFrame: (stream: OutputStream, payload: Buffer) => void) {}

  push(chunk: Buffer): void {
    this.buffered = this.buffered.length === 0 ? chunk : Buffer.concat([this.buffered, chunk]);
    while (this.buffered.length >= 8) {
      const size = this.buffered.readUInt32BE(4);
      if (this.buffered.length < 8 + size) return;
      const type = this.buffered[0];
      const payload = this.buffered.subarray(8, 8 + size);
      this.buffered = this.buffered.subarray(8 + size);
      // Type 0 is stdin (never sent by Docker for output); anything but 2 is treated as stdout.
      if (payload.length > 0) this.onFrame(type === 2 ? 'stderr' : 'stdout', payload);
    }
  }
}
