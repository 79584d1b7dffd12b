// SQLite integrity checks of the hub database: quick_check at every start (b-tree structure, page
// format, record format; linear in the file size), integrity_check (adds index/table agreement and
// UNIQUE constraints) on request (`atoll-hub datastore check`).
import Database from 'better-sqlite3';

export type IntegrityLevel = 'quick' | 'full';

/** The settings key under which the store keeps the pin of the CA it belongs to. */
export const CA_PIN_SETTING = 'hub.caPin';

const MAX_PROBLEMS = 20;

/** What SQLite found wrong, at most 20 lines; [] when the check says ok. */
export function integrityProblems(db: Database.Database, level: IntegrityLevel): string[] {
  let rows: unknown[];
  try {
    rows = db.pragma(`${level === 'full' ? 'integrity_check' : 'quick_check'}(${MAX_PROBLEMS})`) as unknown[];
  } catch (err) {
    // A page bad enough that the check itself cannot walk it.
    if (err instanceof Database.SqliteError && (err.code.startsWith('SQLITE_CORRUPT') || err.code === 'SQLITE_NOTADB'))
      return [err.message];
    throw err;
  }
  const lines = rows.map((r) => String(Object.values(r as Record<string, unknown>)[0]));
  return lines.length === 1 && lines[0] === 'ok' ? [] : lines;
}

export function checkName(level: IntegrityLevel): string {
  return level === 'full' ? 'integrity_check' : 'quick_check';
}

export interface DatabaseReport {
  path: string;
  check: string;
  ok: boolean;
  problems: string[];
  schemaVersion: number | null;
  pages: number | null;
  pageSize: number | null;
  /** The CA pin the store was bound to at its first start (null: not bound yet, or unreadable). */
  caPin: string | null;
}

/** Checks a database file through a read-only connection (safe beside a running hub). */
export function inspectDatabaseFile(path: string, level: IntegrityLevel): DatabaseReport {
  const report: DatabaseReport = {
    path,
    check: checkName(level),
    ok: false,
    problems: [],
    schemaVersion: null,
    pages: null,
    pageSize: null,
    caPin: null,
  };
  let db: Database.Database | undefined;
  try {
    db = new Database(path, { readonly: true, fileMustExist: true });
    db.pragma('busy_timeout = 5000');
    report.problems = integrityProblems(db, level);
    report.pages = Number(db.pragma('page_count', { simple: true }));
    report.pageSize = Number(db.pragma('page_size', { simple: true }));
    const read = <T>(sql: string): T | undefined => {
      try {
        return db!.prepare(sql).pluck().get() as T | undefined;
      } catch {
        return undefined;
      }
    };
    report.schemaVersion = read<number>('SELECT MAX(version) FROM schema_migrations') ?? null;
    const pin = read<string>(`SELECT value FROM settings WHERE key = '${CA_PIN_SETTING}'`);
    report.caPin = pin === undefined ? null : String(JSON.parse(pin));
  } catch (err) {
    report.problems.push((err as Error).message);
  } finally {
    db?.close();
  }
  report.ok = report.problems.length === 0;
  return report;
}
