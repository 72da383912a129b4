package evidence_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/aegis-sec/aegis/core"
	"github.com/aegis-sec/aegis/core/blobstore/blobtest"
	"github.com/aegis-sec/aegis/core/evidence"
	"github.com/aegis-sec/aegis/core/store"
	"github.com/aegis-sec/aegis/core/store/storetest"
)

var ctx = context.Background()

type fixture struct {
	st   *store.Store
	b    blobtest.Backend
	svc  *evidence.Service
	u    map[core.Role]*core.User
	test *core.Test
}

func newFixture(t *testing.T, st *store.Store, b blobtest.Backend, l evidence.Limits) *fixture {
	t.Helper()
	f := &fixture{st: st, b: b, svc: evidence.NewService(st, b.Store, l, nil), u: map[core.Role]*core.User{}}
	f.svc.TempDir = t.TempDir()
	err := st.Update(ctx, func(tx core.Tx) error {
		for _, r := range core.Roles {
			u := &core.User{Username: string(r), Role: r, PasswordHash: "x"}
			if err := tx.CreateUser(ctx, u); err != nil {
				return err
			}
			f.u[r] = u
		}
		te := &core.Technique{ExternalID: "T1003", Name: "OS Credential Dumping", Known: true}
		if err := tx.UpsertTechnique(ctx, te); err != nil {
			return err
		}
		f.test = &core.Test{Title: "dump lsass", TechniqueID: te.ID}
		return tx.CreateTest(ctx, f.test)
	})
	if err != nil {
		t.Fatal(err)
	}
	return f
}

// on returns the fixture over another back end (same database, users and test).
func (f *fixture) on(t *testing.T, b blobtest.Backend, l evidence.Limits) *fixture {
	g := *f
	g.b, g.svc = b, evidence.NewService(f.st, b.Store, l, nil)
	g.svc.TempDir = t.TempDir()
	return &g
}

func (f *fixture) upload(t *testing.T, role core.Role, team core.Team, name string, data []byte) (*core.Evidence, error) {
	t.Helper()
	return f.svc.Upload(ctx, f.u[role], evidence.Upload{TestID: f.test.ID, Team: team, FileName: name,
		Body: bytes.NewReader(data), DeclaredSize: -1})
}

func (f *fixture) rows(t *testing.T) int {
	t.Helper()
	var n int
	if err := f.st.DB().Get(&n, `SELECT COUNT(*) FROM evidences`); err != nil {
		t.Fatal(err)
	}
	return n
}

func (f *fixture) auditActions(t *testing.T, id string) []string {
	t.Helper()
	var out []string
	f.st.View(ctx, func(tx core.Tx) error {
		list, _, err := tx.ListAudit(ctx, core.AuditFilter{EntityType: "evidence", EntityID: id})
		if err != nil {
			t.Fatal(err)
		}
		for i := len(list) - 1; i >= 0; i-- {
			out = append(out, list[i].Action)
		}
		return nil
	})
	return out
}

func hexSHA(b []byte) string { s := sha256.Sum256(b); return hex.EncodeToString(s[:]) }

var png = append([]byte("\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR"), bytes.Repeat([]byte{7}, 3000)...)

func TestUploadDownloadVerify(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		f := newFixture(t, st, blobtest.Disk(t), evidence.Limits{MaxBytes: 1 << 20})
		e, err := f.upload(t, core.RoleRedTech, "", "screen.png", png)
		if err != nil {
			t.Fatal(err)
		}
		if e.Team != core.TeamRed || e.ContentType != "image/png" || e.SizeBytes != int64(len(png)) || e.SHA256 != hexSHA(png) {
			t.Fatalf("recorded: %+v", e)
		}
		if !strings.HasPrefix(e.StorageKey, "tests/"+f.test.ID+"/") || strings.Contains(e.StorageKey, "screen") {
			t.Fatalf("storage key %q is not made of ids", e.StorageKey)
		}
		got, rc, err := f.svc.Open(ctx, f.u[core.RoleBlueLead], e.ID)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(rc)
		rc.Close()
		if !bytes.Equal(body, png) || got.SHA256 != e.SHA256 {
			t.Fatal("download differs from upload")
		}
		v, err := f.svc.Verify(ctx, f.u[core.RoleRedLead], e.ID)
		if err != nil || !v.OK || v.ActualSHA256 != e.SHA256 || v.ActualSize != e.SizeBytes {
			t.Fatalf("verify: %+v %v", v, err)
		}
		after, _ := f.svc.Get(ctx, f.u[core.RoleAdmin], e.ID)
		if after.VerifiedAt == nil {
			t.Fatal("verified_at not stamped")
		}
		if got := strings.Join(f.auditActions(t, e.ID), " "); got != "evidence.upload evidence.verify" {
			t.Fatalf("audit: %s", got)
		}
	})
}

