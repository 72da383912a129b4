// Package jsonpos splits JSON files into their top-level members and array elements
// with the line each starts on, so importers can warn about one object by its line and
// decode the rest when one element is malformed.
package jsonpos

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
)

// Element is one member of a JSON array, with the line it starts on, so that a
// warning about a single object can point at it.
type Element struct {
	Raw  json.RawMessage
	Line int
}

// Document is a JSON file split into its top-level members. The members named
// when scanning are split further into their array elements.
type Document struct {
	Fields map[string]json.RawMessage
	Arrays map[string][]Element
	// TopArray holds the elements when the file is a JSON array, not an object.
	TopArray []Element
}

// SyntaxError is a JSON file that cannot be decoded, with the line where
// decoding stopped.
type SyntaxError struct {
	Line int
	Err  error
}

func (e *SyntaxError) Error() string { return fmt.Sprintf("line %d: %v", e.Line, e.Err) }
func (e *SyntaxError) Unwrap() error { return e.Err }

// lineCounter turns byte offsets into line numbers. Offsets must be asked for
// in increasing order, which keeps a scan of a large file linear.
type lineCounter struct {
	data []byte
	off  int
	line int
}

func (c *lineCounter) at(off int) int {
	if off > len(c.data) {
		off = len(c.data)
	}
	if off < c.off {
		c.off, c.line = 0, 1
	}
	c.line += bytes.Count(c.data[c.off:off], []byte{'\n'})
	c.off = off
	return c.line
}

// Scan decodes a JSON object (or array) and splits the named array
// members into elements with their line numbers. Only the structure is
// checked here; the elements are decoded by the caller, one by one, so that a
// malformed element costs a warning, not the file.
func Scan(data []byte, arrays ...string) (*Document, error) {
	data = BlankBOM(data)
	lines := &lineCounter{data: data, line: 1}
	dec := json.NewDecoder(bytes.NewReader(data))
	fail := func(err error) error {
		off := int(dec.InputOffset())
		var se *json.SyntaxError
		if errors.As(err, &se) {
			off = int(se.Offset)
		}
		if errors.Is(err, io.EOF) {
			err = io.ErrUnexpectedEOF
		}
		return &SyntaxError{Line: (&lineCounter{data: data, line: 1}).at(off), Err: err}
	}
	doc := &Document{Fields: map[string]json.RawMessage{}, Arrays: map[string][]Element{}}
	tok, err := dec.Token()
	if err != nil {
		return nil, fail(err)
	}
	switch tok {
	case json.Delim('['):
		els, err := scanElements(data, dec, lines)
		if err != nil {
			return nil, fail(err)
		}
		doc.TopArray = els
	case json.Delim('{'):
		for dec.More() {
			kt, err := dec.Token()
			if err != nil {
				return nil, fail(err)
			}
			key, _ := kt.(string)
			split := false
			for _, a := range arrays {
				split = split || a == key
			}
			if split && nextByte(data, int(dec.InputOffset()), ':') == '[' {
				if _, err := dec.Token(); err != nil {
					return nil, fail(err)
				}
				els, err := scanElements(data, dec, lines)
				if err != nil {
					return nil, fail(err)
				}
				doc.Arrays[key] = append(doc.Arrays[key], els...)
				continue
			}
			var raw json.RawMessage
			if err := dec.Decode(&raw); err != nil {
				return nil, fail(err)
			}
			doc.Fields[key] = raw
		}
		if _, err := dec.Token(); err != nil {
			return nil, fail(err)
		}
	default:
		return nil, fail(fmt.Errorf("want a JSON object or array, found %v", tok))
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return nil, fail(errors.New("unexpected data after the top-level value"))
	}
	return doc, nil
}

// scanElements reads array elements up to and including the closing bracket.
func scanElements(data []byte, dec *json.Decoder, lines *lineCounter) ([]Element, error) {
	var els []Element
	for dec.More() {
		start := skipSpace(data, int(dec.InputOffset()), ',')
		var raw json.RawMessage
		if err := dec.Decode(&raw); err != nil {
			return nil, err
		}
		els = append(els, Element{Raw: raw, Line: lines.at(start)})
	}
	if _, err := dec.Token(); err != nil {
		return nil, err
	}
	return els, nil
}

// skipSpace returns the offset of the first byte at or after off that is
// neither JSON whitespace nor one of the extra separators.
func skipSpace(data []byte, off int, extra ...byte) int {
	for off < len(data) {
		switch c := data[off]; {
		case c == ' ' || c == '\t' || c == '\n' || c == '\r':
		case bytes.IndexByte(extra, c) >= 0:
		default:
			return off
		}
		off++
	}
	return off
}

// nextByte is the first significant byte at or after off, skipping the
// separators given.
func nextByte(data []byte, off int, extra ...byte) byte {
	if off = skipSpace(data, off, extra...); off < len(data) {
		return data[off]
	}
	return 0
}

// BlankBOM returns data with a leading UTF-8 byte order mark (which Windows editors
// write and encoding/json refuses as "invalid character 'ï'") replaced by three
// spaces, so that every offset and line number stays what it was; data without one
// is returned as it is.
func BlankBOM(data []byte) []byte {
	if !bytes.HasPrefix(data, []byte("\xef\xbb\xbf")) {
		return data
	}
	return append([]byte("   "), data[3:]...)
}
