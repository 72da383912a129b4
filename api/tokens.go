package api

import (
	"net/http"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/aegis-sec/aegis/core"
	"github.com/aegis-sec/aegis/core/auth"
)

func (s *Server) tokenRoutes() []route {
	return []route{
		{Method: http.MethodGet, Path: "/api/v1/tokens", Summary: "Your personal API tokens (secrets are never shown again)",
			Roles: core.Roles, Handler: s.listTokens, Response: Paged[*core.APIToken]{}},
		// Making a token needs a browser session: a token that could mint tokens would
		// renew itself for ever and outlive its own expiry.
		{Method: http.MethodPost, Path: "/api/v1/tokens", Summary: "Create a personal API token; its secret is in the answer, once",
			Roles: core.Roles, SessionOnly: true, Handler: s.createToken, Request: tokenRequest{}, Response: createdToken{}},
		{Method: http.MethodDelete, Path: "/api/v1/tokens/:id", Summary: "Revoke one of your API tokens",
			Roles: core.Roles, Handler: s.revokeToken},
	}
}

func (s *Server) listTokens(c echo.Context) error {
	p, err := pageParams(c)
	if err != nil {
		return err
	}
	list, total, err := s.auth.Tokens(c.Request().Context(), currentUser(c), p)
	if err != nil {
		return err
	}
	return writePage(c, list, total, p)
}

// tokenRequest asks for a token. expires_in is a duration ("720h", "90d"); expires_at
// an RFC 3339 time; neither means the longest lifetime allowed (auth.token_max_ttl).
type tokenRequest struct {
	Name      string          `json:"name" api:"required" example:"CI pipeline"`
	Scope     core.TokenScope `json:"scope" api:"required"`
	ExpiresIn string          `json:"expires_in,omitempty"`
	ExpiresAt *time.Time      `json:"expires_at,omitempty"`
}

// createdToken is a new token with its secret, the only time the secret is shown.
type createdToken struct {
	*core.APIToken
	Token string `json:"token"`
}

func (s *Server) createToken(c echo.Context) error {
	var in tokenRequest
	if err := decodeJSON(c, &in); err != nil {
		return err
	}
	req := auth.NewToken{Name: in.Name, Scope: in.Scope, ExpiresAt: in.ExpiresAt}
	if in.ExpiresIn != "" {
		d, err := auth.ParseTTL(in.ExpiresIn)
		if err != nil {
			return err
		}
		req.ExpiresIn = &d
	}
	tok, secret, err := s.auth.CreateToken(c.Request().Context(), currentPrincipal(c), req)
	if err != nil {
		return err
	}
	c.Response().Header().Set("Cache-Control", "no-store")
	return c.JSON(http.StatusCreated, createdToken{APIToken: tok, Token: secret})
}

func (s *Server) revokeToken(c echo.Context) error {
	id, err := pathID(c, "id", "api token")
	if err != nil {
		return err
	}
	if _, err := s.auth.RevokeToken(c.Request().Context(), currentPrincipal(c), id); err != nil {
		return err
	}
	return c.NoContent(http.StatusNoContent)
}
