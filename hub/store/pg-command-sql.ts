// The SQL of the commands table on PostgreSQL (pg-store-impl.ts runs it).
import { sql } from './pg-db.js';

const COMMAND_COLUMNS =
  'id, node_id, action, args, actor, state, created_at, expires_at, sent_count, ok, error_code, message, completed_at';

export const CQ = {
  insert: sql(
    'command_insert',
    `INSERT INTO commands (${COMMAND_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)`,
  ),
  get: sql('command_get', 'SELECT * FROM commands WHERE id = $1'),
  list: sql('command_list', 'SELECT * FROM commands WHERE node_id = $1 ORDER BY created_at DESC, id LIMIT $2'),
  pending: sql(
    'command_pending',
    `SELECT * FROM commands WHERE state = 'pending' AND node_id = $1 AND expires_at > $2 ORDER BY created_at, id`,
  ),
  unsent: sql(
    'command_unsent',
    `SELECT * FROM commands WHERE state = 'pending' AND sent_count = 0 AND expires_at > $1
     AND node_id = ANY($3::text[]) ORDER BY created_at, id LIMIT $2`,
  ),
  markSent: sql('command_sent', 'UPDATE commands SET sent_count = sent_count + 1 WHERE id = $1'),
  complete: sql(
    'command_complete',
    `UPDATE commands SET state = 'done', ok = $1, error_code = $2, message = $3, completed_at = $4
     WHERE id = $5 AND node_id = $6 AND completed_at IS NULL RETURNING *`,
  ),
  expire: sql(
    'command_expire',
    `WITH e AS (UPDATE commands SET state = 'expired' WHERE state = 'pending' AND expires_at <= $1 RETURNING *)
     SELECT * FROM e ORDER BY created_at, id`,
  ),
  cancel: sql('command_cancel', `UPDATE commands SET state = 'expired' WHERE id = $1 AND state = 'pending'`),
};
