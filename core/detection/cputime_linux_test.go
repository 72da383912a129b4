//go:build linux

package detection

import "syscall"

// threadCPU is the CPU time the calling OS thread has used, so a benchmark that locks
// its goroutine to a thread measures its own work and not the other processes of a
// shared machine (wall-clock ns/op counts the time the thread waited for a core).
func threadCPU() (ns int64, ok bool) {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_THREAD, &ru); err != nil {
		return 0, false
	}
	return ru.Utime.Nano() + ru.Stime.Nano(), true
}