func TestEvidencePermissions(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		f := newFixture(t, st, blobtest.Disk(t), evidence.Limits{})
		red, err := f.upload(t, core.RoleRedTech, core.TeamRed, "r.txt", []byte("red log"))
		if err != nil {
			t.Fatal(err)
		}
		blue, err := f.upload(t, core.RoleBlueLead, "", "b.txt", []byte("blue log"))
		if err != nil || blue.Team != core.TeamBlue {
			t.Fatalf("blue upload: %+v %v", blue, err)
		}
		if _, err := f.upload(t, core.RoleBlueTech, core.TeamRed, "x", []byte("x")); core.ErrorCode(err) != core.EFORBIDDEN {
			t.Fatalf("blue tech uploaded red evidence: %v", err)
		}
		if _, err := f.upload(t, core.RoleAdmin, "", "x", []byte("x")); core.ErrorCode(err) != core.EINVALID {
			t.Fatalf("admin upload without team: %v", err)
		}
		if _, err := f.upload(t, core.RoleViewer, core.TeamRed, "x", []byte("x")); core.ErrorCode(err) != core.EFORBIDDEN {
			t.Fatalf("viewer uploaded: %v", err)
		}
		if _, err := f.upload(t, core.RoleAdmin, core.TeamBlue, "x", []byte("admin")); err != nil {
			t.Fatalf("admin upload: %v", err)
		}
		read := []struct {
			role     core.Role
			ev       *core.Evidence
			mayRead  bool
			listSize int
		}{
			{core.RoleRedTech, red, true, 1}, {core.RoleRedTech, blue, false, 1},
			{core.RoleBlueTech, blue, true, 2}, {core.RoleBlueTech, red, false, 2},
			{core.RoleRedLead, blue, true, 3}, {core.RoleBlueLead, red, true, 3}, {core.RoleAdmin, red, true, 3},
			{core.RoleViewer, red, false, -1},
		}
		for _, c := range read {
			_, rc, err := f.svc.Open(ctx, f.u[c.role], c.ev.ID)
			if c.mayRead != (err == nil) {
				t.Errorf("%s reading %s evidence: %v", c.role, c.ev.Team, err)
			}
			if err == nil {
				rc.Close()
			} else if core.ErrorCode(err) != core.EFORBIDDEN {
				t.Errorf("%s: %v, want forbidden", c.role, err)
			}
			if _, err := f.svc.Verify(ctx, f.u[c.role], c.ev.ID); c.mayRead != (err == nil) {
				t.Errorf("%s verifying %s evidence: %v", c.role, c.ev.Team, err)
			}
			list, total, err := f.svc.List(ctx, f.u[c.role], f.test.ID, core.Page{})
			if c.listSize < 0 {
				if core.ErrorCode(err) != core.EFORBIDDEN {
					t.Errorf("%s listed evidence: %v", c.role, err)
				}
			} else if err != nil || total != c.listSize || len(list) != c.listSize {
				t.Errorf("%s lists %d/%d, want %d (%v)", c.role, len(list), total, c.listSize, err)
			}
		}
		// Deletion: not by the other team, yes by the uploader.
		if err := f.svc.Delete(ctx, f.u[core.RoleBlueLead], red.ID); core.ErrorCode(err) != core.EFORBIDDEN {
			t.Fatalf("blue lead deleted red evidence: %v", err)
		}
		if err := f.svc.Delete(ctx, f.u[core.RoleRedLead], blue.ID); core.ErrorCode(err) != core.EFORBIDDEN {
			t.Fatalf("red lead deleted blue evidence: %v", err)
		}
		if err := f.svc.Delete(ctx, f.u[core.RoleRedTech], red.ID); err != nil {
			t.Fatalf("uploader could not delete: %v", err)
		}
		if _, err := f.b.Store.Stat(ctx, red.StorageKey); core.ErrorCode(err) != core.ENOTFOUND {
			t.Fatalf("blob kept after delete: %v", err)
		}
		if _, err := f.svc.Get(ctx, f.u[core.RoleAdmin], red.ID); core.ErrorCode(err) != core.ENOTFOUND {
			t.Fatalf("row kept after delete: %v", err)
		}
		if got := strings.Join(f.auditActions(t, red.ID), " "); !strings.HasPrefix(got, "evidence.upload ") || !strings.HasSuffix(got, " evidence.delete") {
			t.Fatalf("delete not audited: %s", got)
		}
		st.View(ctx, func(tx core.Tx) error {
			v, err := tx.VerifyAudit(ctx)
			if err != nil || !v.OK {
				t.Errorf("audit chain: %+v %v", v, err)
			}
			return nil
		})
	})
}

