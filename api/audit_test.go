package api

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/aegis-sec/aegis/api/apitest"
	"github.com/aegis-sec/aegis/core"
	"github.com/aegis-sec/aegis/core/config"
	"github.com/aegis-sec/aegis/core/store"
	"github.com/aegis-sec/aegis/core/store/storetest"
)

// TestAuditAfterRealisticSession drives a day of account work through the API, then
// reads the log back with every filter, verifies the chain, alters one stored entry
// and checks that verification names exactly that entry.
func TestAuditAfterRealisticSession(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		e := newAuthEnv(t, st, config.Auth{})
		root := e.user("root", core.RoleAdmin)
		admin := e.login("root")
		var red, blue userWithPassword
		admin.Want(http.StatusCreated, http.MethodPost, "/api/v1/users", map[string]string{"username": "rlead", "role": "red_lead"}, &red)
		admin.Want(http.StatusCreated, http.MethodPost, "/api/v1/users", map[string]string{"username": "btech", "role": "blue_tech"}, &blue)
		rl := apitest.Login(t, e.h, "rlead", red.Password)
		rl.Want(http.StatusOK, http.MethodPost, "/api/v1/auth/password",
			map[string]string{"current_password": red.Password, "new_password": "red lead's own passphrase"}, nil)
		var tok createdToken
		rl.Want(http.StatusCreated, http.MethodPost, "/api/v1/tokens", map[string]string{"name": "ci", "scope": "read"}, &tok)
		rl.Want(http.StatusNoContent, http.MethodDelete, "/api/v1/tokens/"+tok.ID, nil, nil)
		e.anon().Do(http.MethodPost, "/api/v1/auth/login", map[string]string{"username": "btech", "password": "guess"})
		admin.Want(http.StatusOK, http.MethodPatch, "/api/v1/users/"+blue.User.ID, map[string]string{"display_name": "Blue Tech"}, nil)
		admin.Want(http.StatusOK, http.MethodPost, "/api/v1/users/"+blue.User.ID+"/disable", nil, nil)
		admin.Want(http.StatusOK, http.MethodPost, "/api/v1/users/"+blue.User.ID+"/enable", nil, nil)
		admin.Want(http.StatusOK, http.MethodPost, "/api/v1/users/"+blue.User.ID+"/reset-password", nil, nil)
		rl.Want(http.StatusNoContent, http.MethodPost, "/api/v1/auth/logout", nil, nil)

		wantActions := []string{"auth.login", "user.create", "user.create", "auth.login", "auth.password_change",
			"token.create", "token.revoke", "auth.login_failed", "user.update", "user.disable", "user.enable",
			"user.password_reset", "auth.logout"}
		var got []string
		for _, a := range e.audit() {
			got = append(got, a.Action)
		}
		if strings.Join(got, " ") != strings.Join(wantActions, " ") {
			t.Fatalf("audit trail:\n got %v\nwant %v", got, wantActions)
		}

		list := func(q string) Paged[*core.AuditEntry] {
			t.Helper()
			var p Paged[*core.AuditEntry]
			admin.Want(http.StatusOK, http.MethodGet, "/api/v1/audit"+q, nil, &p)
			return p
		}
		all := list("")
		if all.Total != len(wantActions) || all.Items[0].Action != "auth.logout" {
			t.Fatalf("unfiltered: total %d, newest %q", all.Total, all.Items[0].Action)
		}
		if p := list("?action=user.create"); p.Total != 2 {
			t.Errorf("action filter: %d", p.Total)
		}
		for _, actor := range []string{"root", root.ID} {
			p := list("?actor=" + actor)
			if p.Total != 7 { // login, 2 creates, update, disable, enable, reset
				t.Errorf("actor=%s: %d entries, want 7", actor, p.Total)
			}
			for _, a := range p.Items {
				if a.ActorName != "root" {
					t.Errorf("actor=%s returned an entry by %s", actor, a.ActorName)
				}
			}
		}
		if p := list("?actor=nobody"); p.Total != 0 || p.Items == nil {
			t.Errorf("unknown actor: %+v", p)
		}
		if p := list("?entity_type=user&entity_id=" + blue.User.ID); p.Total != 6 {
			t.Errorf("entity filter: %d entries for btech, want 6 (create, failed login, update, disable, enable, reset)", p.Total)
		}
		if p := list("?entity_type=api_token"); p.Total != 2 {
			t.Errorf("entity_type filter: %d", p.Total)
		}
		future := url.QueryEscape(time.Now().Add(time.Hour).UTC().Format(time.RFC3339))
		past := url.QueryEscape(time.Now().Add(-time.Hour).UTC().Format(time.RFC3339))
		if list("?since="+future).Total != 0 || list("?until="+past).Total != 0 || list("?since="+past+"&until="+future).Total != all.Total {
			t.Error("time filters")
		}
		if p := list("?limit=5&offset=10"); len(p.Items) != 3 || p.Total != 13 || p.Items[0].Seq != all.Items[10].Seq {
			t.Errorf("page: %d items, total %d", len(p.Items), p.Total)
		}
		for _, q := range []string{"?since=yesterday", "?until=2026-13-01T00:00:00Z", "?limit=-1"} {
			if rec := admin.Do(http.MethodGet, "/api/v1/audit"+q, nil); rec.Code != http.StatusBadRequest {
				t.Errorf("GET /audit%s: %d, want 400", q, rec.Code)
			}
		}

		var v core.AuditVerification
		admin.Want(http.StatusOK, http.MethodGet, "/api/v1/audit/verify", nil, &v)
		if !v.OK || v.Checked != len(wantActions) {
			t.Fatalf("verify intact chain: %+v", v)
		}

		// Rewrite history: make the first user.create look like it created someone else.
		var target *core.AuditEntry
		for _, a := range e.audit() {
			if a.Action == "user.create" {
				target = a
				break
			}
		}
		if _, err := st.DB().Exec(st.DB().Rebind(`UPDATE audit_logs SET details = ? WHERE id = ?`),
			`{"username":"mallory","role":"admin"}`, target.ID); err != nil {
			t.Fatal(err)
		}
		admin.Want(http.StatusOK, http.MethodGet, "/api/v1/audit/verify", nil, &v)
		if v.OK || v.BrokenID != target.ID || v.BrokenSeq != target.Seq || v.Reason == "" {
			t.Fatalf("verify after tampering with %s (seq %d): %+v", target.ID, target.Seq, v)
		}
	})
}

// TestAuditIsReadOnly: no route of the table writes to the audit log's path, and the
// methods that would are not routed.
func TestAuditIsReadOnly(t *testing.T) {
	st := storetest.Open(t, store.SQLite)
	e := newAuthEnv(t, st, config.Auth{})
	for _, r := range e.srv.routes() {
		if strings.HasPrefix(r.Path, "/api/v1/audit") && r.Method != http.MethodGet {
			t.Errorf("route %s %s changes the audit log", r.Method, r.Path)
		}
	}
	e.user("root", core.RoleAdmin)
	admin := e.login("root")
	id := e.audit()[0].ID
	for _, m := range []string{http.MethodPost, http.MethodPut, http.MethodPatch, http.MethodDelete} {
		for _, p := range []string{"/api/v1/audit", "/api/v1/audit/" + id} {
			if rec := admin.Do(m, p, map[string]string{}); rec.Code < 400 {
				t.Errorf("%s %s answered %d", m, p, rec.Code)
			}
		}
	}
	if got := len(e.audit()); got != 1 {
		t.Fatalf("audit has %d entries, want the single login", got)
	}
}
