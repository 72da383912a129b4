package evtx

import (
	"encoding/binary"
	"errors"
	"hash/crc32"
	"os"
	"testing"
)

// sample returns one real EVTX file of the regression data, or skips.
func sample(t testing.TB) []byte {
	files := evtxFiles(t)
	data, err := os.ReadFile(files[0])
	if err != nil {
		t.Fatal(err)
	}
	return data
}

// resum rewrites the checksums of the file header and of the first chunk, so that a
// test can damage the content behind them and reach the binary XML parser.
func resum(data []byte) {
	le := binary.LittleEndian
	le.PutUint32(data[124:], crc32.ChecksumIEEE(data[:120]))
	c := data[fileHeaderSize : fileHeaderSize+chunkSize]
	free := le.Uint32(c[48:])
	if free >= chunkHeaderSize && free <= chunkSize {
		le.PutUint32(c[52:], crc32.ChecksumIEEE(c[chunkHeaderSize:free]))
	}
	h := crc32.NewIEEE()
	h.Write(c[:120])
	h.Write(c[128:chunkHeaderSize])
	le.PutUint32(c[124:], h.Sum32())
}

func TestDamageIsAnError(t *testing.T) {
	good := sample(t)
	cases := map[string]func([]byte) []byte{
		"truncated":        func(b []byte) []byte { return b[:len(b)-100] },
		"header checksum":  func(b []byte) []byte { b[60] ^= 1; return b },
		"records checksum": func(b []byte) []byte { b[fileHeaderSize+600] ^= 1; return b },
		"not evtx":         func(b []byte) []byte { b[0] = 'X'; return b },
		"short":            func(b []byte) []byte { return b[:100] },
		"bad chunk magic":  func(b []byte) []byte { b[fileHeaderSize] = 'X'; return b },
		"record size": func(b []byte) []byte {
			binary.LittleEndian.PutUint32(b[fileHeaderSize+512+4:], 1<<30)
			resum(b)
			return b
		},
		"record magic":       func(b []byte) []byte { b[fileHeaderSize+512] = 0; resum(b); return b },
		"binary XML garbage": func(b []byte) []byte { b[fileHeaderSize+512+24] = 0x3f; resum(b); return b },
	}
	for name, damage := range cases {
		data := damage(append([]byte(nil), good...))
		n := 0
		_, err := ReadBytes(data, func(*Record) error { n++; return nil })
		if !errors.Is(err, ErrFormat) {
			t.Errorf("%s: want a format error, got %v after %d records", name, err, n)
		}
	}
}

// FuzzRead feeds damaged EVTX files to the reader: it must return records or an
// error, never panic or hang. Checksums are recomputed so that mutations reach the
// chunk and binary XML parsers instead of stopping at the first checksum.
func FuzzRead(f *testing.F) {
	good := sample(f)
	f.Add(good[fileHeaderSize:fileHeaderSize+4096], 0)
	f.Add(good[fileHeaderSize+512:fileHeaderSize+1024], 512)
	f.Fuzz(func(t *testing.T, patch []byte, at int) {
		data := append([]byte(nil), good...)
		if at < 0 {
			at = -at
		}
		at %= len(data)
		copy(data[at:], patch)
		resum(data)
		_, _ = ReadBytes(data, func(r *Record) error {
			if r.Tree == nil {
				t.Fatal("record without a tree")
			}
			return nil
		})
	})
}
