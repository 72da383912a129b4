package store

import (
	"context"
	"fmt"
	"time"

	"github.com/aegis-sec/aegis/core"
)

const notificationColumns = `id, user_id, kind, title, body, entity_type, entity_id, read_at, created_at`

// CreateNotification stores n, filling its id and creation time when empty.
func (t *Tx) CreateNotification(ctx context.Context, n *core.Notification) error {
	if err := n.Validate(); err != nil {
		return err
	}
	if n.ID == "" {
		n.ID = core.NewID()
	}
	if n.CreatedAt.IsZero() {
		n.CreatedAt = core.Now()
	}
	_, err := t.exec(ctx, `INSERT INTO notifications (`+notificationColumns+`) VALUES (?,?,?,?,?,?,?,?,?)`,
		n.ID, n.UserID, n.Kind, n.Title, n.Body, n.EntityType, n.EntityID, utcPtr(n.ReadAt), n.CreatedAt.UTC())
	if err != nil {
		return fmt.Errorf("store: create notification %s for user %s: %w", n.Kind, n.UserID, err)
	}
	return nil
}

// Notify stores one copy of n per distinct user.
func (t *Tx) Notify(ctx context.Context, userIDs []string, n core.Notification) error {
	seen := map[string]bool{}
	now := core.Now()
	for _, id := range userIDs {
		if seen[id] {
			continue
		}
		seen[id] = true
		c := n
		c.ID, c.UserID, c.CreatedAt, c.ReadAt = "", id, now, nil
		if err := t.CreateNotification(ctx, &c); err != nil {
			return err
		}
	}
	return nil
}

// ListNotifications returns one page of a user's notifications, newest first.
func (t *Tx) ListNotifications(ctx context.Context, f core.NotificationFilter) ([]*core.Notification, int, error) {
	if f.UserID == "" {
		return nil, 0, core.FieldError("user_id", "is required")
	}
	w := where{}
	w.add("user_id = ?", f.UserID)
	if f.UnreadOnly {
		w.add("read_at IS NULL")
	}
	var total int
	if err := t.get(ctx, &total, `SELECT COUNT(*) FROM notifications`+w.sql(), w.args...); err != nil {
		return nil, 0, fmt.Errorf("store: count notifications of user %s: %w", f.UserID, err)
	}
	p := f.Page.Normalize()
	out := []*core.Notification{}
	if err := t.sel(ctx, &out, `SELECT `+notificationColumns+` FROM notifications`+w.sql()+` ORDER BY created_at DESC, id DESC LIMIT ? OFFSET ?`,
		append(w.args, p.Limit, p.Offset)...); err != nil {
		return nil, 0, fmt.Errorf("store: list notifications of user %s: %w", f.UserID, err)
	}
	return out, total, nil
}

// MarkNotificationRead marks one of the user's notifications read.
func (t *Tx) MarkNotificationRead(ctx context.Context, userID, id string, at time.Time) error {
	res, err := t.exec(ctx, `UPDATE notifications SET read_at=COALESCE(read_at, ?) WHERE id=? AND user_id=?`, at.UTC(), id, userID)
	if err != nil {
		return fmt.Errorf("store: mark notification %s read: %w", id, err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return core.Errorf(core.ENOTFOUND, "notification %s not found", id)
	}
	return nil
}

// MarkAllNotificationsRead marks every unread notification of the user.
func (t *Tx) MarkAllNotificationsRead(ctx context.Context, userID string, at time.Time) (int, error) {
	res, err := t.exec(ctx, `UPDATE notifications SET read_at=? WHERE user_id=? AND read_at IS NULL`, at.UTC(), userID)
	if err != nil {
		return 0, fmt.Errorf("store: mark notifications of user %s read: %w", userID, err)
	}
	n, _ := res.RowsAffected()
	return int(n), nil
}

// DeleteReadNotificationsBefore removes read notifications created before cutoff.
func (t *Tx) DeleteReadNotificationsBefore(ctx context.Context, cutoff time.Time) (int, error) {
	res, err := t.exec(ctx, `DELETE FROM notifications WHERE read_at IS NOT NULL AND created_at < ?`, cutoff.UTC())
	if err != nil {
		return 0, fmt.Errorf("store: delete read notifications before %s: %w", cutoff.Format(time.RFC3339), err)
	}
	n, _ := res.RowsAffected()
	return int(n), nil
}
