package api_test

import (
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"net/textproto"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/aegis-sec/aegis/api/apitest"
	"github.com/aegis-sec/aegis/core"
	"github.com/aegis-sec/aegis/core/store"
	"github.com/aegis-sec/aegis/core/store/storetest"
)

// upload posts a multipart form the way a browser does: fields, then the file part.
// The file name goes into the part header as given, control characters included.
func upload(t *testing.T, c *apitest.Client, testID string, fields map[string]string, name string, data []byte) *httptest.ResponseRecorder {
	t.Helper()
	var body bytes.Buffer
	w := multipart.NewWriter(&body)
	for k, v := range fields {
		w.WriteField(k, v)
	}
	h := textproto.MIMEHeader{}
	disposition := fmt.Sprintf(`form-data; name="file"; filename="%s"`, strings.ReplaceAll(name, `"`, `\"`))
	if strings.ContainsFunc(name, func(r rune) bool { return r < 0x20 }) {
		// A raw control character is not allowed in a header line; RFC 2231 encoding is
		// how a client gets one through to the server.
		disposition = `form-data; name="file"; filename*=UTF-8''` + url.PathEscape(name)
	}
	h.Set("Content-Disposition", disposition)
	h.Set("Content-Type", "application/octet-stream")
	part, err := w.CreatePart(h)
	if err != nil {
		t.Fatal(err)
	}
	part.Write(data)
	w.Close()
	req := httptest.NewRequest(http.MethodPost, "/api/v1/tests/"+testID+"/evidence", &body)
	req.Header.Set("Content-Type", w.FormDataContentType())
	req.AddCookie(&http.Cookie{Name: "aegis_session", Value: c.Cookie})
	req.Header.Set("X-CSRF-Token", c.CSRF)
	rec := httptest.NewRecorder()
	c.H.ServeHTTP(rec, req)
	return rec
}

func blobFiles(t *testing.T, dir string) []string {
	t.Helper()
	var out []string
	filepath.Walk(dir, func(p string, fi os.FileInfo, err error) error {
		if err == nil && !fi.IsDir() {
			rel, _ := filepath.Rel(dir, p)
			out = append(out, filepath.ToSlash(rel))
		}
		return err
	})
	return out
}

