package api

// Regression tests for the attacks of docs/SECURITY.md (issue 17 and the security
// parts of issue 16). Each test names the attack it replays; each failed before the
// fix it guards.

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/aegis-sec/aegis/api/apitest"
	"github.com/aegis-sec/aegis/core"
	"github.com/aegis-sec/aegis/core/auth"
	"github.com/aegis-sec/aegis/core/config"
	"github.com/aegis-sec/aegis/core/store"
	"github.com/aegis-sec/aegis/core/store/storetest"
)

// metricCount returns the request count /metrics shows for one label set.
func metricCount(t *testing.T, h http.Handler, method, route string, status int) string {
	t.Helper()
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/metrics", nil))
	want := fmt.Sprintf(`aegis_http_request_duration_seconds_count{method=%q,route=%q,status="%d"} `, method, route, status)
	for _, line := range strings.Split(rec.Body.String(), "\n") {
		if v, ok := strings.CutPrefix(line, want); ok {
			return v
		}
	}
	return "0"
}

// Attack: Prometheus labelled every answer status="200" (the metrics middleware read
// the status before the error handler had written it), so 401s, 403s and 500s were
// invisible; the route label must be the route template, not the raw path.
func TestSecurityMetricsLabelRealStatusAndRoute(t *testing.T) {
	st := storetest.Open(t, store.SQLite)
	e := newAuthEnv(t, st, config.Auth{})
	e.user("viewer1", core.RoleViewer)
	viewer := e.login("viewer1")

	e.anon().Do(http.MethodGet, "/api/v1/users", nil)                               // 401
	viewer.Do(http.MethodGet, "/api/v1/users", nil)                                 // 403
	viewer.Do(http.MethodGet, "/api/v1/tests/"+core.NewID(), nil)                   // 404
	viewer.Do(http.MethodGet, "/api/v1/tests/"+core.NewID(), nil)                   // 404 again
	e.anon().Do(http.MethodGet, "/api/v1/no/such/route/"+core.NewID(), nil)         // unmatched
	e.anon().Do(http.MethodPost, "/api/v1/auth/login", map[string]string{"x": "y"}) // 400

	for _, c := range []struct {
		method, route string
		status        int
		want          string
	}{
		{"GET", "/api/v1/users", 401, "1"},
		{"GET", "/api/v1/users", 403, "1"},
		{"GET", "/api/v1/users", 200, "0"},
		{"GET", "/api/v1/tests/:id", 404, "2"},
		{"POST", "/api/v1/auth/login", 400, "1"},
		{"POST", "/api/v1/auth/login", 200, "1"}, // viewer1's sign-in
	} {
		if got := metricCount(t, e.h, c.method, c.route, c.status); got != c.want {
			t.Errorf("%s %s status %d counted %s times, want %s", c.method, c.route, c.status, got, c.want)
		}
	}
	rec := httptest.NewRecorder()
	e.h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/metrics", nil))
	if strings.Contains(rec.Body.String(), "/api/v1/no/such/route") || strings.Contains(rec.Body.String(), `route="/api/v1/tests/`+"0") {
		t.Errorf("a raw path became a label value:\n%s", rec.Body)
	}
}

// Attack: POST /api/v1/tokens with expires_in "0s" made a token that lived a year
// (zero was read as "not given", which means the longest lifetime).
func TestSecurityTokenLifetimeMustBePositive(t *testing.T) {
	st := storetest.Open(t, store.SQLite)
	e := newAuthEnv(t, st, config.Auth{})
	e.user("alice", core.RoleViewer)
	alice := e.login("alice")
	for _, ttl := range []string{"0s", "0", "-1h", "0h0m"} {
		rec := alice.Do(http.MethodPost, "/api/v1/tokens", map[string]string{"name": "t", "scope": "read", "expires_in": ttl})
		if rec.Code != http.StatusBadRequest {
			t.Fatalf("expires_in %q: %d %s, want 400", ttl, rec.Code, rec.Body)
		}
		if p := apitest.ProblemOf(t, rec); p.Field != "expires_in" {
			t.Fatalf("expires_in %q: problem names field %q, want expires_in", ttl, p.Field)
		}
	}
	var list Paged[*core.APIToken]
	alice.Want(http.StatusOK, http.MethodGet, "/api/v1/tokens", nil, &list)
	if list.Total != 0 {
		t.Fatalf("refused requests created %d tokens", list.Total)
	}
}

// loginAudit returns the ip recorded by the last audit entry with action.
func (e *authEnv) lastAuditIP(action string) string {
	e.t.Helper()
	ip := ""
	for _, a := range e.audit() {
		if a.Action == action {
			var d map[string]any
			_ = json.Unmarshal(a.Details, &d)
			ip, _ = d["ip"].(string)
		}
	}
	return ip
}

