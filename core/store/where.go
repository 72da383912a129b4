package store

import (
	"strings"

	"github.com/aegis-sec/aegis/core"
)

// where collects the conditions of a filtered listing.
type where struct {
	conds []string
	args  []any
}

func (w *where) add(cond string, args ...any) {
	w.conds = append(w.conds, cond)
	w.args = append(w.args, args...)
}

func (w *where) sql() string {
	if len(w.conds) == 0 {
		return ""
	}
	return " WHERE " + strings.Join(w.conds, " AND ")
}

// search adds a condition for a search box: every term must appear (as a substring, in
// any letter case) in at least one of the columns, so "powershell download" finds what
// mentions both words in any order. "Quoted phrases" stay one term (core.SearchTerms);
// the API bounds the box first (core.CheckSearch).
func (w *where) search(like, query string, columns ...string) {
	for _, term := range core.SearchTerms(query) {
		pat := "%" + escapeLike(term) + "%"
		var ors []string
		for _, c := range columns {
			ors = append(ors, c+" "+like+" ? ESCAPE '\\'")
			w.args = append(w.args, pat)
		}
		w.conds = append(w.conds, "("+strings.Join(ors, " OR ")+")")
	}
}
