package store

import (
	"context"
	"fmt"
	"hash/fnv"
	"sync"
)

var sqliteLocks sync.Map // name → *sync.Mutex, for the single-instance embedded mode

// TryJobLock takes a lock named after a job across every instance sharing the database.
// On PostgreSQL it is a session advisory lock held on a connection of its own for as
// long as the job runs (if the instance dies, the connection and the lock go with it).
// SQLite serves one instance, so a lock in this process is enough.
func (s *Store) TryJobLock(ctx context.Context, name string) (func(), bool, error) {
	if s.dialect != Postgres {
		m, _ := sqliteLocks.LoadOrStore(s.dsn+"\x00"+name, &sync.Mutex{})
		mu := m.(*sync.Mutex)
		if !mu.TryLock() {
			return nil, false, nil
		}
		return mu.Unlock, true, nil
	}
	h := fnv.New64a()
	h.Write([]byte("aegis:" + name))
	key := int64(h.Sum64())
	conn, err := s.write.Connx(ctx)
	if err != nil {
		return nil, false, fmt.Errorf("store: job lock %s: %w", name, err)
	}
	var ok bool
	if err := conn.GetContext(ctx, &ok, `SELECT pg_try_advisory_lock($1)`, key); err != nil {
		conn.Close()
		return nil, false, fmt.Errorf("store: job lock %s: %w", name, err)
	}
	if !ok {
		conn.Close()
		return nil, false, nil
	}
	return func() {
		_, _ = conn.ExecContext(context.Background(), `SELECT pg_advisory_unlock($1)`, key)
		conn.Close()
	}, true, nil
}
