-- CreateTable
CREATE TABLE "task_counters" (
    "kb_id" VARCHAR(128) NOT NULL,
    "task_type" "task_type" NOT NULL,
    "priority" "task_priority" NOT NULL,
    "status" "task_status" NOT NULL,
    "count" BIGINT NOT NULL DEFAULT 0,
    "run_ms_sum" BIGINT NOT NULL DEFAULT 0,
    "run_count" BIGINT NOT NULL DEFAULT 0,

    CONSTRAINT "task_counters_pkey" PRIMARY KEY ("kb_id","task_type","priority","status")
);

-- ---------------------------------------------------------------------------------------
-- Hand-written below: Prisma's schema language has no triggers or storage parameters, and
-- its diff ignores them, so they live here only.
-- ---------------------------------------------------------------------------------------

-- Maintained counts, so GET /stats/tasks and the list's pagination.total read a handful of
-- rows per kb instead of counting (and averaging over) all of the kb's tasks on every call.
-- Every writer keeps them: the API, the workers, bulk actions, retention and raw SQL.
--
-- Counter rows are rewritten on every status change; with free space on their page the new
-- version stays on it (a HOT update: no index entry, cleaned up without VACUUM).
ALTER TABLE task_counters SET (fillfactor = 50);

-- A task's contribution to avg_process_time, in whole milliseconds: integers, so adding a
-- task and later subtracting it cancels exactly (float sums would drift over millions of
-- changes), and milliseconds lose nothing, being the precision of the timestamp columns.
-- NULL when the task does not count (not completed, or never started).
CREATE FUNCTION task_run_ms(status task_status, started_at timestamptz, completed_at timestamptz)
RETURNS bigint LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
  SELECT CASE WHEN status = 'completed' THEN round(extract(epoch FROM completed_at - started_at) * 1000)::bigint END
$$;

