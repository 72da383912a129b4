//go:build !linux

package detection

// threadCPU is not measured outside Linux: benchmarks report wall-clock figures only.
func threadCPU() (ns int64, ok bool) { return 0, false }
