package main

// Issue 16: the database going away and coming back. A TCP proxy between the server and
// PostgreSQL is cut (every connection closed, new ones refused) and restored.

import (
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aegis-sec/aegis/core/store"
)

// tcpProxy forwards connections to target until it is cut.
type tcpProxy struct {
	ln     net.Listener
	target string

	mu      sync.Mutex
	cut     bool
	stalled bool
	resumed *sync.Cond // broadcast when a stall ends
	conns   map[net.Conn]bool
}

func startProxy(t *testing.T, target string) *tcpProxy {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &tcpProxy{ln: ln, target: target, conns: map[net.Conn]bool{}}
	p.resumed = sync.NewCond(&p.mu)
	t.Cleanup(func() {
		ln.Close()
		p.Restore()
		p.Cut()
	})
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go p.serve(c)
		}
	}()
	return p
}

func (p *tcpProxy) Addr() string { return p.ln.Addr().String() }

func (p *tcpProxy) serve(c net.Conn) {
	p.wait()
	up, err := net.Dial("tcp", p.target)
	if err != nil {
		c.Close()
		return
	}
	p.mu.Lock()
	if p.cut {
		p.mu.Unlock()
		c.Close()
		up.Close()
		return
	}
	p.conns[c], p.conns[up] = true, true
	p.mu.Unlock()
	pipe := func(dst, src net.Conn) {
		buf := make([]byte, 32<<10)
		for {
			n, err := src.Read(buf)
			p.wait()
			if n > 0 {
				if _, werr := dst.Write(buf[:n]); werr != nil {
					break
				}
			}
			if err != nil {
				break
			}
		}
		dst.Close()
		src.Close()
	}
	go pipe(up, c)
	pipe(c, up)
	p.mu.Lock()
	delete(p.conns, c)
	delete(p.conns, up)
	p.mu.Unlock()
}

// Cut closes every forwarded connection and refuses new ones (they are accepted and
// closed at once), as a database that went away.
func (p *tcpProxy) Cut() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.cut = true
	for c := range p.conns {
		c.Close()
	}
}

// Stall stops forwarding without closing anything: bytes and new connections wait,
// as a database host that stopped answering (a network partition).
func (p *tcpProxy) Stall() {
	p.mu.Lock()
	p.stalled = true
	p.mu.Unlock()
}

// wait returns once the proxy is not stalled.
func (p *tcpProxy) wait() {
	p.mu.Lock()
	for p.stalled {
		p.resumed.Wait()
	}
	p.mu.Unlock()
}

// Restore forwards again, new connections and stalled bytes.
func (p *tcpProxy) Restore() {
	p.mu.Lock()
	p.cut, p.stalled = false, false
	p.resumed.Broadcast()
	p.mu.Unlock()
}

// through returns dsn (a postgres:// URL) with its host replaced by addr.
func through(t *testing.T, dsn, addr string) string {
	t.Helper()
	u, err := url.Parse(dsn)
	if err != nil {
		t.Fatal(err)
	}
	u.Host = addr
	return u.String()
}

// PostgreSQL goes away under a running server and comes back: meanwhile /readyz
// answers 503 and API requests (reads, writes, sign-in) answer 503 promptly, as a
// problem document, never 500 and never a hang; once it is back the server serves again
// without a restart, on the sessions it had. The same when it stops answering without
// closing its connections: requests end at server.request_timeout with 503.
func TestDatabaseGoesAwayAndComesBack(t *testing.T) {
	e := newFaultEnv(t, store.Postgres, "")
	u, _ := url.Parse(e.dsn)
	proxy := startProxy(t, u.Host)
	cfg := writeServerConfig(t, t.TempDir(), store.Postgres, through(t, e.dsn, proxy.Addr()), "server {\n  request_timeout = \"2s\"\n}\n")
	base := startServer(t, cfg)
	red := signIn(t, base, "red", faultPassword)
	red.c.Timeout = 20 * time.Second
	write := func() (int, []byte) {
		return red.do(http.MethodPost, "/api/v1/tests", map[string]any{"title": "while the database comes and goes", "technique_id": "T1059"})
	}
	if code, body := write(); code != http.StatusCreated {
		t.Fatalf("a write before the cut: %d %s", code, body)
	}

	proxy.Cut()
	anon := &httpClient{base: base, c: &http.Client{Timeout: 20 * time.Second}}
	checks := []struct {
		name string
		do   func() (int, []byte)
	}{
		{"GET /readyz", func() (int, []byte) { return anon.do(http.MethodGet, "/readyz", nil) }},
		{"GET /api/v1/tests", func() (int, []byte) { return red.do(http.MethodGet, "/api/v1/tests", nil) }},
		{"POST /api/v1/tests", write},
		{"GET /api/v1/auth/me", func() (int, []byte) { return red.do(http.MethodGet, "/api/v1/auth/me", nil) }},
		{"POST /api/v1/auth/login", func() (int, []byte) {
			return anon.do(http.MethodPost, "/api/v1/auth/login", map[string]string{"username": "blue", "password": faultPassword})
		}},
	}
	for _, c := range checks {
		start := time.Now()
		code, body := c.do()
		took := time.Since(start)
		t.Logf("database cut: %s answered %d in %s: %s", c.name, code, took.Round(time.Millisecond), body)
		if code != http.StatusServiceUnavailable || !strings.Contains(string(body), `"code":"unavailable"`) {
			t.Errorf("database cut: %s answered %d %s, want 503 unavailable", c.name, code, body)
		}
	}

	recovered := func(after string) {
		t.Helper()
		deadline := time.Now().Add(15 * time.Second)
		for {
			code, _ := anon.do(http.MethodGet, "/readyz", nil)
			if code == http.StatusOK {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("/readyz still answers %d 15 s after the database came back from %s", code, after)
			}
			time.Sleep(50 * time.Millisecond)
		}
		// The first request after the restore already succeeds: connections broken
		// meanwhile are not handed out again.
		for _, c := range checks[1:] {
			if code, body := c.do(); code/100 != 2 {
				t.Errorf("database back from %s: %s answered %d %s", after, c.name, code, body)
			}
		}
	}
	proxy.Restore()
	recovered("the cut")

	// A database that stops answering without closing anything (a partition): requests
	// wait no longer than server.request_timeout (2 s here) and answer 503; /readyz
	// answers 503 after its own 2 s.
	proxy.Stall()
	for _, c := range checks {
		code, body := c.do()
		t.Logf("database stalled: %s answered %d: %s", c.name, code, body)
		if code != http.StatusServiceUnavailable || !strings.Contains(string(body), `"code":"unavailable"`) {
			t.Errorf("database stalled: %s answered %d %s, want 503 unavailable", c.name, code, body)
		}
	}
	proxy.Restore()
	recovered("the stall")
}
