package api

import (
	"context"
	"errors"
	"net"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/aegis-sec/aegis/core"
	"github.com/aegis-sec/aegis/core/auth"
)

const (
	userKey      = "aegis.user"
	principalKey = "aegis.principal"
	authErrKey   = "aegis.auth_error"

	// SessionCookie holds the session secret; CSRFHeader must repeat the session's CSRF
	// token on every unsafe request made with that cookie.
	SessionCookie = "aegis_session"
	CSRFHeader    = "X-CSRF-Token"
)

// currentUser returns the signed-in user of the request, or nil.
func currentUser(c echo.Context) *core.User {
	u, _ := c.Get(userKey).(*core.User)
	return u
}

// currentPrincipal returns the caller and the credential they used, or nil.
func currentPrincipal(c echo.Context) *auth.Principal {
	p, _ := c.Get(principalKey).(*auth.Principal)
	return p
}

// ipExtractor says which address a request comes from (sign-in throttling, sessions,
// the audit log). X-Forwarded-For is believed only when the direct peer is one of
// server.trusted_proxies, and then the right-most address no trusted proxy added is
// the client: anyone else could pick their own throttle key and audited address by
// sending the header. With no trusted proxy the peer address is the client.
func ipExtractor(trusted []*net.IPNet) echo.IPExtractor {
	if len(trusted) == 0 {
		return echo.ExtractIPDirect()
	}
	opts := []echo.TrustOption{echo.TrustLoopback(false), echo.TrustLinkLocal(false), echo.TrustPrivateNet(false)}
	for _, n := range trusted {
		opts = append(opts, echo.TrustIPRange(n))
	}
	return echo.ExtractIPFromXFFHeader(opts...)
}

// authenticate resolves the caller (Bearer API token, else session cookie) and puts
// them in the request context. A missing or bad credential leaves the request
// anonymous, with the reason kept for authorize: public routes do not care, the others
// answer 401 and say why.
//
// Only /api/ requests are looked at: the SPA's files and the probes are public, and a
// page load would otherwise cost a session lookup per asset.
func (s *Server) authenticate(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		if !strings.HasPrefix(c.Request().URL.Path, "/api/") {
			return next(c)
		}
		p, err := s.principal(c)
		if err != nil {
			c.Set(authErrKey, err)
		} else if p != nil {
			c.Set(principalKey, p)
			c.Set(userKey, p.User)
		}
		return next(c)
	}
}

// principal looks the caller's credential up within server.request_timeout: it runs
// before the route's own deadline (and for the Long routes that have none), and a
// database that stopped answering must not hold the request for ever. Past the
// deadline the lookup is 503 like any request's.
func (s *Server) principal(c echo.Context) (*auth.Principal, error) {
	ctx, cancel := c.Request().Context(), context.CancelFunc(func() {})
	if s.bounds.timeout > 0 {
		ctx, cancel = context.WithTimeout(ctx, s.bounds.timeout)
	}
	defer cancel()
	var p *auth.Principal
	var err error
	if h := c.Request().Header.Get(echo.HeaderAuthorization); len(h) > 7 && strings.EqualFold(h[:7], "bearer ") {
		p, err = s.auth.Token(ctx, strings.TrimSpace(h[7:]))
	} else if ck, cerr := c.Cookie(SessionCookie); cerr == nil && ck.Value != "" {
		p, err = s.auth.Session(ctx, ck.Value)
	}
	return p, s.deadlineError(ctx, err)
}

func safeMethod(m string) bool {
	return m == http.MethodGet || m == http.MethodHead || m == http.MethodOptions
}

// authorize enforces the route table: a public route lets anyone through; any other
// needs a signed-in, enabled user whose role the route lists, a CSRF token on unsafe
// requests made with a session cookie, a browser session where the route demands one,
// and a read_write token for unsafe requests made with an API token.
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
			p := currentPrincipal(c)
			if p == nil || p.User.Disabled {
				// The reason may also be a failed database, answered 500, not 401.
				if err, _ := c.Get(authErrKey).(error); err != nil {
					return err
				}
				return core.Errorf(core.EUNAUTHORIZED, "sign in first")
			}
			method := c.Request().Method
			if p.Method == auth.MethodSession && !safeMethod(method) &&
				!auth.CheckCSRF(p.Session, c.Request().Header.Get(CSRFHeader)) {
				return core.Errorf(core.EFORBIDDEN, "missing or wrong %s header (the csrf_token from sign-in or GET /api/v1/auth/me)", CSRFHeader)
			}
			// A password an administrator set (or the first start printed) is known to
			// someone else: a browser session gets nothing but the password change until
			// it is replaced. API tokens, made by the user earlier, keep working.
			if p.Method == auth.MethodSession && p.User.MustChangePassword && !passwordChangeRoutes[r.Method+" "+r.Path] {
				return core.Errorf(core.EFORBIDDEN, "change your password first (POST /api/v1/auth/password): it was set by an administrator")
			}
			if !allowed[p.User.Role] {
				return &core.Error{Code: core.EFORBIDDEN,
					Message: "the " + string(p.User.Role) + " role may not " + method + " " + r.Path,
					Detail:  map[string]any{"allowed_roles": r.Roles}}
			}
			if r.SessionOnly && p.Method != auth.MethodSession {
				return core.Errorf(core.EFORBIDDEN, "%s %s needs a signed-in browser session, not an API token", method, r.Path)
			}
			if !safeMethod(method) && !p.CanWrite() {
				return core.Errorf(core.EFORBIDDEN, "the API token %q is read-only (scope read); %s needs scope read_write", p.Token.Name, method)
			}
			return next(c)
		}
	}
}

