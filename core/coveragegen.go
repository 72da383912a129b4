package core

import "context"

// CoverageGenerationRepo reads the coverage generation: a number the store raises in
// the transaction of every write to what the unfiltered coverage model reads
// (techniques, tactics, their links, templates and their links, the kept test counts
// and validation cells). While it has not moved, those inputs are what they were. It is
// negative in a transaction that has written one of them itself (nothing to reuse).
type CoverageGenerationRepo interface {
	CoverageGeneration(ctx context.Context) (int64, error)
}
