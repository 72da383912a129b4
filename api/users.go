package api

import (
	"net/http"

	"github.com/labstack/echo/v4"

	"github.com/aegis-sec/aegis/core"
	"github.com/aegis-sec/aegis/core/auth"
)

var adminOnly = []core.Role{core.RoleAdmin}

func (s *Server) userRoutes() []route {
	return []route{
		{Method: http.MethodGet, Path: "/api/v1/users", Query: []string{"disabled", "role"}, Summary: "List users (filters: role, disabled)",
			Roles: adminOnly, Handler: s.listUsers, Response: Paged[*core.User]{}},
		{Method: http.MethodPost, Path: "/api/v1/users", Summary: "Create a user; a generated password is returned once when none is given",
			Roles: adminOnly, Handler: s.createUser, Request: userCreate{}, Response: userWithPassword{}},
		{Method: http.MethodGet, Path: "/api/v1/users/:id", Summary: "One user",
			Roles: adminOnly, Handler: s.getUser, Response: core.User{}},
		{Method: http.MethodPatch, Path: "/api/v1/users/:id", Summary: "Change a user's role, display name or e-mail",
			Roles: adminOnly, Handler: s.updateUser, Request: userPatch{}, Response: core.User{}},
		{Method: http.MethodPost, Path: "/api/v1/users/:id/disable", Summary: "Disable a user and end their sessions",
			Roles: adminOnly, Handler: s.setUserDisabled(true), Response: core.User{}},
		{Method: http.MethodPost, Path: "/api/v1/users/:id/enable", Summary: "Enable a disabled user",
			Roles: adminOnly, Handler: s.setUserDisabled(false), Response: core.User{}},
		{Method: http.MethodPost, Path: "/api/v1/users/:id/reset-password", Summary: "Give a user a new random password (returned once; must be changed at next sign-in)",
			Roles: adminOnly, Handler: s.resetPassword, Response: userWithPassword{}},
	}
}

func (s *Server) listUsers(c echo.Context) error {
	p, err := pageParams(c)
	if err != nil {
		return err
	}
	f := core.UserFilter{Role: core.Role(c.QueryParam("role")), Page: p}
	if f.Role != "" && !f.Role.Valid() {
		return core.FieldError("role", "unknown role %q", f.Role)
	}
	if f.Disabled, err = queryBool(c, "disabled"); err != nil {
		return err
	}
	list, total, err := s.auth.Users(c.Request().Context(), f)
	if err != nil {
		return err
	}
	return writePage(c, list, total, p)
}

type userCreate struct {
	Username    string    `json:"username" api:"required" example:"jdoe"`
	DisplayName string    `json:"display_name,omitempty"`
	Email       string    `json:"email,omitempty"`
	Role        core.Role `json:"role" api:"required"`
	Password    string    `json:"password,omitempty"`
}

// userWithPassword carries a password the server generated; it is shown this once.
type userWithPassword struct {
	User     *core.User `json:"user"`
	Password string     `json:"password,omitempty"`
}

func (s *Server) createUser(c echo.Context) error {
	var in userCreate
	if err := decodeJSON(c, &in); err != nil {
		return err
	}
	u, generated, err := s.auth.CreateUser(c.Request().Context(), currentUser(c), auth.NewUser{
		Username: in.Username, DisplayName: in.DisplayName, Email: in.Email, Role: in.Role, Password: in.Password})
	if err != nil {
		return err
	}
	c.Response().Header().Set("Cache-Control", "no-store")
	return c.JSON(http.StatusCreated, userWithPassword{User: u, Password: generated})
}

func (s *Server) getUser(c echo.Context) error {
	id, err := pathID(c, "id", "user")
	if err != nil {
		return err
	}
	u, err := s.auth.User(c.Request().Context(), id)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, u)
}

type userPatch struct {
	Role        *core.Role `json:"role,omitempty"`
	DisplayName *string    `json:"display_name,omitempty"`
	Email       *string    `json:"email,omitempty"`
}

func (s *Server) updateUser(c echo.Context) error {
	id, err := pathID(c, "id", "user")
	if err != nil {
		return err
	}
	var in userPatch
	if err := decodeJSON(c, &in); err != nil {
		return err
	}
	u, err := s.auth.UpdateUser(c.Request().Context(), currentUser(c), id,
		auth.UserPatch{Role: in.Role, DisplayName: in.DisplayName, Email: in.Email})
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, u)
}

func (s *Server) setUserDisabled(disabled bool) echo.HandlerFunc {
	return func(c echo.Context) error {
		id, err := pathID(c, "id", "user")
		if err != nil {
			return err
		}
		u, err := s.auth.SetDisabled(c.Request().Context(), currentUser(c), id, disabled)
		if err != nil {
			return err
		}
		return c.JSON(http.StatusOK, u)
	}
}

func (s *Server) resetPassword(c echo.Context) error {
	id, err := pathID(c, "id", "user")
	if err != nil {
		return err
	}
	u, pw, err := s.auth.ResetPassword(c.Request().Context(), currentUser(c), id)
	if err != nil {
		return err
	}
	c.Response().Header().Set("Cache-Control", "no-store")
	return c.JSON(http.StatusOK, userWithPassword{User: u, Password: pw})
}
