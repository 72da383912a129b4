package core

import (
	"context"
	"fmt"
	"time"
)

// Notification is an in-app message to one user, usually "something waits for you":
// a test reached the state in which the user's team acts next.
type Notification struct {
	ID         string     `db:"id" json:"id"`
	UserID     string     `db:"user_id" json:"user_id"`
	Kind       string     `db:"kind" json:"kind"`
	Title      string     `db:"title" json:"title"`
	Body       string     `db:"body" json:"body"`
	EntityType string     `db:"entity_type" json:"entity_type"`
	EntityID   string     `db:"entity_id" json:"entity_id"`
	ReadAt     *time.Time `db:"read_at" json:"read_at,omitempty"`
	CreatedAt  time.Time  `db:"created_at" json:"created_at"`
}

// Validate checks the fields every notification needs.
func (n *Notification) Validate() error {
	if n.UserID == "" {
		return FieldError("user_id", "is required")
	}
	if n.Kind == "" {
		return FieldError("kind", "is required")
	}
	if n.Title == "" {
		return FieldError("title", "is required")
	}
	return nil
}

// NotificationFilter selects one user's notifications.
type NotificationFilter struct {
	UserID     string
	UnreadOnly bool
	Page
}

// NotificationRepo stores notifications. Every read and write is scoped to one user, so
// a handler cannot show or change someone else's by passing the wrong id.
type NotificationRepo interface {
	CreateNotification(ctx context.Context, n *Notification) error
	// Notify stores one copy of n for each distinct user id (n.ID, n.UserID and
	// n.CreatedAt are filled per copy).
	Notify(ctx context.Context, userIDs []string, n Notification) error
	// ListNotifications returns one page, newest first, and the total that match.
	ListNotifications(ctx context.Context, f NotificationFilter) ([]*Notification, int, error)
	// MarkNotificationRead marks one of userID's notifications read (ENOTFOUND when it
	// is not theirs); marking a read one again keeps its first read time.
	MarkNotificationRead(ctx context.Context, userID, id string, at time.Time) error
	// MarkAllNotificationsRead marks every unread notification of userID and says how many.
	MarkAllNotificationsRead(ctx context.Context, userID string, at time.Time) (int, error)
	// DeleteReadNotificationsBefore removes read notifications created before cutoff;
	// unread ones are kept whatever their age, since nobody has seen them yet.
	DeleteReadNotificationsBefore(ctx context.Context, cutoff time.Time) (int, error)
}

// NotifyRoles sends n to every enabled user who holds one of roles, except the user
// except (usually the actor, who does not need to be told what they just did). It runs
// in the caller's transaction, so the notification commits with the change it announces.
func NotifyRoles(ctx context.Context, tx Tx, n Notification, except string, roles ...Role) error {
	ids, err := tx.UserIDsByRole(ctx, roles...)
	if err != nil {
		return fmt.Errorf("notify %s: %w", n.Kind, err)
	}
	to := ids[:0]
	for _, id := range ids {
		if id != except {
			to = append(to, id)
		}
	}
	if len(to) == 0 {
		return nil
	}
	return tx.Notify(ctx, to, n)
}

// CleanupNotifications is the scheduler's notification job: it deletes the read
// notifications created more than retention before now and says how many went.
func CleanupNotifications(ctx context.Context, s Store, now time.Time, retention time.Duration) (int, error) {
	var n int
	err := s.Update(ctx, func(tx Tx) error {
		var err error
		n, err = tx.DeleteReadNotificationsBefore(ctx, now.Add(-retention))
		return err
	})
	if err != nil {
		return 0, fmt.Errorf("clean up notifications: %w", err)
	}
	return n, nil
}
