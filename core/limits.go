package core

import (
	"strings"
	"unicode/utf8"
)

// Field limits. Every text a request can store is bounded, so nobody can fill the
// disk or the audit log with a few large requests; docs/SECURITY.md lists them.
// Limits are in bytes of UTF-8, which is what the databases store.
const (
	// MaxUsernameBytes bounds a login name (User.Validate allows 2-64 characters of
	// ASCII, so bytes and characters agree).
	MaxUsernameBytes = 64
	// MaxPasswordBytes bounds a password: argon2 would hash more, but a megabyte
	// "password" is a cheap way to burn CPU.
	MaxPasswordBytes = 1024
	// MaxNameBytes bounds names and titles: test titles, template names, rule titles,
	// token names and the like.
	MaxNameBytes = 500
	// MaxTextBytes bounds long texts: descriptions, procedures, commands, notes, rule
	// queries. It is also the ceiling the HTTP layer puts on any string in a request.
	MaxTextBytes = 100_000
	// MaxListItems bounds lists in a request (platforms, technique ids, tags).
	MaxListItems = 1000
	// MaxSearchBytes bounds a search box. Every word of a search is a substring match
	// over several columns: a 6,000-character search of many words ran for a minute
	// and a dozen of them at once took the server down.
	MaxSearchBytes = 256
	// MaxSearchTerms bounds the words (and "quoted phrases") of a search box.
	MaxSearchTerms = 16
)

// SearchTerms splits a search box into terms: words, with "quoted phrases" kept
// together. Every listing's search matches rows holding every term.
func SearchTerms(q string) []string {
	var terms []string
	for i, part := range strings.Split(q, `"`) {
		if i%2 == 1 { // inside quotes
			if p := strings.TrimSpace(part); p != "" {
				terms = append(terms, p)
			}
			continue
		}
		terms = append(terms, strings.Fields(part)...)
	}
	return terms
}

// CheckSearch refuses a search box over MaxSearchBytes or with more than
// MaxSearchTerms terms (and what CheckText refuses), naming the field "search" and
// the limit it broke.
func CheckSearch(s string) error {
	if err := CheckText("search", s, MaxSearchBytes); err != nil {
		return err
	}
	if n := len(SearchTerms(s)); n > MaxSearchTerms {
		return FieldError("search", "has %d words; the limit is %d words (a \"quoted phrase\" counts as one)", n, MaxSearchTerms)
	}
	return nil
}

// CheckText refuses what no text field may hold: more than max bytes, invalid UTF-8,
// and NUL characters (PostgreSQL cannot store them in text, SQLite would, and the two
// must answer alike). The error names field.
func CheckText(field, s string, max int) error {
	if len(s) > max {
		return FieldError(field, "is %d bytes long; the limit is %d bytes", len(s), max)
	}
	if !utf8.ValidString(s) {
		return FieldError(field, "is not valid UTF-8")
	}
	if strings.IndexByte(s, 0) >= 0 {
		return FieldError(field, "contains a NUL character (\\u0000), which no field may hold")
	}
	return nil
}

// CleanText makes a string safe to store when it is not a field the caller chose to
// send (a User-Agent header): invalid UTF-8 and NUL are replaced, and it is cut to at
// most max bytes without splitting a character.
func CleanText(s string, max int) string {
	s = strings.ToValidUTF8(s, "\uFFFD")
	s = strings.ReplaceAll(s, "\x00", "\uFFFD")
	if len(s) <= max {
		return s
	}
	cut := max
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut]
}

// TextField is one field for CheckTexts.
type TextField struct {
	Name  string
	Value string
	Max   int
}

// CheckTexts runs CheckText over fields and returns the first problem.
func CheckTexts(fields ...TextField) error {
	for _, f := range fields {
		if err := CheckText(f.Name, f.Value, f.Max); err != nil {
			return err
		}
	}
	return nil
}

// CheckList bounds a list of short strings (platforms, ids, tags) by count and size.
func CheckList(field string, list []string, maxItems, maxItemBytes int) error {
	if len(list) > maxItems {
		return FieldError(field, "has %d entries; the limit is %d", len(list), maxItems)
	}
	for _, s := range list {
		if err := CheckText(field, s, maxItemBytes); err != nil {
			return err
		}
	}
	return nil
}
