// Package evtx reads Windows XML event log files (.evtx) from the published format
// description (libevtx's "Windows XML Event Log (EVTX) format" and Microsoft's
// MS-EVEN6 binary XML): the file header, 64 KiB chunks with their string and template
// tables, event records, and binary XML with template definitions, template instances
// and typed substitution values. Every record becomes a tree in the JSON shape of
// evtx_dump (omerbenamram/evtx) and of SigmaHQ's regression data: elements by name,
// attributes under "#attributes", <Data Name="X"> under X, empty elements as null.
//
// EVTX files are attacker-influenced input: every offset and length is checked against
// the chunk, recursion and template nesting are bounded, and checksums are verified,
// so a damaged file is an error naming the chunk and record, never a panic or a hang.
package evtx

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
)

const (
	fileHeaderSize  = 4096
	chunkSize       = 65536
	chunkHeaderSize = 512
	recordHeader    = 24
)

var (
	fileMagic   = []byte("ElfFile\x00")
	chunkMagic  = []byte("ElfChnk\x00")
	recordMagic = []byte{0x2a, 0x2a, 0x00, 0x00}
)

// ErrFormat is wrapped by every error about the file's content.
var ErrFormat = errors.New("evtx")

func formatErr(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrFormat, fmt.Sprintf(format, args...))
}

// Record is one event record.
type Record struct {
	// ID is the record's EventRecordID.
	ID uint64
	// Written is the record's written time as a FILETIME (100 ns since 1601).
	Written uint64
	// Chunk is the chunk's index in the file.
	Chunk int
	// Tree is the event as nested maps: {"Event": {"#attributes": ..., "System": ..., ...}}.
	Tree map[string]any
}

// Header is what the file header says.
type Header struct {
	FirstChunk, LastChunk uint64
	NextRecordID          uint64
	MinorVersion          uint16
	MajorVersion          uint16
	Chunks                uint16
	Flags                 uint32
}

// Read reads every record of an EVTX file, in file order, and calls fn for each. It
// stops at the first error, from the file or from fn.
func Read(r io.Reader, fn func(*Record) error) error {
	data, err := io.ReadAll(r)
	if err != nil {
		return fmt.Errorf("evtx: read: %w", err)
	}
	_, err = ReadBytes(data, fn)
	return err
}

// ReadBytes is Read over a file in memory; it returns the file header.
func ReadBytes(data []byte, fn func(*Record) error) (*Header, error) {
	h, err := parseHeader(data)
	if err != nil {
		return nil, err
	}
	for i := 0; fileHeaderSize+(i+1)*chunkSize <= len(data); i++ {
		chunk := data[fileHeaderSize+i*chunkSize : fileHeaderSize+(i+1)*chunkSize]
		if !bytes.HasPrefix(chunk, chunkMagic) {
			if allZero(chunk[:8]) {
				continue // a chunk the log allocated but never wrote
			}
			return h, formatErr("chunk %d: bad signature", i)
		}
		if err := readChunk(chunk, i, fn); err != nil {
			return h, err
		}
	}
	if rest := (len(data) - fileHeaderSize) % chunkSize; rest != 0 {
		return h, formatErr("file ends %d bytes into a chunk: truncated", rest)
	}
	return h, nil
}

func allZero(b []byte) bool {
	for _, c := range b {
		if c != 0 {
			return false
		}
	}
	return true
}

func parseHeader(data []byte) (*Header, error) {
	if len(data) < fileHeaderSize {
		return nil, formatErr("file of %d bytes is shorter than its header", len(data))
	}
	if !bytes.HasPrefix(data, fileMagic) {
		return nil, formatErr("not an EVTX file (no ElfFile signature)")
	}
	le := binary.LittleEndian
	h := &Header{
		FirstChunk: le.Uint64(data[8:]), LastChunk: le.Uint64(data[16:]), NextRecordID: le.Uint64(data[24:]),
		MinorVersion: le.Uint16(data[36:]), MajorVersion: le.Uint16(data[38:]), Chunks: le.Uint16(data[42:]),
		Flags: le.Uint32(data[120:]),
	}
	if size := le.Uint32(data[32:]); size != 128 {
		return nil, formatErr("file header size %d, want 128", size)
	}
	if h.MajorVersion != 3 {
		return nil, formatErr("format version %d.%d, want 3.x", h.MajorVersion, h.MinorVersion)
	}
	if sum := crc32.ChecksumIEEE(data[:120]); sum != le.Uint32(data[124:]) {
		return nil, formatErr("file header checksum %08x, header says %08x", sum, le.Uint32(data[124:]))
	}
	return h, nil
}

func readChunk(c []byte, index int, fn func(*Record) error) error {
	le := binary.LittleEndian
	if size := le.Uint32(c[40:]); size != 128 {
		return formatErr("chunk %d: header size %d, want 128", index, size)
	}
	headerSum := crc32.NewIEEE()
	headerSum.Write(c[:120])
	headerSum.Write(c[128:chunkHeaderSize])
	if got := headerSum.Sum32(); got != le.Uint32(c[124:]) {
		return formatErr("chunk %d: header checksum %08x, chunk says %08x", index, got, le.Uint32(c[124:]))
	}
	free := le.Uint32(c[48:])
	if free < chunkHeaderSize || free > chunkSize {
		return formatErr("chunk %d: free space offset %d out of range", index, free)
	}
	if got := crc32.ChecksumIEEE(c[chunkHeaderSize:free]); got != le.Uint32(c[52:]) {
		return formatErr("chunk %d: records checksum %08x, chunk says %08x", index, got, le.Uint32(c[52:]))
	}
	p := &chunkParser{data: c, templates: map[uint32]*template{}, names: map[uint32]string{}}
	for off := uint32(chunkHeaderSize); off+recordHeader <= free; {
		rec := c[off:]
		if !bytes.HasPrefix(rec, recordMagic) {
			return formatErr("chunk %d: offset %d: bad record signature", index, off)
		}
		size := le.Uint32(rec[4:])
		if size < recordHeader+4 || off+size > free {
			return formatErr("chunk %d: offset %d: record size %d out of range", index, off, size)
		}
		if le.Uint32(rec[size-4:]) != size {
			return formatErr("chunk %d: offset %d: record sizes disagree", index, off)
		}
		id := le.Uint64(rec[8:])
		tree, err := p.record(off+recordHeader, off+size-4)
		if err != nil {
			return fmt.Errorf("chunk %d: record %d: %w", index, id, err)
		}
		if err := fn(&Record{ID: id, Written: le.Uint64(rec[16:]), Chunk: index, Tree: tree}); err != nil {
			return err
		}
		off += size
	}
	return nil
}
