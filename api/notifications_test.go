package api

import (
	"context"
	"net/http"
	"testing"

	"github.com/aegis-sec/aegis/core"
	"github.com/aegis-sec/aegis/core/config"
	"github.com/aegis-sec/aegis/core/store"
	"github.com/aegis-sec/aegis/core/store/storetest"
)

func TestNotificationsAPI(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		e := newAuthEnv(t, st, config.Auth{})
		ann := e.user("ann", core.RoleBlueTech)
		bob := e.user("bob", core.RoleViewer)
		ctx := context.Background()
		if err := st.Update(ctx, func(tx core.Tx) error {
			if err := tx.Notify(ctx, []string{ann.ID, bob.ID}, core.Notification{Kind: "test.blue_evaluating", Title: "T1 waits", EntityType: "test", EntityID: "t1"}); err != nil {
				return err
			}
			return tx.Notify(ctx, []string{ann.ID}, core.Notification{Kind: "test.in_review", Title: "T2 in review"})
		}); err != nil {
			t.Fatal(err)
		}
		a, b := e.login("ann"), e.login("bob")

		var page Paged[*core.Notification]
		a.Want(http.StatusOK, http.MethodGet, "/api/v1/notifications", nil, &page)
		if page.Total != 2 || len(page.Items) != 2 || page.Limit != 50 || page.Offset != 0 {
			t.Fatalf("ann's list: %+v", page)
		}
		for _, n := range page.Items {
			if n.UserID != ann.ID {
				t.Fatalf("ann sees a notification of %s", n.UserID)
			}
		}
		var bobs Paged[*core.Notification]
		b.Want(http.StatusOK, http.MethodGet, "/api/v1/notifications", nil, &bobs)
		if bobs.Total != 1 {
			t.Fatalf("bob's list: %+v", bobs)
		}

		// Someone else's notification is "not found", and stays unread.
		if rec := a.Do(http.MethodPost, "/api/v1/notifications/"+bobs.Items[0].ID+"/read", nil); rec.Code != http.StatusNotFound {
			t.Fatalf("ann marking bob's: %d", rec.Code)
		}
		b.Want(http.StatusOK, http.MethodGet, "/api/v1/notifications?unread=true", nil, &bobs)
		if bobs.Total != 1 {
			t.Fatal("bob's notification was marked by ann")
		}
		if rec := a.Do(http.MethodPost, "/api/v1/notifications/nope/read", nil); rec.Code != http.StatusNotFound {
			t.Fatalf("malformed id: %d", rec.Code)
		}

		a.Want(http.StatusNoContent, http.MethodPost, "/api/v1/notifications/"+page.Items[0].ID+"/read", nil, nil)
		a.Want(http.StatusOK, http.MethodGet, "/api/v1/notifications?unread=true", nil, &page)
		if page.Total != 1 {
			t.Fatalf("unread after one read: %d", page.Total)
		}
		var marked markedRead
		a.Want(http.StatusOK, http.MethodPost, "/api/v1/notifications/read-all", nil, &marked)
		if marked.Marked != 1 {
			t.Fatalf("read-all marked %d, want 1", marked.Marked)
		}
		a.Want(http.StatusOK, http.MethodGet, "/api/v1/notifications?unread=1&limit=1", nil, &page)
		if page.Total != 0 || page.Items == nil || page.Limit != 1 {
			t.Fatalf("after read-all: %+v", page)
		}
		b.Want(http.StatusOK, http.MethodGet, "/api/v1/notifications?unread=true", nil, &bobs)
		if bobs.Total != 1 {
			t.Fatal("ann's read-all marked bob's")
		}
		if rec := a.Do(http.MethodGet, "/api/v1/notifications?unread=perhaps", nil); rec.Code != http.StatusBadRequest {
			t.Fatalf("bad unread filter: %d", rec.Code)
		}
	})
}

func TestPageParams(t *testing.T) {
	st := storetest.Open(t, store.SQLite)
	e := newAuthEnv(t, st, config.Auth{})
	e.user("ann", core.RoleViewer)
	a := e.login("ann")
	var page Paged[*core.Notification]
	a.Want(http.StatusOK, http.MethodGet, "/api/v1/notifications?limit=100000&offset=7", nil, &page)
	if page.Limit != 500 || page.Offset != 7 || page.Items == nil {
		t.Fatalf("an over-large limit is lowered and reported: %+v", page)
	}
	for _, q := range []string{"limit=ten", "offset=-3", "limit=1.5"} {
		rec := a.Do(http.MethodGet, "/api/v1/notifications?"+q, nil)
		if rec.Code != http.StatusBadRequest {
			t.Errorf("?%s: %d, want 400", q, rec.Code)
		}
	}
}
