package api

import (
	"github.com/labstack/echo/v4"

	"github.com/aegis-sec/aegis/core"
)

const userKey = "aegis.user"

// currentUser returns the signed-in user of the request, or nil.
func currentUser(c echo.Context) *core.User {
	u, _ := c.Get(userKey).(*core.User)
	return u
}

// authenticate resolves the caller (session cookie or Bearer API token) and puts the
// user in the request context. An unknown or expired credential leaves the request
// anonymous; authorize then refuses it where the route needs a user.
func (s *Server) authenticate(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		// Sessions and API tokens arrive with the auth routes.
		return next(c)
	}
}

// authorize enforces the route table: a public route lets anyone through; any other
// needs a signed-in, enabled user whose role the route lists.
func (s *Server) authorize(r route) echo.MiddlewareFunc {
	allowed := map[core.Role]bool{}
	for _, role := range r.Roles {
		allowed[role] = true
	}
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			if r.Public {
				return next(c)
			}
			u := currentUser(c)
			if u == nil || u.Disabled {
				return core.Errorf(core.EUNAUTHORIZED, "sign in first")
			}
			if !allowed[u.Role] {
				return core.Errorf(core.EFORBIDDEN, "the %s role may not %s %s", u.Role, r.Method, r.Path)
			}
			return next(c)
		}
	}
}
