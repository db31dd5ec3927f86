-- The legacy system's activity table, as the CDC path expects it, and the
-- publication Debezium's pgoutput plugin reads (publication.autocreate.mode
-- = disabled in deploy/debezium/user-activity.json). Idempotent.
CREATE TABLE IF NOT EXISTS user_activity (
  id                 bigserial PRIMARY KEY,
  user_id            bigint        NOT NULL,
  activity_type      text          NOT NULL,
  product_id         numeric(12,0),
  activity_timestamp timestamp     NOT NULL
);
DO $$ BEGIN
  IF NOT EXISTS (SELECT 1 FROM pg_publication WHERE pubname = 'dbz_user_activity') THEN
    CREATE PUBLICATION dbz_user_activity FOR TABLE user_activity;
  END IF;
END $$;