func TestOversizeUploadLeavesNothing(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		base := newFixture(t, st, blobtest.Disk(t), evidence.Limits{MaxBytes: 4096})
		for _, b := range []blobtest.Backend{base.b, s3BackendIfAny(t, st.Dialect())} {
			if b.Store == nil {
				continue
			}
			f := base.on(t, b, evidence.Limits{MaxBytes: 4096})
			before := f.rows(t)
			// Exactly at the limit is fine; one byte more is not.
			if _, err := f.upload(t, core.RoleRedTech, "", "ok.bin", blobtest.RandomBytes(t, 4096)); err != nil {
				t.Fatalf("%s: upload at the limit: %v", b.Name, err)
			}
			files := b.Files(t)
			for _, size := range []int{4097, 64 << 10} {
				_, err := f.upload(t, core.RoleRedTech, "", "big.bin", blobtest.RandomBytes(t, size))
				if core.ErrorCode(err) != core.ETOOLARGE {
					t.Fatalf("%s: %d bytes over a 4096 limit: %v", b.Name, size, err)
				}
			}
			_, err := f.svc.Upload(ctx, f.u[core.RoleRedTech], evidence.Upload{TestID: f.test.ID, FileName: "x",
				Body: strings.NewReader("small"), DeclaredSize: 1 << 30})
			if core.ErrorCode(err) != core.ETOOLARGE {
				t.Fatalf("%s: declared size over the limit: %v", b.Name, err)
			}
			if n := f.rows(t); n != before+1 {
				t.Fatalf("%s: %d rows after refused uploads, want %d", b.Name, n, before+1)
			}
			if after := b.Files(t); strings.Join(after, ",") != strings.Join(files, ",") {
				t.Fatalf("%s: refused uploads left blobs: before %v, after %v", b.Name, files, after)
			}
		}
	})
}

// s3BackendIfAny adds the S3 back end to a test once (on SQLite), so the service is
// exercised over S3 without starting a gateway per database.
// Without an S3 server the disk half still runs (TestS3Conformance reports the skip).
func s3BackendIfAny(t *testing.T, dialect string) blobtest.Backend {
	if dialect != store.SQLite {
		return blobtest.Backend{}
	}
	if _, err := exec.LookPath("versitygw"); err != nil && os.Getenv("AEGIS_TEST_S3_ENDPOINT") == "" {
		t.Log("no S3 server: the S3 half of this test does not run")
		return blobtest.Backend{}
	}
	return blobtest.S3(t)
}

func TestAllowedTypes(t *testing.T) {
	f := newFixture(t, storetest.Open(t, store.SQLite), blobtest.Disk(t), evidence.Limits{AllowedTypes: []string{"image/png", "text/*"}})
	if _, err := f.upload(t, core.RoleRedTech, "", "a.png", png); err != nil {
		t.Fatal(err)
	}
	if _, err := f.upload(t, core.RoleRedTech, "", "a.log", []byte("plain text log line\n")); err != nil {
		t.Fatal(err)
	}
	// The client's name and claim do not matter: the bytes are an executable.
	_, err := f.upload(t, core.RoleRedTech, "", "innocent.png", append([]byte("MZ\x90\x00\x03"), make([]byte, 600)...))
	if core.ErrorCode(err) != core.EINVALID || !strings.Contains(core.ErrorMessage(err), "application/octet-stream") {
		t.Fatalf("disallowed type: %v", err)
	}
	if n, files := f.rows(t), f.b.Files(t); n != 2 || len(files) != 2 {
		t.Fatalf("refused type left %d rows, %d blobs", n, len(files))
	}
	for _, c := range []struct {
		ct      string
		allowed []string
		want    bool
	}{
		{"text/plain; charset=utf-8", []string{"text/*"}, true},
		{"text/plain; charset=utf-8", []string{"TEXT/PLAIN"}, true},
		{"application/json", []string{"text/*"}, false},
		{"image/png", nil, true},
		{"textual/x", []string{"text/*"}, false},
	} {
		if got := evidence.TypeAllowed(c.ct, c.allowed); got != c.want {
			t.Errorf("TypeAllowed(%q, %v) = %v", c.ct, c.allowed, got)
		}
	}
}

