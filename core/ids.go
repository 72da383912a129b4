package core

import "github.com/google/uuid"

// ValidID reports whether s has the form of an Aegis id (a UUID). Ids that come from
// requests are checked before they reach a query: PostgreSQL refuses to compare a UUID
// column with text that is not one, which would otherwise surface as an internal error.
func ValidID(s string) bool {
	if len(s) != 36 {
		return false
	}
	_, err := uuid.Parse(s)
	return err == nil
}
