package store

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
	"time"

	"github.com/aegis-sec/aegis/core"
)

// Tests are read column by column into plain values (scanTests) rather than by sqlx's
// reflection: a page of the test list is 50 rows of 39 columns, and under the mixed
// reads of BenchmarkScale sqlx's field mapping and database/sql's reflective
// conversions (an int64 into an int goes through strconv) were a large share of the
// server's CPU. Each column is scanned into an `any` (database/sql's one conversion
// that copies the driver's value as it is) and converted here by its Go type; a value
// of a type this code does not expect is an error naming the column, never a silent
// zero. TestScanMatchesReflection holds the result to sqlx's on both databases.

// testSelect is the select list of selectTests: testColumns, with SQLite's time
// columns read as their stored text (a CAST has no declared type, so the driver hands
// the text over instead of trying its layouts one after the other, a failed
// time.Parse with its error first: ~8% of the server's CPU under the mixed reads);
// sqliteTime reads the text as the driver would.
func (t *Tx) testSelect() string {
	if t.dialect == SQLite {
		return sqliteTestSelect
	}
	return testColumns
}

var sqliteTestSelect = func() string {
	cols := make([]string, len(testFields))
	for i, f := range testFields {
		cols[i] = f
		if testTimeField[f] {
			cols[i] = `CAST(` + f + ` AS TEXT)`
		}
	}
	return strings.Join(cols, ", ")
}()

// testTimeField names the time columns of tests.
var testTimeField = map[string]bool{"executed_at": true, "prevented_at": true, "alerted_at": true, "logged_at": true,
	"validated_at": true, "remediation_due": true, "remediation_completed_at": true, "created_at": true, "updated_at": true}

// query runs a statement that returns rows, as sel does.
func (t *Tx) query(ctx context.Context, q string, args ...any) (*sql.Rows, error) {
	q, st, err := t.begin(ctx, q, args)
	if err != nil {
		return nil, err
	}
	if st == nil {
		return t.tx.QueryContext(ctx, q, args...)
	}
	return st.QueryContext(ctx, args...)
}

// selectTests runs a query of testColumns and reads its rows.
func (t *Tx) selectTests(ctx context.Context, q string, args ...any) ([]*core.Test, error) {
	return selectRows(ctx, t, len(testFields), testOfRow, q, args...)
}

