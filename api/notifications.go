package api

import (
	"net/http"

	"github.com/labstack/echo/v4"

	"github.com/aegis-sec/aegis/core"
)

// notificationRoutes serve the caller's own notifications only: every store call is
// scoped to the signed-in user, whatever id the request names.
func (s *Server) notificationRoutes() []route {
	return []route{
		{Method: http.MethodGet, Path: "/api/v1/notifications", Query: []string{"unread"}, Summary: "Your notifications, newest first (filter: unread=true)",
			Roles: core.Roles, Handler: s.listNotifications, Response: Paged[*core.Notification]{}},
		{Method: http.MethodPost, Path: "/api/v1/notifications/:id/read", Summary: "Mark one of your notifications read",
			Roles: core.Roles, Handler: s.readNotification},
		{Method: http.MethodPost, Path: "/api/v1/notifications/read-all", Summary: "Mark all your notifications read",
			Roles: core.Roles, Handler: s.readAllNotifications, Response: markedRead{}},
	}
}

func (s *Server) listNotifications(c echo.Context) error {
	p, err := pageParams(c)
	if err != nil {
		return err
	}
	unread, err := queryBool(c, "unread")
	if err != nil {
		return err
	}
	list, total, err := s.deps.Inbox.List(c.Request().Context(), currentUser(c),
		core.NotificationFilter{UnreadOnly: unread != nil && *unread, Page: p})
	if err != nil {
		return err
	}
	return writePage(c, list, total, p)
}

func (s *Server) readNotification(c echo.Context) error {
	id, err := pathID(c, "id", "notification")
	if err != nil {
		return err
	}
	if err := s.deps.Inbox.MarkRead(c.Request().Context(), currentUser(c), id); err != nil {
		return err
	}
	return c.NoContent(http.StatusNoContent)
}

type markedRead struct {
	Marked int `json:"marked"`
}

func (s *Server) readAllNotifications(c echo.Context) error {
	n, err := s.deps.Inbox.MarkAllRead(c.Request().Context(), currentUser(c))
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, markedRead{Marked: n})
}