func TestHostileFileNames(t *testing.T) {
	b := blobtest.Disk(t)
	f := newFixture(t, storetest.Open(t, store.SQLite), b, evidence.Limits{})
	cases := map[string]string{
		"../../etc/passwd":          "passwd",
		`..\..\windows\win.ini`:     "win.ini",
		"report\x00.png":            "report.png",
		"a\r\nContent-Type: x.txt":  "aContent-Type: x.txt",
		"..":                        "evidence",
		"":                          "evidence",
		"invoice\u202egnp.exe":      "invoicegnp.exe",
		"/":                         "evidence",
		strings.Repeat("é", 300):    strings.Repeat("é", 127),
		"normal name (1).pcap":      "normal name (1).pcap",
		"../\x00\x01\x7f/../..../x": "x",
	}
	for in, want := range cases {
		if got := evidence.SanitizeFileName(in); got != want {
			t.Errorf("SanitizeFileName(%q) = %q, want %q", in, got, want)
		}
		e, err := f.upload(t, core.RoleRedTech, "", in, []byte("payload"))
		if err != nil {
			t.Fatalf("upload named %q: %v", in, err)
		}
		if e.FileName != want {
			t.Errorf("stored name %q, want %q", e.FileName, want)
		}
	}
	// Every blob sits at tests/<test id>/<evidence id>: no name reached the file system.
	for _, p := range b.Files(t) {
		parts := strings.Split(p, "/")
		if len(parts) != 3 || parts[0] != "tests" || parts[1] != f.test.ID || !core.ValidID(parts[2]) {
			t.Errorf("unexpected blob path %q", p)
		}
	}
}

func TestCorruptionIsDetected(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		base := newFixture(t, st, blobtest.Disk(t), evidence.Limits{})
		for _, b := range []blobtest.Backend{base.b, s3BackendIfAny(t, st.Dialect())} {
			if b.Store == nil {
				continue
			}
			f := base.on(t, b, evidence.Limits{})
			f.svc.MemoryLimit = 1024 // so both the in-memory and the spooled download are exercised
			for _, size := range []int{600, 10_000} {
				data := blobtest.RandomBytes(t, size)
				e, err := f.upload(t, core.RoleBlueTech, "", "telemetry.json", data)
				if err != nil {
					t.Fatal(err)
				}
				// An intact spooled download cleans up its temporary file.
				_, rc, err := f.svc.Open(ctx, f.u[core.RoleBlueTech], e.ID)
				if err != nil {
					t.Fatal(err)
				}
				if got, _ := io.ReadAll(rc); !bytes.Equal(got, data) {
					t.Fatalf("%s: %d-byte download differs", b.Name, size)
				}
				rc.Close()
				if left, _ := os.ReadDir(f.svc.TempDir); len(left) != 0 {
					t.Fatalf("temporary files left: %v", left)
				}

				tampered := map[string][]byte{
					"flipped":   append([]byte{data[0] ^ 1}, data[1:]...),
					"truncated": data[:size-1],
					"grown":     append(append([]byte{}, data...), 'x'),
				}
				for how, bad := range tampered {
					b.Tamper(t, e.StorageKey, bad)
					v, err := f.svc.Verify(ctx, f.u[core.RoleBlueLead], e.ID)
					if err != nil || v.OK || v.Reason == "" || v.ExpectedSHA256 != e.SHA256 {
						t.Fatalf("%s %s %d: verify %+v %v", b.Name, how, size, v, err)
					}
					_, rc, err := f.svc.Open(ctx, f.u[core.RoleBlueLead], e.ID)
					if core.ErrorCode(err) != core.EINTERNAL || !strings.Contains(core.ErrorMessage(err), "integrity") {
						if rc != nil {
							rc.Close()
						}
						t.Fatalf("%s %s %d: corrupted blob served: %v", b.Name, how, size, err)
					}
					if left, _ := os.ReadDir(f.svc.TempDir); len(left) != 0 {
						t.Fatalf("temporary files left after a refused download: %v", left)
					}
				}
				// Restored bytes verify again; a missing blob is reported, not a crash.
				b.Tamper(t, e.StorageKey, data)
				if v, _ := f.svc.Verify(ctx, f.u[core.RoleBlueLead], e.ID); !v.OK {
					t.Fatalf("restored blob: %+v", v)
				}
				b.Store.Delete(ctx, e.StorageKey)
				if v, err := f.svc.Verify(ctx, f.u[core.RoleBlueLead], e.ID); err != nil || v.OK || !strings.Contains(v.Reason, "missing") {
					t.Fatalf("missing blob: %+v %v", v, err)
				}
				actions := strings.Join(f.auditActions(t, e.ID), " ")
				if strings.Count(actions, "evidence.integrity_failed") != 3 || strings.Count(actions, "evidence.verify") != 5 {
					t.Fatalf("%s: audit trail %s", b.Name, actions)
				}
			}
		}
	})
}