// selectRows runs a query of n columns and converts each row, scanned into plain
// values, with conv.
func selectRows[T any](ctx context.Context, t *Tx, n int, conv func([]any) (*T, error), q string, args ...any) ([]*T, error) {
	rows, err := t.query(ctx, q, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := []*T{}
	vals := make([]any, n)
	ptrs := make([]any, n)
	for i := range vals {
		ptrs[i] = &vals[i]
	}
	for rows.Next() {
		if err := rows.Scan(ptrs...); err != nil {
			return nil, err
		}
		v, err := conv(vals)
		if err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	return out, rows.Err()
}

// testOfRow converts one row of testColumns, in testFields' order.
func testOfRow(v []any) (*core.Test, error) {
	var te core.Test
	c := colReader{vals: v}
	te.ID = c.str(0)
	te.Title = c.str(1)
	te.Description = c.str(2)
	te.TechniqueID = c.str(3)
	te.TemplateID = c.strPtr(4)
	te.State = core.TestState(c.str(5))
	te.Version = c.int(6)
	te.Platform = c.str(7)
	te.Procedure = c.str(8)
	te.Command = c.str(9)
	te.Target = c.str(10)
	te.ExecutedAt = c.timePtr(11)
	te.ExecutedBy = c.strPtr(12)
	te.AttackOutcome = c.str(13)
	te.RedNotes = c.str(14)
	te.Prevented = c.boolPtr(15)
	te.PreventedAt = c.timePtr(16)
	te.Alerted = c.boolPtr(17)
	te.AlertedAt = c.timePtr(18)
	te.Logged = c.boolPtr(19)
	te.LoggedAt = c.timePtr(20)
	te.NotApplicable = c.bool(21)
	te.ControlOutcomes = c.json(22)
	te.BlueNotes = c.str(23)
	te.ReviewRound = c.int(24)
	te.RejectionReason = c.str(25)
	te.ValidatedAt = c.timePtr(26)
	te.RemediationOwner = c.strPtr(27)
	te.RemediationDue = c.timePtr(28)
	te.RemediationStatus = c.str(29)
	te.RemediationNotes = c.str(30)
	te.RemediationCompletedAt = c.timePtr(31)
	te.RetestOf = c.strPtr(32)
	te.RetestDepth = c.int(33)
	te.AssignedRed = c.strPtr(34)
	te.AssignedBlue = c.strPtr(35)
	te.CreatedBy = c.strPtr(36)
	te.CreatedAt = c.time(37)
	te.UpdatedAt = c.time(38)
	if c.err != nil {
		return nil, c.err
	}
	return &te, nil
}

// colReader converts scanned column values, keeping the first one it cannot (with the
// column's name) in err.
type colReader struct {
	vals []any
	err  error
	// table and names name the columns in errors; tests' by default.
	table string
	names []string
}

func (c *colReader) fail(i int, want string) {
	if c.err == nil {
		table, names := c.table, c.names
		if names == nil {
			table, names = "tests", testFields
		}
		c.err = fmt.Errorf("store: read %s.%s: %T is not a %s", table, names[i], c.vals[i], want)
	}
}

// strings reads a JSON array of strings (core.Strings).
func (c *colReader) strings(i int) core.Strings {
	var s core.Strings
	if err := s.Scan(c.vals[i]); err != nil {
		c.fail(i, "JSON array of strings")
	}
	return s
}

func (c *colReader) strPtr(i int) *string {
	if c.vals[i] == nil {
		return nil
	}
	s := c.str(i)
	return &s
}

func (c *colReader) str(i int) string {
	switch v := c.vals[i].(type) {
	case string:
		return v
	case []byte:
		return string(v)
	}
	c.fail(i, "string")
	return ""
}

func (c *colReader) int(i int) int {
	switch v := c.vals[i].(type) {
	case int64:
		return int(v)
	case int32:
		return int(v)
	case int:
		return v
	}
	c.fail(i, "integer")
	return 0
}

func (c *colReader) boolPtr(i int) *bool {
	if c.vals[i] == nil {
		return nil
	}
	b := c.bool(i)
	return &b
}

func (c *colReader) bool(i int) bool {
	switch v := c.vals[i].(type) {
	case bool:
		return v
	case int64: // SQLite stores booleans as 0 and 1
		if v == 0 || v == 1 {
			return v == 1
		}
	}
	c.fail(i, "boolean")
	return false
}

func (c *colReader) timePtr(i int) *time.Time {
	if c.vals[i] == nil {
		return nil
	}
	t := c.time(i)
	return &t
}

func (c *colReader) time(i int) time.Time {
	switch v := c.vals[i].(type) {
	case time.Time:
		return v
	case string:
		if t, ok := sqliteTime(v); ok {
			return t
		}
	}
	c.fail(i, "time")
	return time.Time{}
}

// sqliteTimeLayouts are the layouts modernc's driver tries on a time column's text, in
// its order (modernc.org/sqlite parseTimeFormats); the first is what it writes
// (_time_format=sqlite).
var sqliteTimeLayouts = []string{
	"2006-01-02 15:04:05.999999999-07:00",
	"2006-01-02T15:04:05.999999999-07:00",
	"2006-01-02 15:04:05.999999999",
	"2006-01-02T15:04:05.999999999",
	"2006-01-02 15:04",
	"2006-01-02T15:04",
	"2006-01-02",
}

// sqliteTime reads a time column's text to the time.Time modernc's driver returns
// for it (TestSQLiteTimeMatchesTheDriver): the text it writes by hand, anything else
// as the driver does, by time.String's layout and then each of sqliteTimeLayouts.
func sqliteTime(s string) (time.Time, bool) {
	if t, ok := fastSQLiteTime(s); ok {
		return t, true
	}
	str := s
	if x := strings.Index(s, "m="); x > 0 {
		str = s[:x]
	}
	if t, err := time.Parse("2006-01-02 15:04:05.999999999 -0700 MST", strings.TrimSpace(str)); err == nil {
		return t, true
	}
	ts := strings.TrimSuffix(s, "Z")
	for _, layout := range sqliteTimeLayouts {
		if t, err := time.Parse(layout, ts); err == nil {
			return t, true
		}
	}
	return time.Time{}, false
}

// fastSQLiteTime reads "2006-01-02 15:04:05[.fraction]±07:00", the layout the store
// writes, giving what time.Parse gives for it: the local zone when it has that offset
// at that time, else a fixed zone without a name. Anything else is not ok.
func fastSQLiteTime(s string) (time.Time, bool) {
	if len(s) < 25 || s[4] != '-' || s[7] != '-' || s[10] != ' ' || s[13] != ':' || s[16] != ':' {
		return time.Time{}, false
	}
	num := func(from, to int) (int, bool) {
		n := 0
		for _, c := range []byte(s[from:to]) {
			if c < '0' || c > '9' {
				return 0, false
			}
			n = n*10 + int(c-'0')
		}
		return n, true
	}
	year, ok1 := num(0, 4)
	month, ok2 := num(5, 7)
	day, ok3 := num(8, 10)
	hour, ok4 := num(11, 13)
	minute, ok5 := num(14, 16)
	sec, ok6 := num(17, 19)
	if !(ok1 && ok2 && ok3 && ok4 && ok5 && ok6) || month < 1 || month > 12 || day < 1 ||
		day > daysIn(time.Month(month), year) || hour > 23 || minute > 59 || sec > 59 {
		return time.Time{}, false
	}
	i, nsec := 19, 0
	if s[i] == '.' {
		j := i + 1
		for j < len(s) && s[j] >= '0' && s[j] <= '9' {
			j++
		}
		digits := j - i - 1
		if digits == 0 || digits > 9 {
			return time.Time{}, false
		}
		nsec, _ = num(i+1, j)
		for k := digits; k < 9; k++ {
			nsec *= 10
		}
		i = j
	}
	if len(s)-i != 6 || (s[i] != '+' && s[i] != '-') || s[i+3] != ':' {
		return time.Time{}, false
	}
	oh, okh := num(i+1, i+3)
	om, okm := num(i+4, i+6)
	if !okh || !okm || oh > 24 || om > 59 {
		return time.Time{}, false
	}
	offset := (oh*60 + om) * 60
	if s[i] == '-' {
		offset = -offset
	}
	t := time.Date(year, time.Month(month), day, hour, minute, sec, nsec, time.UTC).Add(-time.Duration(offset) * time.Second)
	if _, off := t.In(time.Local).Zone(); off == offset {
		return t.In(time.Local), true
	}
	return t.In(time.FixedZone("", offset)), true
}

func daysIn(m time.Month, year int) int {
	return time.Date(year, m+1, 0, 0, 0, 0, 0, time.UTC).Day()
}

func (c *colReader) json(i int) core.JSON {
	var j core.JSON
	if err := j.Scan(c.vals[i]); err != nil {
		c.fail(i, "JSON document")
	}
	return j
}