func TestEvidenceHTTP(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		const limit = 8 << 10
		e := newFlowEnv(t, st, limit)
		red, blue := e.as[core.RoleRedTech], e.as[core.RoleBlueTech]
		var te testBody
		red.Want(http.StatusCreated, http.MethodPost, "/api/v1/tests", map[string]any{"title": "t", "technique_id": "T1059"}, &te)

		data := []byte("2026-05-01 12:00:00 whoami /all executed on host1\n")
		rec := upload(t, red, te.ID, map[string]string{"description": "console output"}, "output.log", data)
		if rec.Code != http.StatusCreated {
			t.Fatalf("upload: %d %s", rec.Code, rec.Body)
		}
		var ev core.Evidence
		apitest.Decode(t, rec, &ev)
		sum := sha256.Sum256(data)
		if ev.Team != core.TeamRed || ev.SHA256 != hex.EncodeToString(sum[:]) || ev.SizeBytes != int64(len(data)) ||
			ev.ContentType != "text/plain; charset=utf-8" || ev.Description != "console output" || ev.FileName != "output.log" {
			t.Fatalf("uploaded: %+v", ev)
		}
		if strings.Contains(rec.Body.String(), "storage_key") {
			t.Fatal("the storage key leaks into the API")
		}

		// Download: the same bytes, as an attachment, with their digest.
		dl := red.Do(http.MethodGet, "/api/v1/evidence/"+ev.ID+"/content", nil)
		if dl.Code != http.StatusOK || !bytes.Equal(dl.Body.Bytes(), data) {
			t.Fatalf("download: %d %q", dl.Code, dl.Body)
		}
		if got := dl.Header().Get("Repr-Digest"); got != "sha-256=:"+base64.StdEncoding.EncodeToString(sum[:])+":" {
			t.Fatalf("digest header %q", got)
		}
		if cd := dl.Header().Get("Content-Disposition"); cd != `attachment; filename=output.log` {
			t.Fatalf("content disposition %q", cd)
		}
		if dl.Header().Get("X-Content-Type-Options") != "nosniff" || !strings.Contains(dl.Header().Get("Content-Security-Policy"), "sandbox") {
			t.Fatalf("download may render in the app: %v", dl.Header())
		}

		// Teams: blue cannot read red's evidence, the leads can; viewers see none.
		wantProblem(t, blue, http.StatusForbidden, http.MethodGet, "/api/v1/evidence/"+ev.ID+"/content", nil)
		e.as[core.RoleBlueLead].Want(http.StatusOK, http.MethodGet, "/api/v1/evidence/"+ev.ID, nil, nil)
		wantProblem(t, e.as[core.RoleViewer], http.StatusForbidden, http.MethodGet, "/api/v1/tests/"+te.ID+"/evidence", nil)
		if rec := upload(t, blue, te.ID, map[string]string{"team": "red"}, "x.txt", []byte("x")); rec.Code != http.StatusForbidden {
			t.Fatalf("blue uploaded red evidence: %d %s", rec.Code, rec.Body)
		}
		if rec := upload(t, blue, te.ID, nil, "blue.txt", []byte("blue notes")); rec.Code != http.StatusCreated {
			t.Fatalf("blue upload: %d %s", rec.Code, rec.Body)
		}
		var list page[core.Evidence]
		blue.Want(http.StatusOK, http.MethodGet, "/api/v1/tests/"+te.ID+"/evidence", nil, &list)
		if list.Total != 1 || list.Items[0].Team != core.TeamBlue {
			t.Fatalf("blue sees: %+v", list)
		}
		e.as[core.RoleRedLead].Want(http.StatusOK, http.MethodGet, "/api/v1/tests/"+te.ID+"/evidence", nil, &list)
		if list.Total != 2 {
			t.Fatalf("red lead sees %d", list.Total)
		}

		// Oversize: 413, and neither a row nor a blob is left.
		rowsBefore, filesBefore := len(list.Items), blobFiles(t, e.blobDir)
		for _, size := range []int{limit + 1, 4 * limit, limit + 70<<10} {
			rec := upload(t, red, te.ID, nil, "big.bin", bytes.Repeat([]byte{0xAB}, size))
			if rec.Code != http.StatusRequestEntityTooLarge {
				t.Fatalf("%d bytes over a %d limit: %d %s", size, limit, rec.Code, rec.Body)
			}
			if p := apitest.ProblemOf(t, rec); p.Code != core.ETOOLARGE {
				t.Fatalf("problem %+v", p)
			}
		}
		e.as[core.RoleAdmin].Want(http.StatusOK, http.MethodGet, "/api/v1/tests/"+te.ID+"/evidence", nil, &list)
		if list.Total != rowsBefore {
			t.Fatalf("rows after oversize uploads: %d, want %d", list.Total, rowsBefore)
		}
		if files := blobFiles(t, e.blobDir); strings.Join(files, ",") != strings.Join(filesBefore, ",") {
			t.Fatalf("oversize uploads left blobs: %v (was %v)", files, filesBefore)
		}
		if rec := upload(t, red, te.ID, nil, "exact.bin", bytes.Repeat([]byte{1}, limit)); rec.Code != http.StatusCreated {
			t.Fatalf("upload of exactly the limit: %d %s", rec.Code, rec.Body)
		}

		// Hostile names are only ever display text.
		for name, want := range map[string]string{"../../../etc/passwd": "passwd", "evil\x00.png": "evil.png", `..\..\boot.ini`: "boot.ini"} {
			rec := upload(t, red, te.ID, nil, name, []byte("payload"))
			if rec.Code != http.StatusCreated {
				t.Fatalf("upload named %q: %d %s", name, rec.Code, rec.Body)
			}
			var got core.Evidence
			apitest.Decode(t, rec, &got)
			if got.FileName != want {
				t.Errorf("name %q stored as %q, want %q", name, got.FileName, want)
			}
		}
		for _, f := range blobFiles(t, e.blobDir) {
			if !strings.HasPrefix(f, "tests/"+te.ID+"/") || strings.Count(f, "/") != 2 {
				t.Errorf("blob outside tests/<test>/<id>: %s", f)
			}
		}
		// A raw NUL in the part header is refused as a malformed form, keeping nothing.
		raw := httptest.NewRequest(http.MethodPost, "/api/v1/tests/"+te.ID+"/evidence", strings.NewReader(
			"--b\r\nContent-Disposition: form-data; name=\"file\"; filename=\"a\x00b\"\r\n\r\nx\r\n--b--\r\n"))
		raw.Header.Set("Content-Type", "multipart/form-data; boundary=b")
		raw.AddCookie(&http.Cookie{Name: "aegis_session", Value: red.Cookie})
		raw.Header.Set("X-CSRF-Token", red.CSRF)
		rrec := httptest.NewRecorder()
		e.h.ServeHTTP(rrec, raw)
		if rrec.Code != http.StatusBadRequest {
			t.Fatalf("raw NUL in a part header: %d %s", rrec.Code, rrec.Body)
		}
		if _, err := os.Stat(filepath.Join(filepath.Dir(e.blobDir), "etc")); !os.IsNotExist(err) {
			t.Fatal("a name escaped the evidence folder")
		}

		// Not multipart, no file part, unknown test.
		wantProblem(t, red, http.StatusBadRequest, http.MethodPost, "/api/v1/tests/"+te.ID+"/evidence", map[string]any{"file": "x"}, "multipart")
		if rec := upload(t, red, core.NewID(), nil, "x", []byte("x")); rec.Code != http.StatusNotFound {
			t.Fatalf("upload to a missing test: %d", rec.Code)
		}

		// Corruption: verify reports it, download refuses it with a 500 problem.
		var v struct {
			OK     bool   `json:"ok"`
			Reason string `json:"reason"`
		}
		red.Want(http.StatusOK, http.MethodPost, "/api/v1/evidence/"+ev.ID+"/verify", nil, &v)
		if !v.OK {
			t.Fatalf("intact evidence failed verification: %+v", v)
		}
		path := filepath.Join(e.blobDir, "tests", te.ID, ev.ID)
		if err := os.WriteFile(path, bytes.ToUpper(data), 0o600); err != nil {
			t.Fatal(err)
		}
		red.Want(http.StatusOK, http.MethodPost, "/api/v1/evidence/"+ev.ID+"/verify", nil, &v)
		if v.OK || !strings.Contains(v.Reason, "SHA-256") {
			t.Fatalf("corruption not reported: %+v", v)
		}
		rec = red.Do(http.MethodGet, "/api/v1/evidence/"+ev.ID+"/content", nil)
		if rec.Code != http.StatusInternalServerError || bytes.Contains(rec.Body.Bytes(), bytes.ToUpper(data)) {
			t.Fatalf("corrupted download: %d %s", rec.Code, rec.Body)
		}
		if p := apitest.ProblemOf(t, rec); !strings.Contains(p.Detail, "integrity") {
			t.Fatalf("problem %+v", p)
		}

		// Deletion: the team's other side may not, the uploader may; the blob goes, the audit stays.
		wantProblem(t, e.as[core.RoleBlueLead], http.StatusForbidden, http.MethodDelete, "/api/v1/evidence/"+ev.ID, nil)
		red.Want(http.StatusNoContent, http.MethodDelete, "/api/v1/evidence/"+ev.ID, nil, nil)
		wantProblem(t, red, http.StatusNotFound, http.MethodGet, "/api/v1/evidence/"+ev.ID, nil)
		if _, err := os.Stat(path); !os.IsNotExist(err) {
			t.Fatalf("blob kept after delete: %v", err)
		}
		var audit page[core.AuditEntry]
		e.as[core.RoleAdmin].Want(http.StatusOK, http.MethodGet, "/api/v1/audit?entity_type=evidence&entity_id="+ev.ID, nil, &audit)
		var actions []string
		for _, a := range audit.Items {
			actions = append([]string{a.Action}, actions...)
		}
		if got := strings.Join(actions, " "); got != "evidence.upload evidence.verify evidence.verify evidence.integrity_failed evidence.delete" {
			t.Fatalf("evidence audit trail: %s", got)
		}
		if rec := red.Do(http.MethodGet, "/api/v1/evidence/"+ev.ID+"/content", nil); rec.Code != http.StatusNotFound {
			t.Fatalf("download after delete: %d", rec.Code)
		}
	})
}
