// A logger that writes what k3s writes: logrus's text format (no TTY) and, for kubelet lines, klog's.
import { logrusValue } from './go-quote.js';
import { rfc3339Local } from './go-time.js';

export type LogLevel = 'debug' | 'info' | 'warning' | 'error' | 'fatal';

export interface Logger {
  debug(msg: string): void;
  info(msg: string): void;
  warn(msg: string): void;
  error(msg: string): void;
  /** Writes a fatal line; the caller then exits 1 (only main exits). */
  fatal(msg: string): void;
  /** A klog line as the embedded kubelet prints it: I1213 10:00:00.000000   1234 file.go:1] "msg" k="v". */
  klog(severity: 'I' | 'W' | 'E', file: string, msg: string, kv?: Readonly<Record<string, string>>): void;
}

export interface Writable {
  write(chunk: string): unknown;
}

export function createLogger(out: Writable, opts: { debug?: boolean; now?: () => Date } = {}): Logger {
  const now = opts.now ?? (() => new Date());
  const line = (level: LogLevel, msg: string): void => {
    if (level === 'debug' && !opts.debug) return;
    out.write(`time="${rfc3339Local(now())}" level=${level} msg=${logrusValue(msg)}\n`);
  };
  return {
    debug: (m) => line('debug', m),
    info: (m) => line('info', m),
    warn: (m) => line('warning', m),
    error: (m) => line('error', m),
    fatal: (m) => line('fatal', m),
    klog(severity, file, msg, kv = {}) {
      const d = now();
      const p = (n: number, w = 2): string => String(n).padStart(w, '0');
      const stamp = `${p(d.getMonth() + 1)}${p(d.getDate())} ${p(d.getHours())}:${p(d.getMinutes())}:${p(d.getSeconds())}.${p(d.getMilliseconds() * 1000, 6)}`;
      const pairs = Object.entries(kv)
        .map(([k, v]) => ` ${k}=${JSON.stringify(v)}`)
        .join('');
      out.write(`${severity}${stamp} ${String(process.pid).padStart(7)} ${file}] ${JSON.stringify(msg)}${pairs}\n`);
    },
  };
}
