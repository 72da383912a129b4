package api_test

// Regression tests for issue 16, defect 2: a search could take the server down (a
// 6,000-character search ran a minute; twelve at once made /readyz answer 503 and a
// trivial GET take 55 s). Searches are bounded in size, every request has a deadline
// that reaches the database, and only a few searches run at once.

import (
	"context"
	"database/sql"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/aegis-sec/aegis/api"
	"github.com/aegis-sec/aegis/api/apitest"
	"github.com/aegis-sec/aegis/core"
	"github.com/aegis-sec/aegis/core/store"
	"github.com/aegis-sec/aegis/core/store/storetest"
)

// openShared opens a migrated store of driver and returns it with its DSN, so a test
// can hold locks from a connection of its own, as another process would.
func openShared(t *testing.T, driver string) (*store.Store, string) {
	t.Helper()
	dsn := storetest.DSN(t, driver)
	st, err := store.Open(context.Background(), store.Options{Driver: driver, DSN: dsn})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	if err := st.Migrate(); err != nil {
		t.Fatal(err)
	}
	return st, dsn
}

// locker is a second connection to the database that holds the templates table
// against writers (SQLite: the database's write lock; PostgreSQL: a table lock of
// mode).
type locker struct {
	db   *sql.DB
	conn *sql.Conn
	once sync.Once
}

