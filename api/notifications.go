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
		{Method: http.MethodGet, Path: "/api/v1/notifications", Summary: "Your notifications, newest first (filter: unread=true)",
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
	f := core.NotificationFilter{UserID: currentUser(c).ID, UnreadOnly: unread != nil && *unread, Page: p}
	ctx := c.Request().Context()
	var list []*core.Notification
	var total int
	err = s.deps.Store.View(ctx, func(tx core.Tx) error {
		var err error
		list, total, err = tx.ListNotifications(ctx, f)
		return err
	})
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
	ctx := c.Request().Context()
	err = s.deps.Store.Update(ctx, func(tx core.Tx) error {
		return tx.MarkNotificationRead(ctx, currentUser(c).ID, id, s.auth.Now())
	})
	if err != nil {
		return err
	}
	return c.NoContent(http.StatusNoContent)
}

type markedRead struct {
	Marked int `json:"marked"`
}

func (s *Server) readAllNotifications(c echo.Context) error {
	ctx := c.Request().Context()
	var n int
	err := s.deps.Store.Update(ctx, func(tx core.Tx) error {
		var err error
		n, err = tx.MarkAllNotificationsRead(ctx, currentUser(c).ID, s.auth.Now())
		return err
	})
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, markedRead{Marked: n})
}