// passwordChangeRoutes are what a session whose password must change may still use.
var passwordChangeRoutes = map[string]bool{
	"GET /api/v1/auth/me":        true,
	"POST /api/v1/auth/password": true,
	"POST /api/v1/auth/logout":   true,
}

func (s *Server) authRoutes() []route {
	return []route{
		{Method: http.MethodPost, Path: "/api/v1/auth/login", Summary: "Sign in with a username and password: sets the session cookie, returns the CSRF token",
			Public: true, Handler: s.login, Request: loginRequest{}, Response: sessionInfo{}},
		{Method: http.MethodPost, Path: "/api/v1/auth/logout", Summary: "Sign out: ends the session",
			Roles: core.Roles, SessionOnly: true, Handler: s.logout},
		{Method: http.MethodGet, Path: "/api/v1/auth/me", Summary: "The signed-in user, how they signed in, and the session's CSRF token",
			Roles: core.Roles, Handler: s.me, Response: sessionInfo{}},
		{Method: http.MethodPost, Path: "/api/v1/auth/password", Summary: "Change your password (ends your other sessions)",
			Roles: core.Roles, SessionOnly: true, Handler: s.changePassword, Request: passwordChange{}, Response: sessionInfo{}},
	}
}

type loginRequest struct {
	Username string `json:"username" api:"required" example:"jdoe"`
	Password string `json:"password" api:"required" example:"correct horse battery staple"`
}

// sessionInfo answers sign-in and /auth/me. The CSRF token is repeated by /auth/me so
// the SPA can pick it up again after a page reload (the cookie itself is HttpOnly).
type sessionInfo struct {
	User             *core.User      `json:"user"`
	AuthMethod       auth.Method     `json:"auth_method"`
	CSRFToken        string          `json:"csrf_token,omitempty"`
	SessionExpiresAt *time.Time      `json:"session_expires_at,omitempty"`
	TokenScope       core.TokenScope `json:"token_scope,omitempty"`
}

func infoOf(p *auth.Principal) sessionInfo {
	in := sessionInfo{User: p.User, AuthMethod: p.Method}
	if p.Session != nil {
		in.CSRFToken, in.SessionExpiresAt = p.Session.CSRFToken, &p.Session.ExpiresAt
	}
	if p.Token != nil {
		in.TokenScope = p.Token.Scope
	}
	return in
}

func (s *Server) cookieSecure(c echo.Context) bool {
	if v := s.deps.CookieSecure; v != nil {
		return *v
	}
	return s.deps.TLS || c.Request().TLS != nil
}

// setSessionCookie sets the cookie without an expiry: the browser drops it when it
// closes, and the server enforces the sliding TTL on its side.
func (s *Server) setSessionCookie(c echo.Context, value string, maxAge int) {
	c.SetCookie(&http.Cookie{Name: SessionCookie, Value: value, Path: "/", MaxAge: maxAge,
		HttpOnly: true, SameSite: http.SameSiteLaxMode, Secure: s.cookieSecure(c)})
}

func (s *Server) login(c echo.Context) error {
	var in loginRequest
	if err := decodeJSON(c, &in); err != nil {
		return err
	}
	if in.Username == "" || in.Password == "" {
		return core.Errorf(core.EINVALID, "username and password are required")
	}
	res, err := s.auth.Login(c.Request().Context(), auth.LoginRequest{Username: in.Username, Password: in.Password,
		IP: c.RealIP(), UserAgent: c.Request().UserAgent()})
	if err != nil {
		return withRetryAfter(c, err)
	}
	s.setSessionCookie(c, res.Secret, 0)
	return c.JSON(http.StatusOK, infoOf(&auth.Principal{User: res.User, Method: auth.MethodSession, Session: res.Session}))
}

func (s *Server) logout(c echo.Context) error {
	if err := s.auth.Logout(c.Request().Context(), currentPrincipal(c)); err != nil {
		return err
	}
	s.setSessionCookie(c, "", -1)
	return c.NoContent(http.StatusNoContent)
}

func (s *Server) me(c echo.Context) error {
	return c.JSON(http.StatusOK, infoOf(currentPrincipal(c)))
}

type passwordChange struct {
	CurrentPassword string `json:"current_password" api:"required"`
	NewPassword     string `json:"new_password" api:"required" example:"a new passphrase of 15+ characters"`
}

func (s *Server) changePassword(c echo.Context) error {
	var in passwordChange
	if err := decodeJSON(c, &in); err != nil {
		return err
	}
	p := currentPrincipal(c)
	if err := s.auth.ChangePassword(c.Request().Context(), p, in.CurrentPassword, in.NewPassword); err != nil {
		return withRetryAfter(c, err)
	}
	return c.JSON(http.StatusOK, infoOf(p))
}

// withRetryAfter adds the Retry-After header (RFC 9110) to a throttled answer.
func withRetryAfter(c echo.Context, err error) error {
	var ce *core.Error
	if errors.As(err, &ce) && ce.Code == core.ETOOMANY {
		if secs, ok := ce.Detail["retry_after_seconds"].(int); ok {
			c.Response().Header().Set("Retry-After", strconv.Itoa(secs))
		}
	}
	return err
}