// Attack: X-Forwarded-For was believed from any loopback or private peer, so a client
// on the same host or network chose its own throttle key (a new address per guess)
// and the address written to the audit log.
func TestSecurityForwardedForOnlyFromTrustedProxies(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		e := newAuthEnv(t, st, config.Auth{LoginMaxAttempts: 3, LoginWindow: time.Minute})
		e.user("alice", core.RoleViewer)
		login := func(h http.Handler, peer, xff, user, pw string) *httptest.ResponseRecorder {
			c := &apitest.Client{T: t, H: h, RemoteAddr: peer, Header: http.Header{"X-Forwarded-For": {xff}}}
			return c.Do(http.MethodPost, "/api/v1/auth/login", map[string]string{"username": user, "password": pw})
		}
		// No trusted proxy: a loopback and a private peer rotating the header are each
		// counted as themselves, and blocked after three guesses.
		for _, peer := range []string{"127.0.0.1:4000", "10.1.2.3:4000"} {
			for i := range 3 {
				login(e.h, peer, fmt.Sprintf("198.51.100.%d", i+1), fmt.Sprintf("nobody%d", i), "guess")
			}
			if rec := login(e.h, peer, "198.51.100.99", "alice", apitest.Password); rec.Code != http.StatusTooManyRequests {
				t.Fatalf("peer %s rotating X-Forwarded-For: %d, want 429 (the header chose the throttle key)", peer, rec.Code)
			}
		}
		login(e.h, "192.0.2.10:1", "203.0.113.50", "alice", apitest.Password)
		if ip := e.lastAuditIP("auth.login"); ip != "192.0.2.10" {
			t.Fatalf("audited ip %q, want the peer 192.0.2.10 (the header is not believed)", ip)
		}

		// A trusted proxy: the right-most address it did not add is the client; what the
		// client itself put in front is ignored.
		_, proxies, _ := net.ParseCIDR("10.9.0.0/16")
		h := New(ServicesFor(st, Deps{Auth: auth.New(st, auth.Policy{LoginMaxAttempts: 3, LoginWindow: time.Minute}, e.clock.Now),
			TrustedProxies: []*net.IPNet{proxies}})).Handler()
		if rec := login(h, "10.9.0.1:1", "1.2.3.4, 203.0.113.7, 10.9.0.2", "alice", apitest.Password); rec.Code != http.StatusOK {
			t.Fatalf("through the proxy: %d %s", rec.Code, rec.Body)
		}
		if ip := e.lastAuditIP("auth.login"); ip != "203.0.113.7" {
			t.Fatalf("audited ip %q through the trusted proxy, want 203.0.113.7", ip)
		}
	})
}

// Attack: signing in to one's own account "VICTIM1" cleared the failures counted for
// the account "victim1" (the throttle folded case, lookup did not), so an attacker
// holding VICTIM1 could guess victim1's password without limit.
func TestSecurityOwnSignInDoesNotResetAnotherAccount(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		e := newAuthEnv(t, st, config.Auth{LoginMaxAttempts: 3, LoginWindow: time.Minute})
		e.user("victim1", core.RoleViewer)
		e.user("VICTIM1", core.RoleViewer)
		guesses := 0
		for round := 0; round < 4; round++ {
			for range 2 {
				// Each guess from a new address: only the account counter can stop them.
				c := &apitest.Client{T: t, H: e.h, RemoteAddr: fmt.Sprintf("198.51.100.%d:1", guesses+1)}
				rec := c.Do(http.MethodPost, "/api/v1/auth/login", map[string]string{"username": "victim1", "password": "guess"})
				if rec.Code == http.StatusTooManyRequests {
					if guesses < 3 {
						t.Fatalf("blocked after %d guesses, limit is 3", guesses)
					}
					return
				}
				guesses++
			}
			e.login("VICTIM1")
		}
		t.Fatalf("%d guesses against victim1 went through with a limit of 3: VICTIM1's sign-in reset them", guesses)
	})
}

// Attack: usernames had no length limit and every failed sign-in stored its
// username as a throttle key: 20 requests wrote 20 MB. An over-long field is now
// refused with 400 before anything is written.
func TestSecurityLoginFieldsBoundedBeforeAnythingIsStored(t *testing.T) {
	st := storetest.Open(t, store.SQLite)
	e := newAuthEnv(t, st, config.Auth{})
	big := strings.Repeat("a", 500_000)
	for _, c := range []struct {
		field string
		body  map[string]string
	}{
		{"username", map[string]string{"username": big, "password": "x"}},
		{"username", map[string]string{"username": strings.Repeat("b", core.MaxUsernameBytes+1), "password": "x"}},
		{"password", map[string]string{"username": "alice", "password": big}},
	} {
		rec := e.anon().Do(http.MethodPost, "/api/v1/auth/login", c.body)
		if p := apitest.ProblemOf(t, rec); rec.Code != http.StatusBadRequest || p.Field != c.field {
			t.Fatalf("over-long %s: %d field %q, want 400 naming %s", c.field, rec.Code, p.Field, c.field)
		}
	}
	err := st.View(context.Background(), func(tx core.Tx) error {
		for _, key := range []string{"user:" + big, "user:alice", "ip:192.0.2.1"} {
			at, err := tx.RecentLoginFailures(context.Background(), key, time.Time{}, 100)
			if err != nil {
				return err
			}
			if len(at) != 0 {
				t.Errorf("refused requests stored %d failures under %.20s...", len(at), key)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}
