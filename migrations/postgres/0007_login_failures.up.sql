-- Failed sign-ins per key (an account, a client address) for throttling. Kept in the
-- database so that every instance behind a load balancer counts the same failures.
CREATE TABLE login_failures (
    id              UUID PRIMARY KEY,
    throttle_key    TEXT NOT NULL,
    at              TIMESTAMPTZ NOT NULL
);
CREATE INDEX login_failures_key_idx ON login_failures(throttle_key, at);
CREATE INDEX login_failures_at_idx ON login_failures(at);
