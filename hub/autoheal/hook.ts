// The pool's provider hook: an executable the operator configures. JSON in on stdin, JSON out on
// stdout: {"ok": true, "message": "...", "machineId": "..."}. Bounded in time and output.
import { execa } from 'execa';

export interface HookRequest {
  action: 'reboot' | 'replace';
  pool: string;
  node: { id: string; name: string; addresses: string[]; labels: Record<string, string> };
  /** For replace: the #cloud-config that joins the new machine to the pool. */
  cloudInit?: string;
}

export interface HookResult {
  ok: boolean;
  message: string;
  machineId?: string;
}

export async function runHook(path: string, req: HookRequest, timeoutMs = 120_000): Promise<HookResult> {
  const r = await execa(path, [req.action], { input: JSON.stringify(req), reject: false, timeout: timeoutMs, maxBuffer: 1024 * 1024, stripFinalNewline: true });
  if (r.timedOut) return { ok: false, message: `hook ${path} timed out after ${timeoutMs} ms` };
  if (r.exitCode !== 0) return { ok: false, message: `hook ${path} exited ${r.exitCode ?? r.signal}: ${String(r.stderr).slice(0, 300)}` };
  try {
    const out = JSON.parse(String(r.stdout)) as Partial<HookResult>;
    return { ok: out.ok !== false, message: String(out.message ?? ''), machineId: out.machineId ? String(out.machineId) : undefined };
  } catch {
    return { ok: false, message: `hook ${path} printed no JSON: ${String(r.stdout).slice(0, 200)}` };
  }
}
