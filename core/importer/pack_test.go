package importer

import (
	"bytes"
	"compress/gzip"
	"encoding/base64"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/aegis-sec/aegis/core"
	"github.com/aegis-sec/aegis/sdk"
	kgzip "github.com/klauspost/compress/gzip"
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
		w, _ := kgzip.NewWriterLevel(&b, kgzip.BestSpeed)
		w.Write(data)
		w.Close()
		if want := base64.StdEncoding.EncodeToString(b.Bytes()); got != want {
			t.Fatalf("record %d: pooled writer gave %q, a new one %q", i, got, want)
		}
	}
}

// TestPackedRecordsReadBothWays: rows packed by the standard library's gzip (every row
// written before klauspost/compress) unpack, and packRecord's rows are plain gzip that
// the standard library reads, so a database and its exports stay readable either way.
func TestPackedRecordsReadBothWays(t *testing.T) {
	data := []byte(`{"kind":"detection_rule","external_id":"r1","title":"Encoded PowerShell","format":"sigma","query":"CommandLine|contains: -enc","techniques":["T1059.001"]}`)
	var b bytes.Buffer
	w, _ := gzip.NewWriterLevel(&b, gzip.BestSpeed)
	w.Write(data)
	w.Close()
	old := &core.ImportRecord{Kind: sdk.KindDetectionRule, ExternalID: "r1", Data: base64.StdEncoding.EncodeToString(b.Bytes())}
	rec, err := unpackRecord(old)
	if err != nil {
		t.Fatal(err)
	}
	if r, ok := rec.(*sdk.DetectionRule); !ok || r.Title != "Encoded PowerShell" {
		t.Fatalf("a row packed by compress/gzip unpacks to %#v", rec)
	}
	packed, err := packRecord(data)
	if err != nil {
		t.Fatal(err)
	}
	raw, _ := base64.StdEncoding.DecodeString(packed)
	r, err := gzip.NewReader(bytes.NewReader(raw))
	if err != nil {
		t.Fatal(err)
	}
	got, err := io.ReadAll(r)
	if err != nil || !bytes.Equal(got, data) {
		t.Fatalf("compress/gzip reads a packed row as %q (%v)", got, err)
	}
}

// BenchmarkPackRecord packs a 2 KB record: "new-writer" allocates a standard-library
// gzip writer per record as before issue 11, "stdlib-pooled" reuses one, "pooled" is
// packRecord (klauspost/compress, reused).
func BenchmarkPackRecord(b *testing.B) {
	data := bytes.Repeat([]byte(`{"id":"T1059.001","name":"PowerShell","platforms":["windows"]},`), 32)
	b.Run("new-writer", func(b *testing.B) {
		b.ReportAllocs()
		for range b.N {
			var buf bytes.Buffer
			w, _ := gzip.NewWriterLevel(&buf, gzip.BestSpeed) // the standard library's
			w.Write(data)
			w.Close()
			_ = base64.StdEncoding.EncodeToString(buf.Bytes())
		}
	})
	// The standard library's writer, pooled as packRecord pooled it before
	// klauspost/compress.
	std, _ := gzip.NewWriterLevel(nil, gzip.BestSpeed)
	b.Run("stdlib-pooled", func(b *testing.B) {
		b.ReportAllocs()
		for range b.N {
			var buf bytes.Buffer
			std.Reset(&buf)
			std.Write(data)
			std.Close()
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

// BenchmarkPackElasticRules packs the text of the Elastic rules under
// $AEGIS_UPSTREAM_DIR/detection-rules/rules (the bulk of an Elastic record), one op per
// rule, with the standard library's gzip (pooled, as before) and with packRecord.
func BenchmarkPackElasticRules(b *testing.B) {
	dir := os.Getenv("AEGIS_UPSTREAM_DIR")
	if dir == "" {
		b.Skip("AEGIS_UPSTREAM_DIR is not set")
	}
	var texts [][]byte
	filepath.WalkDir(filepath.Join(dir, "detection-rules", "rules"), func(p string, d fs.DirEntry, err error) error {
		if err == nil && strings.HasSuffix(p, ".toml") {
			if data, err := os.ReadFile(p); err == nil {
				texts = append(texts, data)
			}
		}
		return nil
	})
	if len(texts) == 0 {
		b.Skip("no Elastic rules under " + dir)
	}
	std, _ := gzip.NewWriterLevel(nil, gzip.BestSpeed)
	b.Run("stdlib-pooled", func(b *testing.B) {
		for i := range b.N {
			var buf bytes.Buffer
			std.Reset(&buf)
			std.Write(texts[i%len(texts)])
			std.Close()
			_ = base64.StdEncoding.EncodeToString(buf.Bytes())
		}
	})
	b.Run("pooled", func(b *testing.B) {
		for i := range b.N {
			if _, err := packRecord(texts[i%len(texts)]); err != nil {
				b.Fatal(err)
			}
		}
	})
}
