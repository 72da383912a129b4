// Package inbox is each user's notifications: listing them and marking them read. Every
// call is scoped to the user it is given, whatever notification id it is asked about.
package inbox

import (
	"context"
	"time"

	"github.com/aegis-sec/aegis/core"
)

// Service reads and marks notifications.
type Service struct {
	store core.Store
	now   func() time.Time
}

// New returns a service on st; now is the clock (nil: the real one).
func New(st core.Store, now func() time.Time) *Service {
	if now == nil {
		now = time.Now
	}
	return &Service{store: st, now: now}
}

func (s *Service) at() time.Time { return s.now().UTC().Truncate(time.Microsecond) }

// List lists one page of the user's notifications, newest first; f.UserID is set to
// user's id.
func (s *Service) List(ctx context.Context, user *core.User, f core.NotificationFilter) ([]*core.Notification, int, error) {
	f.UserID = user.ID
	return core.ReadPage(ctx, s.store, func(tx core.Tx) ([]*core.Notification, int, error) { return tx.ListNotifications(ctx, f) })
}

// MarkRead marks one of the user's notifications read (ENOTFOUND when it is not theirs).
func (s *Service) MarkRead(ctx context.Context, user *core.User, id string) error {
	return s.store.Update(ctx, func(tx core.Tx) error { return tx.MarkNotificationRead(ctx, user.ID, id, s.at()) })
}

// MarkAllRead marks every unread notification of the user read and says how many.
func (s *Service) MarkAllRead(ctx context.Context, user *core.User) (int, error) {
	var n int
	err := s.store.Update(ctx, func(tx core.Tx) error {
		var err error
		n, err = tx.MarkAllNotificationsRead(ctx, user.ID, s.at())
		return err
	})
	return n, err
}
