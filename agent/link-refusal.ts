// The hub's answer when it refuses the WebSocket upgrade: an HTTP status and a JSON error body.
import type { IncomingMessage } from 'node:http';

export interface Refusal {
  status: number;
  code: string;
  message: string;
}

const MAX_BODY = 64 * 1024;

export function readRefusal(res: IncomingMessage): Promise<Refusal> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const done = (): void => {
      const status = res.statusCode ?? 0;
      try {
        const e = (JSON.parse(Buffer.concat(chunks).toString()) as { error: { code: string; message: string } }).error;
        resolve({ status, code: String(e.code), message: String(e.message ?? '') });
      } catch {
        resolve({ status, code: `HTTP_${status}`, message: '' });
      }
    };
    res.on('data', (c: Buffer) => {
      size += c.length;
      if (size <= MAX_BODY) chunks.push(c);
    });
    res.on('end', done);
    res.on('error', done);
  });
}
