package core

import "context"

// BulkRepo writes many rows in few statements, for generated data (aegis dev seed and
// the benchmarks built on it). Rows are stored as given: ids, versions and timestamps
// included, so a generator seeded alike writes alike. Each row passes the same
// validation as the one-row write, and the derived state the one-row write keeps (a
// technique's coverage status) is refreshed once per batch instead of once per row.
type BulkRepo interface {
	InsertTests(ctx context.Context, tests []*Test) error
	InsertVotes(ctx context.Context, votes []*Vote) error
}
