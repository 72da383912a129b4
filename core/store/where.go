package store

import (
	"strings"
	"unicode"

	"github.com/aegis-sec/aegis/core"
)

// where collects the conditions of a filtered listing, and, when a search box went to a
// full-text index, the join and ordering that rank the rows (see fullText).
type where struct {
	conds []string
	args  []any
	// join follows the table in FROM (SQLite: the FTS5 matches with their rank);
	// joinArgs are its parameters, which come before those of the conditions.
	join     string
	joinArgs []any
	// rank, when set, orders rows by relevance ahead of the listing's own order;
	// rankArgs are its parameters (after those of the conditions).
	rank     string
	rankArgs []any
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

// from is the FROM clause's table with the search join, if any.
func (w *where) from(table string) string { return table + w.join }

// params are the parameters of `FROM w.from(table) w.sql()`.
func (w *where) params() []any {
	return append(append([]any{}, w.joinArgs...), w.args...)
}

// orderBy puts relevance first when a search is ranked; order is the listing's own
// order, which also breaks ties.
func (w *where) orderBy(order string) string {
	if w.rank == "" {
		return order
	}
	return w.rank + ", " + order
}

// listParams are the parameters of `SELECT ... FROM w.from(table) w.sql() ORDER BY
// w.orderBy(...)` followed by extra (LIMIT and OFFSET).
func (w *where) listParams(extra ...any) []any {
	return append(append(w.params(), w.rankArgs...), extra...)
}

// search adds a condition for a search box: every term must appear (as a substring, in
// any letter case) in at least one of the columns, so "powershell download" finds what
// mentions both words in any order. "Quoted phrases" stay one term (core.SearchTerms);
// the API bounds the box first (core.CheckSearch). Listings without a full-text index
// (campaigns, compliance controls, D3FEND) use it; see fullText for the others.
func (w *where) search(like, query string, columns ...string) {
	for _, term := range core.SearchTerms(query) {
		w.likeTerm(like, term, columns...)
	}
}

func (w *where) likeTerm(like, term string, columns ...string) {
	pat := "%" + escapeLike(term) + "%"
	var ors []string
	for _, c := range columns {
		ors = append(ors, c+" "+like+" ? ESCAPE '\\'")
		w.args = append(w.args, pat)
	}
	w.conds = append(w.conds, "("+strings.Join(ors, " OR ")+")")
}

// ftsIndex is the full-text index of a table (migration 0200): on SQLite the FTS5 table
// <table>_fts over columns, kept by triggers; on PostgreSQL a tsvector search_doc
// (columns weighted A to D) with a GIN index: a generated column of the table, or, for
// rules and templates, the column of the table <table>_fts written after the writer's
// transaction (migration 0250, searchindex.go).
type ftsIndex struct {
	table string
	// columns are the indexed columns as SQL expressions, in the FTS5 table's order;
	// a term with punctuation is also checked against them as a substring.
	columns []string
	// weights are the bm25 weights of the FTS5 columns, in order: a match in a
	// title counts more than one in a description.
	weights string
	// pgTable says the PostgreSQL document is in <table>_fts rather than the table.
	pgTable bool
}

var (
	templateIndex  = ftsIndex{"test_templates", []string{"name", "external_id", "description", "command"}, "10, 6, 2, 1", true}
	ruleIndex      = ftsIndex{"detection_rules", []string{"title", "external_id", "description", "query", "raw"}, "10, 6, 2, 1, 1", true}
	techniqueIndex = ftsIndex{"techniques", []string{"external_id", "name"}, "10, 10", false}
	actorIndex     = ftsIndex{"threat_actors", []string{"name", "external_id", "CAST(aliases AS TEXT)", "description"}, "10, 6, 8, 2", false}
)

// fullText adds a search box over a full-text index, ranked by relevance (bm25 on
// SQLite, ts_rank on PostgreSQL). The rules (docs/SECURITY.md, the OpenAPI description
// of ?search=):
//   - every term must match, in any column, in any order;
//   - a word matches words that begin with it ("powersh" finds PowerShell), in any
//     letter case;
//   - a term with punctuation or spaces in it (T1059.001, cmd.exe, -enc, disk_wipe,
//     a "quoted phrase") must appear as written (a substring, in any letter case): the
//     index finds the rows holding its words in sequence, and LIKE confirms them;
//   - a term with no letter or digit (%, _, ') is only a substring.
//
// Every word reaches the index inside quotes (FTS5 "...", tsquery '...') and holds no
// ASCII punctuation, so no user input is query syntax: NEAR, AND, OR, NOT, *, ^, :, (,
// &, |, ! and <-> are text.
func (w *where) fullText(dialect string, ix ftsIndex, query string) {
	like := "LIKE"
	if dialect == Postgres {
		like = "ILIKE"
	}
	var match []ftsTerm
	for _, term := range core.SearchTerms(query) {
		ft, literal := planTerm(term)
		if literal {
			w.likeTerm(like, term, ix.columns...)
		}
		if len(ft.words) > 0 {
			match = append(match, ft)
		}
	}
	if len(match) == 0 {
		return
	}
	if dialect == Postgres {
		q := tsquery(match)
		doc := "search_doc"
		if ix.pgTable {
			// Renamed in a subquery (which PostgreSQL flattens into the join): the
			// listing's own columns (id) stay unambiguous.
			w.join = ` JOIN (SELECT id AS fts_id, search_doc AS fts_search_doc FROM ` + ix.table + `_fts) fts ON fts.fts_id = ` +
				ix.table + `.id`
			doc = "fts.fts_search_doc"
		}
		w.add(doc+" @@ to_tsquery('simple', ?)", q)
		w.rank = "ts_rank(" + doc + ", to_tsquery('simple', ?)) DESC"
		w.rankArgs = []any{q}
		return
	}
	fts := ix.table + "_fts"
	w.join = ` JOIN (SELECT rowid AS fts_rowid, bm25(` + fts + `, ` + ix.weights + `) AS fts_rank FROM ` + fts +
		` WHERE ` + fts + ` MATCH ?) fts ON fts.fts_rowid = ` + ix.table + `.rowid`
	w.joinArgs = []any{fts5Query(match)}
	w.rank = "fts.fts_rank" // bm25: lower is better
}

// ftsTerm is what the index is asked for one search term: words in sequence, the
// last one a prefix when prefix is set.
type ftsTerm struct {
	words  []string
	prefix bool
}

// planTerm splits a search term at ASCII punctuation and spaces, which both indexes
// treat as word breaks (FTS5's unicode61 tokenizer; the regexp_replace of migration
// 0200 on PostgreSQL). A term without any is a word prefix. A term with some is literal
// (a substring to confirm with LIKE), and the index is asked for the words it must
// contain: all of them but the first when the term starts with a letter or digit
// (in "k_w", "k" may end a longer word such as "disk"), the last as a prefix unless
// punctuation ends the term.
func planTerm(term string) (ft ftsTerm, literal bool) {
	isBreak := func(r rune) bool {
		return r <= unicode.MaxASCII && !('a' <= r && r <= 'z' || 'A' <= r && r <= 'Z' || '0' <= r && r <= '9')
	}
	frags := strings.FieldsFunc(term, isBreak)
	for _, f := range frags {
		if strings.IndexFunc(f, func(r rune) bool { return unicode.IsLetter(r) || unicode.IsNumber(r) }) < 0 {
			// Only symbols outside ASCII (an emoji, a dash): no index word comes of
			// it, so the term is a substring alone.
			return ftsTerm{}, true
		}
	}
	if len(frags) == 1 && frags[0] == term {
		return ftsTerm{words: frags, prefix: true}, false
	}
	if len(frags) == 0 {
		return ftsTerm{}, true
	}
	r := []rune(term)
	if !isBreak(r[0]) {
		frags = frags[1:]
	}
	return ftsTerm{words: frags, prefix: !isBreak(r[len(r)-1])}, true
}

// fts5Query writes terms as an FTS5 query: each a quoted phrase ("a b" is a followed
// by b; a trailing * makes the last word a prefix), all of them required.
func fts5Query(terms []ftsTerm) string {
	parts := make([]string, len(terms))
	for i, t := range terms {
		parts[i] = `"` + strings.ReplaceAll(strings.Join(t.words, " "), `"`, `""`) + `"`
		if t.prefix {
			parts[i] += "*"
		}
	}
	return strings.Join(parts, " AND ")
}

// tsquery writes terms as a PostgreSQL tsquery: quoted lexemes, <-> between the words
// of a term, :* on a prefix, & between terms.
func tsquery(terms []ftsTerm) string {
	esc := strings.NewReplacer(`\`, `\\`, `'`, `''`)
	parts := make([]string, len(terms))
	for i, t := range terms {
		words := make([]string, len(t.words))
		for j, wd := range t.words {
			words[j] = "'" + esc.Replace(wd) + "'"
		}
		if t.prefix {
			words[len(words)-1] += ":*"
		}
		parts[i] = "(" + strings.Join(words, " <-> ") + ")"
	}
	return strings.Join(parts, " & ")
}
