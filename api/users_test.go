package api

import (
	"net/http"
	"testing"

	"github.com/aegis-sec/aegis/api/apitest"
	"github.com/aegis-sec/aegis/core"
	"github.com/aegis-sec/aegis/core/config"
	"github.com/aegis-sec/aegis/core/store"
	"github.com/aegis-sec/aegis/core/store/storetest"
)

func TestUsersAdmin(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		e := newAuthEnv(t, st, config.Auth{})
		root := e.user("root", core.RoleAdmin)
		admin := e.login("root")

		var created userWithPassword
		admin.Want(http.StatusCreated, http.MethodPost, "/api/v1/users",
			map[string]string{"username": "carol", "role": "blue_tech", "email": "carol@example.org"}, &created)
		carol := created.User
		if len(created.Password) < 16 || !carol.MustChangePassword || carol.Role != core.RoleBlueTech || carol.Disabled {
			t.Fatalf("created: %+v password %q", carol, created.Password)
		}
		carolC := apitest.Login(t, e.h, "carol", created.Password)

		for _, bad := range []struct {
			body map[string]string
			want int
		}{
			{map[string]string{"username": "dave", "role": "viewer", "password": "short"}, http.StatusBadRequest},
			{map[string]string{"username": "carol", "role": "viewer"}, http.StatusConflict},
			{map[string]string{"username": "dave", "role": "king"}, http.StatusBadRequest},
			{map[string]string{"username": "-x", "role": "viewer"}, http.StatusBadRequest},
			{map[string]string{"username": "dave", "role": "viewer", "email": "not an address"}, http.StatusBadRequest},
		} {
			if rec := admin.Do(http.MethodPost, "/api/v1/users", bad.body); rec.Code != bad.want {
				t.Errorf("create %v: %d, want %d: %s", bad.body, rec.Code, bad.want, rec.Body)
			}
		}
		var withPw userWithPassword
		admin.Want(http.StatusCreated, http.MethodPost, "/api/v1/users",
			map[string]string{"username": "dave", "role": "viewer", "password": "dave's long passphrase"}, &withPw)
		if withPw.Password != "" {
			t.Fatal("a chosen password was echoed back")
		}
		apitest.Login(t, e.h, "dave", "dave's long passphrase")

		// Listing with filters and the page envelope.
		var page Paged[*core.User]
		admin.Want(http.StatusOK, http.MethodGet, "/api/v1/users?role=blue_tech", nil, &page)
		if page.Total != 1 || page.Items[0].Username != "carol" {
			t.Fatalf("role filter: %+v", page)
		}
		admin.Want(http.StatusOK, http.MethodGet, "/api/v1/users?limit=1&offset=1", nil, &page)
		if page.Total != 3 || len(page.Items) != 1 || page.Items[0].Username != "dave" || page.Limit != 1 || page.Offset != 1 {
			t.Fatalf("second page of one: %+v", page)
		}
		for _, q := range []string{"?disabled=maybe", "?role=king", "?limit=x", "?offset=-1"} {
			if rec := admin.Do(http.MethodGet, "/api/v1/users"+q, nil); rec.Code != http.StatusBadRequest {
				t.Errorf("GET /users%s: %d, want 400", q, rec.Code)
			}
		}

		var u core.User
		admin.Want(http.StatusOK, http.MethodGet, "/api/v1/users/"+carol.ID, nil, &u)
		if u.Username != "carol" || u.Email != "carol@example.org" {
			t.Fatalf("get: %+v", u)
		}
		for _, id := range []string{"not-a-uuid", core.NewID()} {
			if rec := admin.Do(http.MethodGet, "/api/v1/users/"+id, nil); rec.Code != http.StatusNotFound {
				t.Errorf("GET /users/%s: %d, want 404", id, rec.Code)
			}
		}

		admin.Want(http.StatusOK, http.MethodPatch, "/api/v1/users/"+carol.ID,
			map[string]string{"role": "blue_lead", "display_name": "Carol C."}, &u)
		if u.Role != core.RoleBlueLead || u.DisplayName != "Carol C." || u.Email != "carol@example.org" {
			t.Fatalf("patched: %+v", u)
		}
		if rec := admin.Do(http.MethodPatch, "/api/v1/users/"+carol.ID, map[string]string{"email": "nope"}); rec.Code != http.StatusBadRequest {
			t.Fatalf("bad email: %d", rec.Code)
		}
		var me sessionInfo
		carolC.Want(http.StatusOK, http.MethodGet, "/api/v1/auth/me", nil, &me)
		if me.User.Role != core.RoleBlueLead {
			t.Fatalf("the new role does not apply to the open session: %s", me.User.Role)
		}

		// Disable ends the sessions and blocks sign-in; enable restores sign-in.
		admin.Want(http.StatusOK, http.MethodPost, "/api/v1/users/"+carol.ID+"/disable", nil, &u)
		if !u.Disabled {
			t.Fatal("not disabled")
		}
		if rec := carolC.Do(http.MethodGet, "/api/v1/auth/me", nil); rec.Code != http.StatusUnauthorized {
			t.Fatalf("disabled user's session: %d", rec.Code)
		}
		login := func(pw string) int {
			return e.anon().Do(http.MethodPost, "/api/v1/auth/login", map[string]string{"username": "carol", "password": pw}).Code
		}
		if code := login(created.Password); code != http.StatusUnauthorized {
			t.Fatalf("disabled user signed in: %d", code)
		}
		admin.Want(http.StatusOK, http.MethodGet, "/api/v1/users?disabled=true", nil, &page)
		if page.Total != 1 || page.Items[0].ID != carol.ID {
			t.Fatalf("disabled filter: %+v", page)
		}
		admin.Want(http.StatusOK, http.MethodPost, "/api/v1/users/"+carol.ID+"/enable", nil, &u)
		if u.Disabled || login(created.Password) != http.StatusOK {
			t.Fatal("enable did not restore sign-in")
		}

		var reset userWithPassword
		admin.Want(http.StatusOK, http.MethodPost, "/api/v1/users/"+carol.ID+"/reset-password", nil, &reset)
		if len(reset.Password) < 16 || !reset.User.MustChangePassword {
			t.Fatalf("reset: %+v", reset)
		}
		if login(created.Password) != http.StatusUnauthorized || login(reset.Password) != http.StatusOK {
			t.Fatal("after reset the old password works or the new one does not")
		}

		// The last enabled administrator cannot demote or disable themselves.
		for _, req := range []struct{ method, path string }{
			{http.MethodPatch, "/api/v1/users/" + root.ID},
			{http.MethodPost, "/api/v1/users/" + root.ID + "/disable"},
		} {
			rec := admin.Do(req.method, req.path, map[string]string{"role": "viewer"})
			if p := apitest.ProblemOf(t, rec); rec.Code != http.StatusConflict || p.Code != core.ECONFLICT {
				t.Fatalf("last admin %s %s: %d %q", req.method, req.path, rec.Code, p.Detail)
			}
		}
		admin.Want(http.StatusOK, http.MethodGet, "/api/v1/auth/me", nil, &me)
		if me.User.Role != core.RoleAdmin || me.User.Disabled {
			t.Fatalf("the refused change happened anyway: %+v", me.User)
		}
		// With a second administrator, stepping down is fine, and then the other one
		// is the last.
		var eve userWithPassword
		admin.Want(http.StatusCreated, http.MethodPost, "/api/v1/users", map[string]string{"username": "eve", "role": "admin"}, &eve)
		eveC := apitest.Login(t, e.h, "eve", eve.Password)
		// An account an administrator made starts with a password to change.
		eveC.Want(http.StatusOK, http.MethodPost, "/api/v1/auth/password",
			map[string]string{"current_password": eve.Password, "new_password": "eve's own long passphrase"}, nil)
		admin.Want(http.StatusOK, http.MethodPatch, "/api/v1/users/"+root.ID, map[string]string{"role": "viewer"}, nil)
		if rec := admin.Do(http.MethodGet, "/api/v1/users", nil); rec.Code != http.StatusForbidden {
			t.Fatalf("demoted admin still lists users: %d", rec.Code)
		}
		if rec := eveC.Do(http.MethodPost, "/api/v1/users/"+eve.User.ID+"/disable", nil); rec.Code != http.StatusConflict {
			t.Fatalf("the new last admin disabled themselves: %d", rec.Code)
		}

		acts := e.auditActions()
		for action, want := range map[string]int{"user.create": 3, "user.update": 2, "user.disable": 1, "user.enable": 1,
			"user.password_reset": 1, "auth.login": 6, "auth.login_failed": 2} {
			if acts[action] != want {
				t.Errorf("audit %s: %d entries, want %d (all: %v)", action, acts[action], want, acts)
			}
		}
		e.assertNoSecretInAudit(created.Password, reset.Password, eve.Password, "dave's long passphrase", apitest.Password)
		// The entries name who did what to whom.
		for _, a := range e.audit() {
			if a.Action == "user.disable" && (a.ActorID == nil || *a.ActorID != root.ID || a.EntityID != carol.ID) {
				t.Errorf("user.disable entry: actor %v entity %s", a.ActorID, a.EntityID)
			}
		}
	})
}
