package core_test

import (
	"testing"

	"github.com/aegis-sec/aegis/core"
)

// A parent's status gathers its own and its sub-techniques' as the score roll-up
// does: what is not tested is left out, validated members decide.
func TestRollUpStatus(t *testing.T) {
	const (
		nt = core.StatusNotTested
		ip = core.StatusInProgress
		nc = core.StatusNotCovered
		pa = core.StatusPartial
		co = core.StatusCovered
	)
	for _, c := range []struct {
		members []core.CoverageStatus
		want    core.CoverageStatus
	}{
		{nil, nt},
		{[]core.CoverageStatus{nt, nt, nt}, nt},
		{[]core.CoverageStatus{nt, ip, nt}, ip},
		// The matrix's T1059: no test of its own, two covered sub-techniques.
		{[]core.CoverageStatus{nt, co, co}, co},
		{[]core.CoverageStatus{nt, co, ip}, co},
		{[]core.CoverageStatus{nc, nt, nc, ip}, nc},
		{[]core.CoverageStatus{co, nc}, pa},
		{[]core.CoverageStatus{pa, pa}, pa},
		{[]core.CoverageStatus{co, pa, nt}, pa},
		{[]core.CoverageStatus{nt, nc, pa}, pa},
	} {
		if got := core.RollUpStatus(c.members...); got != c.want {
			t.Errorf("RollUpStatus(%v) = %s, want %s", c.members, got, c.want)
		}
	}
}
