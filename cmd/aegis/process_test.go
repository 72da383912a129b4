package main

// A harness for fault tests that need `aegis serve` in a process of its own, so that
// it can be SIGKILLed and started again: the test binary runs itself as the server
// (TestMain sees envServeChild and runs main with those arguments), which is the
// real binary's code path, main included, without a separate go build.

import (
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// envServeChild holds the arguments (separated by \x1f) of an aegis process that this
// test binary is to be instead of running tests.
const envServeChild = "AEGIS_TEST_AEGIS_ARGS"

func TestMain(m *testing.M) {
	if args := os.Getenv(envServeChild); args != "" {
		os.Args = append([]string{"aegis"}, strings.Split(args, "\x1f")...)
		main()
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// serverProcess is `aegis serve` running in a child process.
type serverProcess struct {
	Base string
	cmd  *exec.Cmd
	log  *syncBuffer
	done chan struct{} // closed once the process has ended
}

// startServerProcess runs `aegis --config cfg serve` in a child process (its working
// folder the config's), with env added to this process's environment, waits until
// /readyz answers 200, and kills it when the test ends.
func startServerProcess(t *testing.T, cfg string, env ...string) *serverProcess {
	t.Helper()
	addr := freePort(t)
	cmd := exec.Command(os.Args[0])
	cmd.Dir = filepath.Dir(cfg)
	cmd.Env = append(append(os.Environ(), env...),
		envServeChild+"="+strings.Join([]string{"--config", cfg, "serve", "--listen", addr}, "\x1f"))
	p := &serverProcess{Base: "http://" + addr, cmd: cmd, log: &syncBuffer{}, done: make(chan struct{})}
	cmd.Stdout, cmd.Stderr = p.log, p.log
	if err := cmd.Start(); err != nil {
		t.Fatalf("start aegis serve: %v", err)
	}
	go func() {
		_ = cmd.Wait() // a killed server's exit status says only that it was killed
		close(p.done)
	}()
	t.Cleanup(func() {
		p.Kill()
		if t.Failed() {
			t.Logf("log of the server process %d:\n%s", cmd.Process.Pid, tail(p.log.String(), 60))
		}
	})
	waitReady(t, p.Base, p.done, func() string {
		select {
		case <-p.done:
			return p.cmd.ProcessState.String() + "\n" + p.log.String()
		default:
			return p.log.String()
		}
	})
	return p
}

// Kill SIGKILLs the server (no shutdown, no deferred work) and waits until it is gone.
func (p *serverProcess) Kill() {
	select {
	case <-p.done:
		return
	default:
	}
	_ = p.cmd.Process.Signal(syscall.SIGKILL)
	<-p.done
}

// Log returns what the server wrote so far.
func (p *serverProcess) Log() string { return p.log.String() }

// waitReady waits until base/readyz answers 200, failing the test with why() if
// exited is closed first (the server ended) or it takes over 30 s.
func waitReady(t *testing.T, base string, exited <-chan struct{}, why func() string) {
	t.Helper()
	for i := 0; i < 600; i++ {
		if resp, err := http.Get(base + "/readyz"); err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return
			}
		}
		select {
		case <-exited:
			t.Fatalf("server ended before it was ready: %s", tail(why(), 60))
		case <-time.After(50 * time.Millisecond):
		}
	}
	t.Fatalf("server never became ready:\n%s", tail(why(), 60))
}