func holdLock(t *testing.T, driver, dsn, pgMode string) *locker {
	t.Helper()
	name, src := "pgx", dsn
	if driver == store.SQLite {
		name, src = "sqlite", "file:"+dsn+"?_pragma=busy_timeout(10000)"
	}
	db, err := sql.Open(name, src)
	if err != nil {
		t.Fatal(err)
	}
	conn, err := db.Conn(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	l := &locker{db: db, conn: conn}
	t.Cleanup(l.release)
	// Were the deadline gone, the blocked request would wait for ever: the lock ends
	// on its own after a while so the test fails instead of hanging.
	time.AfterFunc(15*time.Second, l.release)
	stmts := []string{"BEGIN IMMEDIATE"}
	if driver == store.Postgres {
		stmts = []string{"BEGIN", "LOCK TABLE test_templates IN " + pgMode + " MODE"}
	}
	for _, q := range stmts {
		if _, err := conn.ExecContext(context.Background(), q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	return l
}

func (l *locker) release() {
	l.once.Do(func() {
		l.conn.ExecContext(context.Background(), "ROLLBACK")
		l.conn.Close()
		l.db.Close()
	})
}

func countRows(t *testing.T, st *store.Store, q string, args ...any) int {
	t.Helper()
	var n int
	if err := st.DB().QueryRowx(st.DB().Rebind(q), args...).Scan(&n); err != nil {
		t.Fatalf("%s: %v", q, err)
	}
	return n
}

func TestSearchIsBounded(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		apitest.CreateUser(t, st, "viewer", core.RoleViewer, "")
		h := api.New(api.ServicesFor(st, api.Deps{})).Handler()
		viewer := apitest.Login(t, h, "viewer", "")
		words := func(n int) string { return strings.TrimSpace(strings.Repeat("w ", n)) }
		for _, c := range []struct {
			search string
			status int
			want   string
		}{
			{strings.Repeat("a", core.MaxSearchBytes+1), http.StatusBadRequest, "the limit is 256 bytes"},
			{strings.Repeat("powershell ", 500), http.StatusBadRequest, "the limit is 256 bytes"},
			{words(core.MaxSearchTerms + 1), http.StatusBadRequest, "the limit is 16 words"},
			{words(core.MaxSearchTerms), http.StatusOK, ""},
			{strings.Repeat("a", core.MaxSearchBytes), http.StatusOK, ""},
			{`"` + words(40) + `"`, http.StatusOK, ""}, // one quoted phrase is one term
		} {
			for _, path := range []string{"/api/v1/templates", "/api/v1/detection-rules", "/api/v1/techniques", "/api/v1/threat-actors"} {
				rec := viewer.Do(http.MethodGet, path+"?search="+url.QueryEscape(c.search), nil)
				if rec.Code != c.status {
					t.Fatalf("%s search of %d bytes: %d %s, want %d", path, len(c.search), rec.Code, rec.Body, c.status)
				}
				if c.status == http.StatusOK {
					continue
				}
				p := apitest.ProblemOf(t, rec)
				if p.Field != "search" || !strings.Contains(p.Detail, c.want) {
					t.Fatalf("%s: problem %+v, want field search and %q", path, p, c.want)
				}
			}
		}
	})
}

// A write that waits on a lock held elsewhere (another process, a long import) is
// stopped at the request deadline with 503 naming server.request_timeout, writes
// nothing, and goes through once the lock is gone.
//
// Only the blocked write runs under the short deadline. Sign-in (an argon2 hash), the
// read beside the lock and the write after it go through a second server on the same
// database with a long deadline: on a loaded machine they took more than 500 ms and
// failed the test for a reason it does not test. What holds the test to the mechanism
// is that the lock would release itself after 15 s (holdLock): a deadline that did not
// reach the database would answer 201 then, not 503, and a read the lock held would
// take those 15 s.
func TestRequestDeadlineReachesTheDatabase(t *testing.T) {
	for _, driver := range []string{store.SQLite, store.Postgres} {
		t.Run(driver, func(t *testing.T) {
			st, dsn := openShared(t, driver)
			apitest.CreateUser(t, st, "redlead", core.RoleRedLead, "")
			h := api.New(api.ServicesFor(st, api.Deps{RequestTimeout: 500 * time.Millisecond})).Handler()
			patient := apitest.Login(t, api.New(api.ServicesFor(st, api.Deps{RequestTimeout: time.Minute})).Handler(), "redlead", "")
			red := *patient
			red.H = h
			body := map[string]any{"name": "Blocked template", "command": "whoami"}
			audits := countRows(t, st, `SELECT COUNT(*) FROM audit_logs`)

			l := holdLock(t, driver, dsn, "SHARE ROW EXCLUSIVE")
			start := time.Now()
			rec := red.Do(http.MethodPost, "/api/v1/templates", body)
			took := time.Since(start)
			if rec.Code != http.StatusServiceUnavailable {
				t.Fatalf("blocked write: %d %s, want 503", rec.Code, rec.Body)
			}
			p := apitest.ProblemOf(t, rec)
			if !strings.Contains(p.Detail, "server.request_timeout") || p.Code != core.EUNAVAILABLE {
				t.Fatalf("problem %+v does not name server.request_timeout", p)
			}
			if took > 10*time.Second {
				t.Fatalf("the blocked write answered after %v; the deadline is 500ms", took)
			}
			// Reads are not held by the writer's lock and answer meanwhile.
			start = time.Now()
			if rec := patient.Do(http.MethodGet, "/api/v1/tactics", nil); rec.Code != http.StatusOK || time.Since(start) > 10*time.Second {
				t.Fatalf("GET /tactics while the write lock is held: %d after %v %s", rec.Code, time.Since(start), rec.Body)
			}
			l.release()

			if n := countRows(t, st, `SELECT COUNT(*) FROM test_templates WHERE name = ?`, "Blocked template"); n != 0 {
				t.Fatalf("the stopped request wrote %d templates", n)
			}
			if n := countRows(t, st, `SELECT COUNT(*) FROM audit_logs`); n != audits {
				t.Fatalf("the stopped request wrote %d audit entries", n-audits)
			}
			patient.Want(http.StatusCreated, http.MethodPost, "/api/v1/templates", body, nil)
			if n := countRows(t, st, `SELECT COUNT(*) FROM test_templates WHERE name = ?`, "Blocked template"); n != 1 {
				t.Fatalf("after the lock was released: %d templates, want 1", n)
			}
		})
	}
}

// Searches that cannot finish (here: held by a lock on the table they read, as a
// slow search would hold its connection) occupy at most SearchConcurrency database
// connections; readiness, sign-in and other reads answer at once meanwhile, and the
// waiting searches all finish when the database frees.
func TestSearchesCannotExhaustThePool(t *testing.T) {
	st, dsn := openShared(t, store.Postgres)
	apitest.CreateUser(t, st, "viewer", core.RoleViewer, "")
	const slots = 2
	srv := api.New(api.ServicesFor(st, api.Deps{SearchConcurrency: slots, RequestTimeout: 30 * time.Second, Ready: st.Ping}))
	h := srv.Handler()
	viewer := apitest.Login(t, h, "viewer", "")

	l := holdLock(t, store.Postgres, dsn, "ACCESS EXCLUSIVE")
	var wg sync.WaitGroup
	codes := make(chan int, 5)
	for i := 0; i < 5; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			codes <- viewer.Do(http.MethodGet, "/api/v1/templates?search=powershell+download", nil).Code
		}()
	}
	admin, err := sql.Open("pgx", dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer admin.Close()
	waiting := func() int {
		var n int
		err := admin.QueryRow(`SELECT COUNT(*) FROM pg_stat_activity
			WHERE datname = current_database() AND wait_event_type = 'Lock' AND query ILIKE '%test_templates%search_doc @@%'`).Scan(&n)
		if err != nil {
			t.Fatal(err)
		}
		return n
	}
	deadline := time.Now().Add(10 * time.Second)
	for waiting() < slots && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	time.Sleep(300 * time.Millisecond) // give a third search the time to get in, were it let through
	if n := waiting(); n != slots {
		t.Fatalf("%d searches are running in the database, want %d (SearchConcurrency)", n, slots)
	}
	for _, path := range []string{"/readyz", "/healthz", "/api/v1/tactics", "/api/v1/auth/me"} {
		start := time.Now()
		rec := viewer.Do(http.MethodGet, path, nil)
		if rec.Code != http.StatusOK || time.Since(start) > 2*time.Second {
			t.Fatalf("GET %s while searches are saturated: %d after %v %s", path, rec.Code, time.Since(start), rec.Body)
		}
	}
	start := time.Now()
	apitest.Login(t, h, "viewer", "")
	if d := time.Since(start); d > 2*time.Second {
		t.Fatalf("sign-in took %v while searches are saturated", d)
	}
	l.release()
	wg.Wait()
	close(codes)
	for c := range codes {
		if c != http.StatusOK {
			t.Fatalf("a search answered %d once the table was free", c)
		}
	}
}

