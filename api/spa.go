package api

import (
	"net/http"
	"strings"

	"github.com/labstack/echo/v4"
	"github.com/labstack/echo/v4/middleware"
)

const notBuiltPage = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Aegis</title></head>
<body style="font-family: system-ui, sans-serif; max-width: 40rem; margin: 4rem auto; line-height: 1.5">
<h1>Aegis is running</h1>
<p>The API answers under <a href="/api/v1/version">/api/v1/version</a>, but the web app has not been built
into this binary.</p>
<p>Build it with <code>make build</code> (which runs <code>npm ci &amp;&amp; npm run build</code> in <code>web/</code>),
then start the server again.</p>
</body></html>`

// mountSPA serves the built SPA with HTML5 fallback (client-side routes get index.html),
// or a page that says how to build it. /api/ paths never fall through to the SPA.
func (s *Server) mountSPA() {
	skipAPI := func(c echo.Context) bool { return strings.HasPrefix(c.Request().URL.Path, "/api/") }
	if s.deps.WebBuilt && s.deps.Web != nil {
		s.echo.Use(middleware.StaticWithConfig(middleware.StaticConfig{
			Root:       ".",
			Filesystem: http.FS(s.deps.Web),
			HTML5:      true,
			Skipper:    skipAPI,
		}))
		return
	}
	s.echo.GET("/", func(c echo.Context) error { return c.HTML(http.StatusOK, notBuiltPage) })
}
