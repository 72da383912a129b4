// Package core is the domain of Aegis: its entities, their rules and the ports through
// which the outside (storage, blobs, plugins) is reached. It imports no framework: the
// adapters beside it (core/store, core/pluginhost, ...) depend on it, never the reverse.
package core

import (
	"crypto/rand"
	"fmt"
	"time"

	"github.com/google/uuid"
)

// NewID returns a fresh identifier. UUIDv7 keeps ids roughly time-ordered, which keeps
// B-tree inserts local on both SQLite and PostgreSQL.
func NewID() string {
	id, err := uuid.NewV7()
	if err != nil {
		// NewV7 fails only when the system's random source does; there is no
		// sensible way to go on without ids.
		panic(fmt.Sprintf("core: new id: %v", err))
	}
	return id.String()
}

// Now returns the current time in the precision both databases keep (microseconds, UTC),
// so a value read back compares equal to the one written.
func Now() time.Time { return time.Now().UTC().Truncate(time.Microsecond) }

// RandomToken returns n random bytes as URL-safe text (for passwords, session and API tokens).
func RandomToken(n int) string {
	const alphabet = "ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz23456789"
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		panic(fmt.Sprintf("core: random token: %v", err))
	}
	for i := range b {
		b[i] = alphabet[int(b[i])%len(alphabet)]
	}
	return string(b)
}