-- Statement-level, with transition tables: one call and one upsert per statement however
-- many rows it wrote — a worker's `UPDATE … FROM unnest(…)` of 500 tasks touches each
-- counter row once, not 500 times — and a single-row statement pays one small upsert.
-- Deltas are summed per key first (a statement may move tasks into and out of one key), and
-- applied in key order, so two statements that touch the same keys lock them in the same
-- order and wait for each other instead of deadlocking.
-- Rows whose count reaches 0 stay: deleting them would cost a second statement per call, and
-- a key that empties often (a kb's `processing` row) would be deleted and re-inserted over and
-- over. There are at most 6 types × 4 priorities × 5 statuses rows per kb.
CREATE FUNCTION count_task_changes() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP = 'INSERT' THEN
    INSERT INTO task_counters AS c (kb_id, task_type, priority, status, count, run_ms_sum, run_count)
    SELECT kb_id, task_type, priority, status, count(*), coalesce(sum(run_ms), 0), count(run_ms)
    FROM (SELECT kb_id, task_type, priority, status, task_run_ms(status, started_at, completed_at) AS run_ms FROM new_rows) d
    GROUP BY kb_id, task_type, priority, status
    ORDER BY kb_id, task_type, priority, status
    ON CONFLICT (kb_id, task_type, priority, status) DO UPDATE
      SET count = c.count + excluded.count, run_ms_sum = c.run_ms_sum + excluded.run_ms_sum, run_count = c.run_count + excluded.run_count;

  ELSIF TG_OP = 'DELETE' THEN
    INSERT INTO task_counters AS c (kb_id, task_type, priority, status, count, run_ms_sum, run_count)
    SELECT kb_id, task_type, priority, status, -count(*), -coalesce(sum(run_ms), 0), -count(run_ms)
    FROM (SELECT kb_id, task_type, priority, status, task_run_ms(status, started_at, completed_at) AS run_ms FROM old_rows) d
    GROUP BY kb_id, task_type, priority, status
    ORDER BY kb_id, task_type, priority, status
    ON CONFLICT (kb_id, task_type, priority, status) DO UPDATE
      SET count = c.count + excluded.count, run_ms_sum = c.run_ms_sum + excluded.run_ms_sum, run_count = c.run_count + excluded.run_count;

  ELSE
    -- A statement trigger has no WHEN: the join keeps only the rows whose counted columns
    -- changed, so progress reports and other touches write nothing. Each changed task leaves
    -- its old key (-1) and enters its new one (+1); keys whose deltas cancel are skipped.
    INSERT INTO task_counters AS c (kb_id, task_type, priority, status, count, run_ms_sum, run_count)
    SELECT d.kb_id, d.task_type, d.priority, d.status,
           sum(d.delta), coalesce(sum(d.run_ms * d.delta), 0), coalesce(sum(d.delta) FILTER (WHERE d.run_ms IS NOT NULL), 0)
    FROM old_rows o
    JOIN new_rows n ON n.id = o.id
    CROSS JOIN LATERAL (VALUES
      (o.kb_id, o.task_type, o.priority, o.status, -1, task_run_ms(o.status, o.started_at, o.completed_at)),
      (n.kb_id, n.task_type, n.priority, n.status, 1, task_run_ms(n.status, n.started_at, n.completed_at))
    ) AS d (kb_id, task_type, priority, status, delta, run_ms)
    WHERE (o.status, o.kb_id, o.task_type, o.priority, o.started_at, o.completed_at)
          IS DISTINCT FROM (n.status, n.kb_id, n.task_type, n.priority, n.started_at, n.completed_at)
    GROUP BY d.kb_id, d.task_type, d.priority, d.status
    HAVING sum(d.delta) <> 0 OR coalesce(sum(d.run_ms * d.delta), 0) <> 0 OR coalesce(sum(d.delta) FILTER (WHERE d.run_ms IS NOT NULL), 0) <> 0
    ORDER BY d.kb_id, d.task_type, d.priority, d.status
    ON CONFLICT (kb_id, task_type, priority, status) DO UPDATE
      SET count = c.count + excluded.count, run_ms_sum = c.run_ms_sum + excluded.run_ms_sum, run_count = c.run_count + excluded.run_count;
  END IF;
  RETURN NULL;
END $$;

-- Transition tables allow one event per trigger, and no column list on UPDATE (hence the
-- filter inside the function).
CREATE TRIGGER tasks_count_on_insert
  AFTER INSERT ON tasks REFERENCING NEW TABLE AS new_rows
  FOR EACH STATEMENT EXECUTE FUNCTION count_task_changes();

CREATE TRIGGER tasks_count_on_update
  AFTER UPDATE ON tasks REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
  FOR EACH STATEMENT EXECUTE FUNCTION count_task_changes();

CREATE TRIGGER tasks_count_on_delete
  AFTER DELETE ON tasks REFERENCING OLD TABLE AS old_rows
  FOR EACH STATEMENT EXECUTE FUNCTION count_task_changes();

-- TRUNCATE fires no DELETE trigger; without this the counters would outlive the rows.
CREATE FUNCTION reset_task_counters() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  DELETE FROM task_counters;
  RETURN NULL;
END $$;

CREATE TRIGGER tasks_reset_counters_on_truncate
  AFTER TRUNCATE ON tasks FOR EACH STATEMENT EXECUTE FUNCTION reset_task_counters();

-- Backfill after the triggers exist, in this migration's transaction: CREATE TRIGGER holds a
-- lock that makes writers wait until the commit, so every task is counted exactly once —
-- by this snapshot if it committed before, by the triggers if after.
INSERT INTO task_counters (kb_id, task_type, priority, status, count, run_ms_sum, run_count)
SELECT kb_id, task_type, priority, status, count(*),
       coalesce(sum(task_run_ms(status, started_at, completed_at)), 0), count(task_run_ms(status, started_at, completed_at))
FROM tasks
GROUP BY kb_id, task_type, priority, status;
