-- Issuing a big roll's links from the console (issue 18): the run goes on in the background, batch by batch
-- (yishi/services/link_runs.py), so it does not depend on the HTTP request. One row per deliberation: who started
-- the last run, its heartbeat (renewed after each batch: a run whose heartbeat is older than the lease died with
-- its process, and issuing again continues it), and when it finished or failed. The progress itself is the
-- `links` table (owners in scope with a live link), so it survives a crash exactly.
CREATE TABLE link_runs (
    deliberation_id text PRIMARY KEY,
    started_by      text NOT NULL,
    started_at      timestamptz NOT NULL DEFAULT now(),
    heartbeat_at    timestamptz NOT NULL DEFAULT now(),
    finished_at     timestamptz,
    failed_at       timestamptz,
    error           text NOT NULL DEFAULT ''
);
