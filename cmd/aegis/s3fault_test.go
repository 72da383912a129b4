package main

// Issue 16: the S3 server going away in the middle of an evidence upload.

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/aegis-sec/aegis/api"
	"github.com/aegis-sec/aegis/core"
	"github.com/aegis-sec/aegis/core/blobstore"
	"github.com/aegis-sec/aegis/core/blobstore/blobtest"
	"github.com/aegis-sec/aegis/core/config"
	"github.com/aegis-sec/aegis/core/evidence"
	"github.com/aegis-sec/aegis/core/store"
)

// s3Evidence is the evidence block of a configuration on bucket of gateway g.
func s3Evidence(g *blobtest.VersityGW, bucket string) string {
	return fmt.Sprintf("evidence {\n  backend = \"s3\"\n  s3 {\n    endpoint = %q\n    bucket = %q\n    access_key = %q\n    secret_key = %q\n    use_ssl = false\n    part_size = \"5MiB\"\n  }\n}\n",
		g.Endpoint, bucket, g.Access, g.Secret)
}

// upload sends size bytes of text as evidence of test id through a pipe; once sent
// bytes have gone (the server read them), midway runs before the rest is sent.
func upload(hc *httpClient, id string, size, sent int, midway func()) (int, []byte) {
	pr, pw := io.Pipe()
	mw := multipart.NewWriter(pw)
	go func() {
		fw, err := mw.CreateFormFile("file", "capture.log")
		if err != nil {
			pw.CloseWithError(err)
			return
		}
		line := bytes.Repeat([]byte("4624 an account was successfully logged on\n"), 1<<10) // 44 KiB
		for n := 0; n < size; n += len(line) {
			if n >= sent && midway != nil {
				midway()
				midway = nil
			}
			if _, err := fw.Write(line); err != nil {
				pw.CloseWithError(err)
				return
			}
		}
		mw.Close()
		pw.Close()
	}()
	req, _ := http.NewRequest(http.MethodPost, hc.base+"/api/v1/tests/"+id+"/evidence", pr)
	req.Header.Set("Content-Type", mw.FormDataContentType())
	req.Header.Set(api.CSRFHeader, hc.csrf)
	resp, err := hc.c.Do(req)
	// The server may answer before it has read everything: the writer stops then
	// instead of waiting on the pipe for ever.
	pr.Close()
	if err != nil {
		return 0, []byte(err.Error())
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, body
}

// The S3 server is killed while a 12 MiB file streams into it (two 5 MiB parts sent,
// the third on its way): the client gets 503 saying the evidence store did not take
// the file, and no evidence row is written. Once S3 is back, the cleanup job's sweep
// leaves the bucket empty (no object, no incomplete multipart upload), and an
// upload succeeds on the same running server.
func TestS3GoesAwayDuringUpload(t *testing.T) {
	g := blobtest.NewVersityGW(t)
	bucket := g.NewBucket(t)
	e := newFaultEnv(t, store.SQLite, s3Evidence(g, bucket))
	base := startServer(t, e.cfg)
	red := signIn(t, base, "red", faultPassword)
	red.c.Timeout = time.Minute
	te := startedTest(t, red, "evidence while S3 dies")

	const size, sent = 12 << 20, 11 << 20
	code, body := upload(red, te.ID, size, sent, g.Kill)
	t.Logf("S3 killed mid-upload: %d %s", code, body)
	if code != http.StatusServiceUnavailable || !strings.Contains(string(body), "evidence store") {
		t.Errorf("upload while S3 died: %d %s, want 503 naming the evidence store", code, body)
	}
	if n := count(t, e.st, `SELECT COUNT(*) FROM evidences`); n != 0 {
		t.Errorf("%d evidence rows after the failed upload", n)
	}

	g.Start(t)
	cfg, err := config.Load(e.cfg)
	if err != nil {
		t.Fatal(err)
	}
	blobs, err := blobstore.Open(cfg.Evidence)
	if err != nil {
		t.Fatal(err)
	}
	// The cleanup job's sweep, without its day of grace.
	if _, err := evidence.NewService(e.st, blobs, evidence.Limits{}, nil).SweepOrphans(context.Background(), 0); err != nil {
		t.Fatal(err)
	}
	if left := g.Contents(t, bucket); len(left) != 0 {
		t.Errorf("the bucket after the cleanup holds %v", left)
	}

	code, body = upload(red, te.ID, 1<<20, 0, nil)
	var ev core.Evidence
	if json.Unmarshal(body, &ev); code != http.StatusCreated || ev.SizeBytes < 1<<20 {
		t.Fatalf("upload once S3 is back: %d %s", code, body)
	}
	if left := g.Contents(t, bucket); len(left) != 1 || !strings.HasSuffix(left[0], ev.ID) {
		t.Errorf("the bucket holds %v, want the one blob of evidence %s", left, ev.ID)
	}
}
