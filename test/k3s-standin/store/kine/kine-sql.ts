// The SQL kine runs on PostgreSQL (k3s-io/kine pkg/drivers/pgsql and generic): one append-only table
// `kine`; a write is a new row naming the row it supersedes (prev_revision), and the unique index on
// (name, prev_revision) makes two writers of the same revision collide (compare-and-swap).

export const SCHEMA: readonly string[] = [
  `CREATE TABLE IF NOT EXISTS kine (
    id SERIAL PRIMARY KEY,
    name VARCHAR(630),
    created INTEGER,
    deleted INTEGER,
    create_revision INTEGER,
    prev_revision INTEGER,
    lease INTEGER,
    value BYTEA,
    old_value BYTEA
  )`,
  'CREATE INDEX IF NOT EXISTS kine_name_index ON kine (name)',
  'CREATE INDEX IF NOT EXISTS kine_name_id_index ON kine (name,id)',
  'CREATE INDEX IF NOT EXISTS kine_id_deleted_index ON kine (id,deleted)',
  'CREATE INDEX IF NOT EXISTS kine_prev_revision_index ON kine (prev_revision)',
  'CREATE UNIQUE INDEX IF NOT EXISTS kine_name_prev_revision_uindex ON kine (name, prev_revision)',
];

const COLUMNS = 'id, name, created, deleted, create_revision, prev_revision, lease, value, old_value';

export const CURRENT_REV = 'SELECT COALESCE(MAX(id), 0) AS rev FROM kine';
export const COMPACT_REV = "SELECT COALESCE(MAX(prev_revision), 0) AS rev FROM kine WHERE name = 'compact_rev_key'";

/** The newest row of each name under a prefix that is not a deletion, with the revision it was read at. */
export const LIST_CURRENT = `
  SELECT (${CURRENT_REV}) AS current_rev, maxkv.*
  FROM (
    SELECT DISTINCT ON (name) ${COLUMNS}
    FROM kine WHERE name LIKE $1
    ORDER BY name, id DESC
  ) AS maxkv
  WHERE maxkv.deleted = 0
  ORDER BY maxkv.name`;

/** The newest row of one name, deletions included. */
export const GET_LATEST = `SELECT ${COLUMNS} FROM kine WHERE name = $1 ORDER BY id DESC LIMIT 1`;

/** What the poller reads every second: rows after the last one seen, in id order, in batches. */
export const AFTER = `SELECT ${COLUMNS} FROM kine WHERE id > $1 ORDER BY id ASC LIMIT $2`;

export const INSERT = `
  INSERT INTO kine(name, created, deleted, create_revision, prev_revision, lease, value, old_value)
  SELECT $1, $2, $3, $4, $5, $6, $7, (SELECT value FROM kine WHERE id = $5) AS old_value
  RETURNING id`;

/** A `gap-N` row for an id that a failed insert consumed, so pollers do not wait on it. */
export const FILL = `
  INSERT INTO kine(id, name, created, deleted, create_revision, prev_revision, lease, value, old_value)
  VALUES ($1, 'gap-' || $1::text, 0, 1, 0, 0, 0, NULL, NULL)`;

/** Superseded and deleted rows up to a revision (kine's CompactSQL for PostgreSQL). */
export const COMPACT = `
  DELETE FROM kine AS kv
  USING (
    SELECT kp.prev_revision AS id FROM kine AS kp
    WHERE kp.name != 'compact_rev_key' AND kp.prev_revision != 0 AND kp.id <= $1
    UNION
    SELECT kd.id AS id FROM kine AS kd
    WHERE kd.deleted != 0 AND kd.id <= $1
  ) AS ks
  WHERE kv.id = ks.id`;

export const SET_COMPACT_REV = "UPDATE kine SET prev_revision = $1 WHERE name = 'compact_rev_key'";
export const COMPACT_ROWS = `SELECT ${COLUMNS} FROM kine WHERE name = 'compact_rev_key' ORDER BY id`;
