package importer

import (
	"bytes"
	"compress/gzip"
	"encoding/base64"
	"fmt"
	"testing"
)

// TestPackRecordReusesWritersWithoutChangingBytes: the pooled gzip writers give the
// same stored text as a new writer per record, record after record.
func TestPackRecordReusesWritersWithoutChangingBytes(t *testing.T) {
	for i := range 50 {
		data := bytes.Repeat([]byte(fmt.Sprintf(`{"id":"T%04d","name":"n"}`, i)), 1+i%7)
		got, err := packRecord(data)
		if err != nil {
			t.Fatal(err)
		}
		var b bytes.Buffer
		w, _ := gzip.NewWriterLevel(&b, gzip.BestSpeed)
		w.Write(data)
		w.Close()
		if want := base64.StdEncoding.EncodeToString(b.Bytes()); got != want {
			t.Fatalf("record %d: pooled writer gave %q, a new one %q", i, got, want)
		}
	}
}

// BenchmarkPackRecord packs a 2 KB record: "new-writer" allocates a gzip writer per
// record as before issue 11, "pooled" is packRecord.
func BenchmarkPackRecord(b *testing.B) {
	data := bytes.Repeat([]byte(`{"id":"T1059.001","name":"PowerShell","platforms":["windows"]},`), 32)
	b.Run("new-writer", func(b *testing.B) {
		b.ReportAllocs()
		for range b.N {
			var buf bytes.Buffer
			w, _ := gzip.NewWriterLevel(&buf, gzip.BestSpeed)
			w.Write(data)
			w.Close()
			_ = base64.StdEncoding.EncodeToString(buf.Bytes())
		}
	})
	b.Run("pooled", func(b *testing.B) {
		b.ReportAllocs()
		for range b.N {
			if _, err := packRecord(data); err != nil {
				b.Fatal(err)
			}
		}
	})
}
