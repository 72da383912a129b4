package api

import (
	"strings"

	"github.com/labstack/echo/v4"
)

// ContentSecurityPolicy is the one policy of every answer outside /api/: the SPA's
// pages and assets, the page shown when the web app is not built, health checks.
// Scripts, styles, fonts and API calls come from this server only; nothing may frame
// the app. React sets styles through the CSSOM, which style-src does not govern, so no
// 'unsafe-inline' is needed (and the not-built page has no style attribute). Scripts
// never run inline, so stored text rendered by the SPA cannot execute. It was defined
// twice (here, laxer, and for the SPA's files), and which one a page got depended on
// the handler; TestOneContentSecurityPolicy holds it to one.
const ContentSecurityPolicy = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data: blob:; " +
	"font-src 'self'; connect-src 'self'; object-src 'none'; base-uri 'self'; form-action 'self'; frame-ancestors 'none'"

// apiCSP is for JSON and downloads: nothing in them may load or run anything.
const apiCSP = "default-src 'none'; frame-ancestors 'none'; sandbox"

// securityHeaders sets the headers every answer carries: no MIME sniffing, no framing
// (clickjacking), no referrer leaking ids, HSTS when the server speaks TLS itself,
// and no caching of API answers, which hold sign-in CSRF tokens, new API tokens,
// generated passwords and evidence.
func (s *Server) securityHeaders(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		h := c.Response().Header()
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("X-Frame-Options", "DENY")
		h.Set("Referrer-Policy", "no-referrer")
		if s.deps.TLS || c.Request().TLS != nil {
			h.Set("Strict-Transport-Security", "max-age=31536000; includeSubDomains")
		}
		if strings.HasPrefix(c.Request().URL.Path, "/api/") {
			h.Set("Content-Security-Policy", apiCSP)
			h.Set("Cache-Control", "no-store")
		} else {
			h.Set("Content-Security-Policy", ContentSecurityPolicy)
		}
		return next(c)
	}
}
