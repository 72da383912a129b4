// Package csvfile reads CSV files that have a header row, and says on which
// line of the file every row and every problem is, so an importer's
// warnings point at the line a person has to fix.
//
//	r, err := csvfile.NewReader(f, csvfile.Options{Required: []string{"id", "name"}})
//	if err != nil { return fmt.Errorf("%s: %w", name, err) }   // "line 1: ..."
//	for {
//		row, err := r.Next()
//		if errors.Is(err, io.EOF) { break }
//		var re *csvfile.RowError
//		if errors.As(err, &re) { out.Warn(name, re.Line, "", "skipped row", re.Err.Error()); continue }
//		if err != nil { return err }
//		out.RecordAt(recordFrom(row), name, row.Line)
//	}
package csvfile

import (
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
)

// Options shape a Reader. The zero value reads comma-separated files with
// any columns.
type Options struct {
	// Comma is the field delimiter; 0 means ','.
	Comma rune
	// Required columns must be in the header.
	Required []string
	// Known columns, if set, are the ones the importer reads; the others are
	// reported by Unknown. Required columns are always known.
	Known []string
}

// Reader reads rows of a CSV file by column name. Header names are trimmed,
// lower-cased and stripped of Excel's byte-order mark.
type Reader struct {
	r       *csv.Reader
	columns []string
	index   map[string]int
	unknown []string
}

// NewReader reads the header. A file without one, a column named twice and
// a missing required column are errors that say "line 1"; an empty file is
// io.EOF.
func NewReader(r io.Reader, opts Options) (*Reader, error) {
	cr := csv.NewReader(r)
	if opts.Comma != 0 {
		cr.Comma = opts.Comma
	}
	cr.FieldsPerRecord = -1 // row length is checked per row, as a RowError
	cr.ReuseRecord = false
	header, err := cr.Read()
	if errors.Is(err, io.EOF) {
		return nil, io.EOF
	}
	if err != nil {
		return nil, fmt.Errorf("line 1: read header: %w", err)
	}
	rd := &Reader{r: cr, index: map[string]int{}}
	known := append(slices.Clone(opts.Known), opts.Required...)
	for i, h := range header {
		if i == 0 {
			h = strings.TrimPrefix(h, "\ufeff")
		}
		c := strings.ToLower(strings.TrimSpace(h))
		if _, dup := rd.index[c]; dup {
			return nil, fmt.Errorf("line 1: column %q appears twice", c)
		}
		rd.index[c] = i
		rd.columns = append(rd.columns, c)
		if len(opts.Known) > 0 && !slices.Contains(known, c) {
			rd.unknown = append(rd.unknown, c)
		}
	}
	for _, c := range opts.Required {
		if _, ok := rd.index[c]; !ok {
			return nil, fmt.Errorf("line 1: the header lacks the required column %q (it has %s)", c, strings.Join(rd.columns, ", "))
		}
	}
	return rd, nil
}

// Columns returns the normalised header, in file order.
func (r *Reader) Columns() []string { return slices.Clone(r.columns) }

// Has reports whether the header has column c.
func (r *Reader) Has(c string) bool { _, ok := r.index[c]; return ok }

// Unknown returns the header's columns that Options.Known does not list.
func (r *Reader) Unknown() []string { return slices.Clone(r.unknown) }

// Row is one data row.
type Row struct {
	// Line is the line the row starts on (rows with quoted newlines span
	// several lines).
	Line   int
	fields []string
	index  map[string]int
}

// Get returns the trimmed value of column c, or "" when the file has no such
// column.
func (r Row) Get(c string) string {
	i, ok := r.index[c]
	if !ok {
		return ""
	}
	return strings.TrimSpace(r.fields[i])
}

// RowError is a row the reader could not use: malformed quoting, or a number
// of fields that differs from the header. Reading can go on after it.
type RowError struct {
	Line int
	Err  error
}

func (e *RowError) Error() string { return fmt.Sprintf("line %d: %v", e.Line, e.Err) }
func (e *RowError) Unwrap() error { return e.Err }

// Next returns the next row, io.EOF after the last, a *RowError for a row
// to skip, or another error when the file cannot be read any further.
func (r *Reader) Next() (Row, error) {
	fields, err := r.r.Read()
	if errors.Is(err, io.EOF) {
		return Row{}, io.EOF
	}
	var pe *csv.ParseError
	if errors.As(err, &pe) {
		return Row{}, &RowError{Line: pe.StartLine, Err: pe.Err}
	}
	if err != nil {
		return Row{}, err
	}
	line, _ := r.r.FieldPos(0)
	if len(fields) != len(r.columns) {
		return Row{}, &RowError{Line: line, Err: fmt.Errorf("row has %d fields, the header has %d", len(fields), len(r.columns))}
	}
	return Row{Line: line, fields: fields, index: r.index}, nil
}
