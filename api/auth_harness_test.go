package api

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aegis-sec/aegis/api/apitest"
	"github.com/aegis-sec/aegis/core"
	"github.com/aegis-sec/aegis/core/auth"
	"github.com/aegis-sec/aegis/core/config"
	"github.com/aegis-sec/aegis/core/inbox"
	"github.com/aegis-sec/aegis/core/store"
)

// authClock is a clock tests move by hand, so session lifetimes, token expiry and
// throttling windows pass without sleeping.
type authClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *authClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *authClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// authEnv is a server on a real store with a hand-moved clock.
type authEnv struct {
	t     *testing.T
	st    *store.Store
	srv   *Server
	h     http.Handler
	clock *authClock
}

func newAuthEnv(t *testing.T, st *store.Store, a config.Auth) *authEnv {
	t.Helper()
	clock := &authClock{t: time.Now().UTC()}
	srv := New(ServicesFor(st, Deps{Auth: auth.New(st, auth.Policy{SessionTTL: a.SessionTTL, TokenMaxTTL: a.TokenMaxTTL,
		LoginMaxAttempts: a.LoginMaxAttempts, LoginWindow: a.LoginWindow, PasswordMinLength: a.PasswordMinLength}, clock.Now),
		Inbox: inbox.New(st, clock.Now)}))
	return &authEnv{t: t, st: st, srv: srv, h: srv.Handler(), clock: clock}
}

func (e *authEnv) user(name string, role core.Role) *core.User {
	e.t.Helper()
	return apitest.CreateUser(e.t, e.st, name, role, "")
}

func (e *authEnv) login(name string) *apitest.Client {
	e.t.Helper()
	return apitest.Login(e.t, e.h, name, "")
}

func (e *authEnv) anon() *apitest.Client { return apitest.Anonymous(e.t, e.h) }

// audit returns every audit entry, oldest first.
func (e *authEnv) audit() []*core.AuditEntry {
	e.t.Helper()
	var out []*core.AuditEntry
	err := e.st.View(context.Background(), func(tx core.Tx) error {
		list, _, err := tx.ListAudit(context.Background(), core.AuditFilter{Page: core.Page{Limit: 500}})
		for i := len(list) - 1; i >= 0; i-- {
			out = append(out, list[i])
		}
		return err
	})
	if err != nil {
		e.t.Fatal(err)
	}
	return out
}

// auditActions counts the entries per action.
func (e *authEnv) auditActions() map[string]int {
	m := map[string]int{}
	for _, a := range e.audit() {
		m[a.Action]++
	}
	return m
}

// assertNoSecretInAudit fails when any audit entry mentions one of secrets.
func (e *authEnv) assertNoSecretInAudit(secrets ...string) {
	e.t.Helper()
	for _, a := range e.audit() {
		for _, s := range secrets {
			if s != "" && strings.Contains(string(a.Details), s) {
				e.t.Errorf("audit entry %s (%s) holds a secret: %s", a.ID, a.Action, a.Details)
			}
		}
	}
}

// dbString reads one string column with a query written with ? placeholders.
func (e *authEnv) dbStrings(q string, args ...any) []string {
	e.t.Helper()
	var out []string
	if err := e.st.DB().Select(&out, e.st.DB().Rebind(q), args...); err != nil {
		e.t.Fatalf("%s: %v", q, err)
	}
	return out
}

func sha256Hex(s string) string {
	h := sha256.Sum256([]byte(s))
	return hex.EncodeToString(h[:])
}

func ptr[T any](v T) *T { return &v }

func mustUser(t *testing.T, st core.Store, id string) *core.User {
	t.Helper()
	var u *core.User
	if err := st.View(context.Background(), func(tx core.Tx) (err error) {
		u, err = tx.UserByID(context.Background(), id)
		return
	}); err != nil {
		t.Fatal(err)
	}
	return u
}

func mustUpdateUser(t *testing.T, st core.Store, u *core.User) {
	t.Helper()
	if err := st.Update(context.Background(), func(tx core.Tx) error { return tx.UpdateUser(context.Background(), u) }); err != nil {
		t.Fatal(err)
	}
}

func mustUserByName(t *testing.T, st core.Store, name string) *core.User {
	t.Helper()
	var u *core.User
	if err := st.View(context.Background(), func(tx core.Tx) (err error) {
		u, err = tx.UserByUsername(context.Background(), name)
		return
	}); err != nil {
		t.Fatal(err)
	}
	return u
}
