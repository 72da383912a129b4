package api_test

import (
	"net/http"
	"testing"
	"time"

	"github.com/aegis-sec/aegis/api"
	"github.com/aegis-sec/aegis/api/apitest"
	"github.com/aegis-sec/aegis/core"
	"github.com/aegis-sec/aegis/core/coverage/coveragetest"
	"github.com/aegis-sec/aegis/core/store"
	"github.com/aegis-sec/aegis/core/store/storetest"
)

// The matrix carries an ETag; asked again with it in If-None-Match, the answer is 304
// without a body until a test changes, then 200 with a new tag.
func TestMatrixETag(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		f := coveragetest.Seed(t, st)
		h := api.New(api.ServicesAt(st, func() time.Time { return coveragetest.Now }, api.Deps{})).Handler()
		apitest.CreateUser(t, st, "viewer", core.RoleViewer, "")
		c := apitest.Login(t, h, "viewer", "")
		first := c.Want(http.StatusOK, http.MethodGet, "/api/v1/matrix", nil, nil)
		tag := first.Header().Get("ETag")
		if len(tag) < 10 || first.Header().Get("Cache-Control") != "private, no-cache" || first.Body.Len() == 0 {
			t.Fatalf("first answer: ETag %q, Cache-Control %q, %d bytes", tag, first.Header().Get("Cache-Control"), first.Body.Len())
		}
		c.Header = http.Header{"If-None-Match": {tag}}
		again := c.Want(http.StatusNotModified, http.MethodGet, "/api/v1/matrix", nil, nil)
		if again.Body.Len() != 0 || again.Header().Get("ETag") != tag {
			t.Fatalf("304 with %d bytes and tag %q", again.Body.Len(), again.Header().Get("ETag"))
		}
		c.Header = http.Header{"If-None-Match": {`"other", W/` + tag}}
		c.Want(http.StatusNotModified, http.MethodGet, "/api/v1/matrix", nil, nil)
		f.Update(t, st, "g", func(te *core.Test) {
			at := coveragetest.Day("2026-06-29")
			yes := true
			te.State, te.ValidatedAt, te.Alerted = core.StateValidated, &at, &yes
		})
		c.Header = http.Header{"If-None-Match": {tag}}
		changed := c.Want(http.StatusOK, http.MethodGet, "/api/v1/matrix", nil, nil)
		if nt := changed.Header().Get("ETag"); nt == tag || nt == "" || changed.Body.Len() == 0 {
			t.Fatalf("after a test was validated: tag %q (was %q), %d bytes", nt, tag, changed.Body.Len())
		}
	})
}