// A client that goes away mid-request (the SPA aborts a fetch when a page navigates
// off) is not a server failure: CI once logged "resolve session: context canceled" as
// a 500 during the browser tests. It answers 499 and logs no error.
func TestClientGoneIsNotAServerError(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		apitest.CreateUser(t, st, "viewer", core.RoleViewer, "")
		var logs strings.Builder
		log := hclog.New(&hclog.LoggerOptions{Output: &logs, Level: hclog.Debug})
		h := api.New(api.ServicesFor(st, api.Deps{Log: log})).Handler()
		viewer := apitest.Login(t, h, "viewer", "")
		for _, path := range []string{"/api/v1/tests", "/api/v1/techniques?search=powershell"} {
			ctx, cancel := context.WithCancel(context.Background())
			cancel()
			req := httptest.NewRequest(http.MethodGet, path, nil).WithContext(ctx)
			req.AddCookie(&http.Cookie{Name: "aegis_session", Value: viewer.Cookie})
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, req)
			if rec.Code != 499 {
				t.Errorf("GET %s with the client gone = %d %s, want 499", path, rec.Code, rec.Body)
			}
		}
		if strings.Contains(logs.String(), "[ERROR]") {
			t.Errorf("a client going away was logged as an error:\n%s", logs.String())
		}
		// The same routes still answer a client that stays.
		viewer.Want(http.StatusOK, http.MethodGet, "/api/v1/tests", nil, nil)
	})
}
