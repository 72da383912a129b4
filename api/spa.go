package api

import (
	"bytes"
	"errors"
	"io"
	"io/fs"
	"net/http"
	"path"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/aegis-sec/aegis/core"
)

const notBuiltPage = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Aegis</title></head>
<body>
<h1>Aegis is running</h1>
<p>The API answers under <a href="/api/v1/version">/api/v1/version</a>, but the web app has not been built
into this binary.</p>
<p>Build it with <code>make build</code> (which runs <code>npm ci &amp;&amp; npm run build</code> in <code>web/</code>),
then start the server again.</p>
</body></html>`

// Cache lifetimes: Vite names every file under assets/ by its content hash, so a file
// there never changes and may be cached for a year; index.html names the current
// hashes and must be revalidated on every load, or a deploy would leave browsers on
// the old build.
const (
	cacheHashed = "public, max-age=31536000, immutable"
	cacheIndex  = "no-cache"
	cacheOther  = "public, max-age=3600"
)

// mountSPA serves the built SPA: files as they are, client-side routes (paths without a
// file extension) as index.html. The security headers are securityHeaders' (the same on
// every answer: the SPA once set its own, with a laxer Referrer-Policy). /api/ paths
// never fall through to the SPA, and a missing hashed asset is a 404, not index.html (a
// browser holding a stale page must not run HTML as a script).
func (s *Server) mountSPA() {
	if !s.deps.WebBuilt || s.deps.Web == nil {
		s.echo.GET("/", func(c echo.Context) error { return c.HTML(http.StatusOK, notBuiltPage) })
		return
	}
	web := s.deps.Web
	index, err := fs.ReadFile(web, "index.html")
	if err != nil {
		panic("api: web build without index.html: " + err.Error()) // WebBuilt promised it
	}
	started := time.Now()
	serveIndex := func(c echo.Context) error {
		h := c.Response().Header()
		h.Set(echo.HeaderCacheControl, cacheIndex)
		http.ServeContent(c.Response(), c.Request(), "index.html", started, bytes.NewReader(index))
		return nil
	}
	handler := func(c echo.Context) error {
		p := c.Request().URL.Path
		if strings.HasPrefix(p, "/api/") {
			return core.Errorf(core.ENOTFOUND, "no route %s %s", c.Request().Method, p)
		}
		name := strings.TrimPrefix(path.Clean("/"+p), "/")
		if name == "" || name == "index.html" {
			return serveIndex(c)
		}
		f, err := web.Open(name)
		if errors.Is(err, fs.ErrNotExist) || isDir(f) {
			if f != nil {
				f.Close()
			}
			if looksLikeFile(name) {
				return echo.NewHTTPError(http.StatusNotFound, "no file "+name)
			}
			return serveIndex(c)
		}
		if err != nil {
			return err
		}
		defer f.Close()
		info, err := f.Stat()
		if err != nil {
			return err
		}
		if strings.HasPrefix(name, "assets/") {
			c.Response().Header().Set(echo.HeaderCacheControl, cacheHashed)
		} else {
			c.Response().Header().Set(echo.HeaderCacheControl, cacheOther)
		}
		rs, ok := f.(io.ReadSeeker)
		if !ok {
			data, err := fs.ReadFile(web, name)
			if err != nil {
				return err
			}
			http.ServeContent(c.Response(), c.Request(), name, info.ModTime(), bytes.NewReader(data))
			return nil
		}
		http.ServeContent(c.Response(), c.Request(), name, info.ModTime(), rs)
		return nil
	}
	s.echo.GET("/*", handler)
	s.echo.HEAD("/*", handler)
}

func isDir(f fs.File) bool {
	if f == nil {
		return false
	}
	info, err := f.Stat()
	return err == nil && info.IsDir()
}

// looksLikeFile says whether a missing path asked for a file (404) rather than a client
// route (index.html). A numeric extension is an ATT&CK sub-technique in a route such as
// /techniques/T1059.001, which a reload or a shared link must open.
func looksLikeFile(name string) bool {
	ext := strings.TrimPrefix(path.Ext(name), ".")
	return ext != "" && strings.Trim(ext, "0123456789") != ""
}
