package api

import (
	"strings"

	"github.com/labstack/echo/v4"
)

// spaCSP is the content security policy of the web app: its own scripts, styles,
// images and API only, never framed. Styles allow 'unsafe-inline' because React sets
// style attributes and the not-built page carries one; scripts never run inline, so
// stored text rendered by the SPA cannot execute. Change it together with the SPA.
const spaCSP = "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data: blob:; " +
	"font-src 'self' data:; connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"

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
			h.Set("Content-Security-Policy", spaCSP)
		}
		return next(c)
	}
}