// updateFails is a core.Store whose writes fail, to prove an upload whose row cannot
// be written takes its blob back out.
type updateFails struct{ core.Store }

func (updateFails) Update(context.Context, func(core.Tx) error) error {
	return errors.New("database is gone")
}

// deleteFails is a blob store that cannot delete.
type deleteFails struct{ core.BlobStore }

func (deleteFails) Delete(context.Context, string) error { return errors.New("bucket is read-only") }

func TestFailuresRollBack(t *testing.T) {
	st := storetest.Open(t, store.SQLite)
	b := blobtest.Disk(t)
	f := newFixture(t, st, b, evidence.Limits{})

	broken := evidence.NewService(updateFails{st}, b.Store, evidence.Limits{}, nil)
	if _, err := broken.Upload(ctx, f.u[core.RoleRedTech], evidence.Upload{TestID: f.test.ID, FileName: "x", Body: strings.NewReader("data"), DeclaredSize: -1}); err == nil {
		t.Fatal("upload with a failing database succeeded")
	}
	if files := b.Files(t); len(files) != 0 {
		t.Fatalf("blob left behind when its row could not be written: %v", files)
	}

	e, err := f.upload(t, core.RoleRedTech, "", "keep.txt", []byte("keep me"))
	if err != nil {
		t.Fatal(err)
	}
	stuck := evidence.NewService(st, deleteFails{b.Store}, evidence.Limits{}, nil)
	if err := stuck.Delete(ctx, f.u[core.RoleAdmin], e.ID); err == nil {
		t.Fatal("delete succeeded though the blob could not be removed")
	}
	if _, err := f.svc.Get(ctx, f.u[core.RoleAdmin], e.ID); err != nil {
		t.Fatalf("row gone though its blob stayed: %v", err)
	}
	if got := strings.Join(f.auditActions(t, e.ID), " "); got != "evidence.upload" {
		t.Fatalf("a rolled-back delete left an audit entry: %s", got)
	}
}

// A blob no row names (an upload that crashed between blob and row) is swept once it
// is old enough; evidence with a row, and young blobs that may be uploads in flight,
// stay.
func TestSweepOrphans(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		f := newFixture(t, st, blobtest.Disk(t), evidence.Limits{})
		e, err := f.upload(t, core.RoleRedTech, "", "kept.txt", []byte("kept"))
		if err != nil {
			t.Fatal(err)
		}
		orphan := "tests/" + f.test.ID + "/" + core.NewID()
		if err := f.b.Store.Put(ctx, orphan, strings.NewReader("lost")); err != nil {
			t.Fatal(err)
		}
		if n, err := f.svc.SweepOrphans(ctx, time.Hour); err != nil || n != 0 {
			t.Fatalf("a young orphan was swept: %d %v", n, err)
		}
		f.svc.Now = func() time.Time { return core.Now().Add(2 * time.Hour) }
		if n, err := f.svc.SweepOrphans(ctx, time.Hour); err != nil || n != 1 {
			t.Fatalf("sweep: %d %v", n, err)
		}
		if _, err := f.b.Store.Stat(ctx, orphan); core.ErrorCode(err) != core.ENOTFOUND {
			t.Fatalf("orphan still there: %v", err)
		}
		if _, err := f.b.Store.Stat(ctx, e.StorageKey); err != nil {
			t.Fatalf("evidence with a row was swept: %v", err)
		}
		if n, _ := f.svc.SweepOrphans(ctx, time.Hour); n != 0 {
			t.Fatalf("second sweep removed %d", n)
		}
	})
}
