-- Leases: who may buy for one need right now (src/coordination/postgres.ts). A row is a lease;
-- it is taken with one INSERT … ON CONFLICT DO UPDATE … WHERE expires_at <= now(), so the
-- database's own clock decides when it lapses. Applied once by the migration runner, which
-- records it in ial_schema_migrations; written to be harmless if run again.
CREATE TABLE IF NOT EXISTS ial_leases (
  key text PRIMARY KEY,
  token text NOT NULL,
  expires_at timestamptz NOT NULL,
  acquired_at timestamptz NOT NULL DEFAULT now()
);

-- the sweep deletes long-expired rows by expires_at
CREATE INDEX IF NOT EXISTS ial_leases_expires_at ON ial_leases (expires_at);
