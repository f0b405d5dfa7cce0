-- Hand-written (the columns and key are also in schema.prisma).
--
-- Idempotency keys were global: a key another tenant had used answered 409 (telling that it
-- exists) or, with the same body, replayed that tenant's task. A key now belongs to its
-- caller (API key name, token subject, or `anonymous` without authentication) and its kb.
--
-- Rows stored before this migration get the caller `anonymous` (who sent them is not
-- recorded) and the kb scope of the tasks they created, so without authentication a retry
-- across the upgrade still replays; with authentication such a retry creates anew.

ALTER TABLE idempotency_keys
  ADD COLUMN "caller" VARCHAR(200) NOT NULL DEFAULT 'anonymous',
  ADD COLUMN "kb_scope" VARCHAR(200) NOT NULL DEFAULT '';

-- The same scope the service computes: the kb, or `*` and the SHA-256 of the distinct kbs in
-- code-point order (COLLATE "C", as JavaScript sorts them), joined by commas.
UPDATE idempotency_keys k
SET kb_scope = s.scope
FROM (
  SELECT key,
         CASE WHEN count(*) = 1 THEN min(kb)
              ELSE '*' || encode(sha256(convert_to(string_agg(kb, ',' ORDER BY kb), 'UTF8')), 'hex')
         END AS scope
  FROM (
    SELECT DISTINCT i.key, t.kb_id::text COLLATE "C" AS kb
    FROM idempotency_keys i
    JOIN tasks t ON t.id = ANY (i.task_ids)
  ) d
  GROUP BY key
) s
WHERE s.key = k.key;

ALTER TABLE idempotency_keys ALTER COLUMN "caller" DROP DEFAULT, ALTER COLUMN "kb_scope" DROP DEFAULT;
ALTER TABLE idempotency_keys DROP CONSTRAINT "idempotency_keys_pkey";
ALTER TABLE idempotency_keys ADD CONSTRAINT "idempotency_keys_pkey" PRIMARY KEY ("caller", "kb_scope", "key");
