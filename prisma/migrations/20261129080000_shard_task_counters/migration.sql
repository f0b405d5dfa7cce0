-- Hand-written (the shard column and key are also in schema.prisma).
--
-- Counter rows were one per (kb, type, priority, status): every statement that moved tasks
-- of a kb upserted the same few rows, and a row stays locked until its transaction commits
-- (an fsync). Concurrent statements of one kb therefore committed one after another instead
-- of sharing a WAL flush, and at a steady 200 tasks/s — small batches, so many statements —
-- queue latency p99 went from ~200 ms to 0.5–2 s. Each key now has up to 8 rows: a statement
-- adds its deltas to the shard of its own connection (backend pid mod 8), so concurrent
-- connections rarely wait for each other. Readers already sum over the key's rows.
-- The cost: up to 8x the rows for a busy key; a stats read for one kb stays a few hundred rows.

ALTER TABLE task_counters ADD COLUMN "shard" SMALLINT NOT NULL DEFAULT 0;
ALTER TABLE task_counters DROP CONSTRAINT "task_counters_pkey";
ALTER TABLE task_counters ADD CONSTRAINT "task_counters_pkey" PRIMARY KEY ("kb_id", "task_type", "priority", "status", "shard");

-- STABLE: one value per statement; a connection always writes the same shard, so its own
-- statements never wait on each other and two connections collide only when their pids do.
CREATE FUNCTION counter_shard() RETURNS smallint LANGUAGE sql STABLE PARALLEL SAFE AS $$
  SELECT (pg_backend_pid() % 8)::smallint
$$;

CREATE OR REPLACE FUNCTION count_task_changes() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP = 'INSERT' THEN
    INSERT INTO task_counters AS c (kb_id, task_type, priority, status, shard, count, run_ms_sum, run_count)
    SELECT kb_id, task_type, priority, status, counter_shard(), count(*), coalesce(sum(run_ms), 0), count(run_ms)
    FROM (SELECT kb_id, task_type, priority, status, task_run_ms(status, started_at, completed_at) AS run_ms FROM new_rows) d
    GROUP BY kb_id, task_type, priority, status
    ORDER BY kb_id, task_type, priority, status
    ON CONFLICT (kb_id, task_type, priority, status, shard) DO UPDATE
      SET count = c.count + excluded.count, run_ms_sum = c.run_ms_sum + excluded.run_ms_sum, run_count = c.run_count + excluded.run_count;

  ELSIF TG_OP = 'DELETE' THEN
    INSERT INTO task_counters AS c (kb_id, task_type, priority, status, shard, count, run_ms_sum, run_count)
    SELECT kb_id, task_type, priority, status, counter_shard(), -count(*), -coalesce(sum(run_ms), 0), -count(run_ms)
    FROM (SELECT kb_id, task_type, priority, status, task_run_ms(status, started_at, completed_at) AS run_ms FROM old_rows) d
    GROUP BY kb_id, task_type, priority, status
    ORDER BY kb_id, task_type, priority, status
    ON CONFLICT (kb_id, task_type, priority, status, shard) DO UPDATE
      SET count = c.count + excluded.count, run_ms_sum = c.run_ms_sum + excluded.run_ms_sum, run_count = c.run_count + excluded.run_count;

  ELSE
    -- A statement trigger has no WHEN: the join keeps only the rows whose counted columns
    -- changed, so progress reports and other touches write nothing. Each changed task leaves
    -- its old key (-1) and enters its new one (+1); keys whose deltas cancel are skipped.
    INSERT INTO task_counters AS c (kb_id, task_type, priority, status, shard, count, run_ms_sum, run_count)
    SELECT d.kb_id, d.task_type, d.priority, d.status, counter_shard(),
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
    ON CONFLICT (kb_id, task_type, priority, status, shard) DO UPDATE
      SET count = c.count + excluded.count, run_ms_sum = c.run_ms_sum + excluded.run_ms_sum, run_count = c.run_count + excluded.run_count;
  END IF;
  RETURN NULL;
END $$;

