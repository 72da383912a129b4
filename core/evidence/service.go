// Package evidence keeps test evidence: the service that streams uploads through a size
// limit, a content-type check and SHA-256 into a core.BlobStore, checks permissions by
// team, and verifies the bytes again before anyone sees them. The blob stores
// themselves (disk, S3) are adapters in core/blobstore.
package evidence

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"os"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/hashicorp/go-hclog"

	"github.com/aegis-sec/aegis/core"
)

// Limits are the upload rules from the `evidence` block.
type Limits struct {
	MaxBytes int64
	// AllowedTypes are media types ("image/png") or families ("text/*"); empty allows
	// every type. They are matched against the sniffed type, never the client's claim.
	AllowedTypes []string
}

// Service is evidence as the API sees it: permissions by team, streaming uploads,
// verified downloads, integrity checks and audited deletion.
type Service struct {
	store  core.Store
	blobs  core.BlobStore
	limits Limits
	log    hclog.Logger
	// MemoryLimit is the size up to which a download is read into memory to be
	// verified before it is sent; larger blobs are verified into a temporary file in
	// TempDir (the system's when empty) and sent from there.
	MemoryLimit int64
	TempDir     string
	Now         func() time.Time
}

// NewService returns the evidence service. A zero MaxBytes means 100 MiB.
func NewService(st core.Store, blobs core.BlobStore, l Limits, log hclog.Logger) *Service {
	if l.MaxBytes <= 0 {
		l.MaxBytes = 100 << 20
	}
	if log == nil {
		log = hclog.NewNullLogger()
	}
	return &Service{store: st, blobs: blobs, limits: l, log: log, MemoryLimit: 8 << 20, Now: core.Now}
}

// MaxBytes is the upload limit.
func (s *Service) MaxBytes() int64 { return s.limits.MaxBytes }

// Upload is one file sent for a test.
type Upload struct {
	TestID      string
	Team        core.Team // empty: the uploader's own team
	FileName    string
	Description string
	Body        io.Reader
	// DeclaredSize is what the client announced (-1 when unknown); a file announced
	// over the limit is refused before a byte is stored.
	DeclaredSize int64
}

// errTooLarge stops the copy into the blob store once the limit is crossed.
var errTooLarge = errors.New("evidence: upload over the size limit")

// limitReader counts what passes and fails the read that crosses max, so the blob
// store's Put fails and leaves nothing behind.
type limitReader struct {
	r   io.Reader
	n   int64
	max int64
	// err is the upload's own read error (the client went away, the form broke off):
	// a Put that fails without one failed in the blob store.
	err error
}

func (l *limitReader) Read(p []byte) (int, error) {
	n, err := l.r.Read(p)
	l.n += int64(n)
	if l.n > l.max {
		return 0, errTooLarge
	}
	if err != nil && !errors.Is(err, io.EOF) {
		l.err = err
	}
	return n, err
}

func (s *Service) tooLarge() error {
	return &core.Error{Code: core.ETOOLARGE, Field: "file",
		Message: fmt.Sprintf("the file is larger than the upload limit of %d bytes", s.limits.MaxBytes),
		Detail:  map[string]any{"max_bytes": s.limits.MaxBytes}}
}

func audit(ctx context.Context, tx core.Tx, actor *core.User, action string, e *core.Evidence, extra map[string]any) error {
	d := map[string]any{"test_id": e.TestID, "team": e.Team, "file_name": e.FileName, "sha256": e.SHA256, "size_bytes": e.SizeBytes}
	for k, v := range extra {
		d[k] = v
	}
	if err := tx.AppendAudit(ctx, core.NewAudit(actor, action, "evidence", e.ID, d)); err != nil {
		return fmt.Errorf("audit %s of evidence %s: %w", action, e.ID, err)
	}
	return nil
}

// Upload streams a file into the blob store and records it. The bytes pass once:
// through the size limit, the content sniffer (first 512 bytes), SHA-256 and into the
// store. The blob is written first and the row second, so a crash between the two can
// leave an orphaned blob but never a row without its bytes; every failure the service
// sees removes the blob again.
func (s *Service) Upload(ctx context.Context, actor *core.User, up Upload) (*core.Evidence, error) {
	if actor == nil {
		return nil, core.Errorf(core.EUNAUTHORIZED, "sign in first")
	}
	if up.Team == "" {
		team, ok := core.EvidenceTeamOf(actor.Role)
		if !ok {
			return nil, core.FieldError("team", "say which team the evidence belongs to: red or blue")
		}
		up.Team = team
	}
	if !up.Team.Valid() {
		return nil, core.FieldError("team", "must be red or blue, got %q", up.Team)
	}
	if !core.CanUploadEvidence(actor.Role, up.Team) {
		return nil, core.Errorf(core.EFORBIDDEN, "the %s role may not upload %s team evidence", actor.Role, up.Team)
	}
	if !core.ValidID(up.TestID) {
		return nil, core.Errorf(core.ENOTFOUND, "test %q not found", up.TestID)
	}
	if err := core.CheckText("description", up.Description, 2000); err != nil {
		return nil, err
	}
	if up.DeclaredSize > s.limits.MaxBytes {
		return nil, s.tooLarge()
	}
	if err := s.store.View(ctx, func(tx core.Tx) error {
		_, err := tx.TestByID(ctx, up.TestID)
		return err
	}); err != nil {
		return nil, err
	}

	br := bufio.NewReaderSize(up.Body, 4096)
	head, err := br.Peek(512)
	if err != nil && !errors.Is(err, io.EOF) && !errors.Is(err, bufio.ErrBufferFull) {
		return nil, fmt.Errorf("evidence: read upload: %w", err)
	}
	ctype := http.DetectContentType(head)
	if !TypeAllowed(ctype, s.limits.AllowedTypes) {
		return nil, core.FieldError("file", "content type %s is not allowed (allowed: %s)", mediaType(ctype), strings.Join(s.limits.AllowedTypes, ", "))
	}

	e := &core.Evidence{ID: core.NewID(), TestID: up.TestID, Team: up.Team, FileName: SanitizeFileName(up.FileName),
		ContentType: ctype, Description: up.Description, UploadedBy: &actor.ID, UploadedAt: s.Now()}
	// The key is made of ids only: the user's file name never becomes a path.
	e.StorageKey = "tests/" + up.TestID + "/" + e.ID
	h := sha256.New()
	lr := &limitReader{r: br, max: s.limits.MaxBytes}
	if err := s.blobs.Put(ctx, e.StorageKey, io.TeeReader(lr, h)); err != nil {
		s.discard(e.StorageKey)
		switch {
		case errors.Is(err, errTooLarge):
			return nil, s.tooLarge()
		case lr.err != nil || ctx.Err() != nil:
			return nil, fmt.Errorf("evidence: store upload for test %s: %w", up.TestID, err)
		}
		// The blob store failed (an S3 server gone, a full disk): the client is told
		// so, without the store's address; the log has the cause.
		s.log.Error("the evidence store did not take an upload", "test", up.TestID, "key", e.StorageKey, "error", err)
		return nil, &core.Error{Code: core.EUNAVAILABLE, Field: "file",
			Message: "the evidence store did not take the file (it is unreachable or failed); nothing was saved. Try again later"}
	}
	e.SizeBytes, e.SHA256 = lr.n, hex.EncodeToString(h.Sum(nil))
	err = s.store.Update(ctx, func(tx core.Tx) error {
		if err := tx.CreateEvidence(ctx, e); err != nil {
			return err
		}
		return audit(ctx, tx, actor, "evidence.upload", e, nil)
	})
	if err != nil {
		s.discard(e.StorageKey)
		return nil, err
	}
	return e, nil
}

// discard removes a blob that must not stay, on a context of its own: the request's
// may be the reason the upload failed.
func (s *Service) discard(key string) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := s.blobs.Delete(ctx, key); err != nil {
		s.log.Error("could not remove the blob of a failed upload", "key", key, "error", err)
	}
}

func (s *Service) readable(ctx context.Context, actor *core.User, id string) (*core.Evidence, error) {
	if actor == nil {
		return nil, core.Errorf(core.EUNAUTHORIZED, "sign in first")
	}
	if !core.ValidID(id) {
		return nil, core.Errorf(core.ENOTFOUND, "evidence %q not found", id)
	}
	var e *core.Evidence
	err := s.store.View(ctx, func(tx core.Tx) error {
		var err error
		e, err = tx.EvidenceByID(ctx, id)
		return err
	})
	if err != nil {
		return nil, err
	}
	if !core.CanReadEvidence(actor.Role, e.Team) {
		return nil, core.Errorf(core.EFORBIDDEN, "the %s role may not read %s team evidence", actor.Role, e.Team)
	}
	return e, nil
}

// Get returns the metadata of one piece of evidence the actor may read.
func (s *Service) Get(ctx context.Context, actor *core.User, id string) (*core.Evidence, error) {
	return s.readable(ctx, actor, id)
}

// List returns the evidence of a test that the actor's role may read.
func (s *Service) List(ctx context.Context, actor *core.User, testID string, p core.Page) ([]*core.Evidence, int, error) {
	if actor == nil {
		return nil, 0, core.Errorf(core.EUNAUTHORIZED, "sign in first")
	}
	teams := core.ReadableTeams(actor.Role)
	if len(teams) == 0 {
		return nil, 0, core.Errorf(core.EFORBIDDEN, "the %s role may not read evidence", actor.Role)
	}
	if !core.ValidID(testID) {
		return nil, 0, core.Errorf(core.ENOTFOUND, "test %q not found", testID)
	}
	var list []*core.Evidence
	var total int
	err := s.store.View(ctx, func(tx core.Tx) error {
		if _, err := tx.TestByID(ctx, testID); err != nil {
			return err
		}
		var err error
		list, total, err = tx.ListEvidence(ctx, core.EvidenceFilter{TestID: testID, Teams: teams, Page: p})
		return err
	})
	return list, total, err
}

// Verification is the result of an integrity check.
type Verification struct {
	EvidenceID     string    `json:"evidence_id"`
	OK             bool      `json:"ok"`
	ExpectedSHA256 string    `json:"expected_sha256"`
	ActualSHA256   string    `json:"actual_sha256,omitempty"`
	ExpectedSize   int64     `json:"expected_size"`
	ActualSize     int64     `json:"actual_size"`
	Reason         string    `json:"reason,omitempty"`
	CheckedAt      time.Time `json:"checked_at"`
}

// check compares what the store holds with what was recorded at upload. It returns
// an error only when the store could not be read at all (not when the bytes differ).
func (s *Service) check(ctx context.Context, e *core.Evidence, sink io.Writer) (*Verification, error) {
	v := &Verification{EvidenceID: e.ID, ExpectedSHA256: e.SHA256, ExpectedSize: e.SizeBytes, CheckedAt: s.Now()}
	rc, err := s.blobs.Get(ctx, e.StorageKey)
	if core.ErrorCode(err) == core.ENOTFOUND {
		v.Reason = "the stored file is missing"
		return v, nil
	}
	if err != nil {
		return nil, err
	}
	defer rc.Close()
	h := sha256.New()
	w := io.Writer(h)
	if sink != nil {
		w = io.MultiWriter(h, sink)
	}
	// Reading one byte past the recorded size is enough to know the blob grew, and
	// keeps a swollen blob from filling the memory or disk of a download.
	n, err := io.Copy(w, io.LimitReader(rc, e.SizeBytes+1))
	if err != nil {
		return nil, fmt.Errorf("evidence: read %s: %w", e.ID, err)
	}
	v.ActualSize, v.ActualSHA256 = n, hex.EncodeToString(h.Sum(nil))
	switch {
	case n != e.SizeBytes:
		v.Reason = fmt.Sprintf("the stored file has %s bytes, %d were uploaded", sizeText(n, e.SizeBytes), e.SizeBytes)
	case v.ActualSHA256 != e.SHA256:
		v.Reason = "the stored file's SHA-256 differs from the one recorded at upload"
	default:
		v.OK = true
	}
	return v, nil
}

func sizeText(n, want int64) string {
	if n > want {
		return "more than " + fmt.Sprint(want)
	}
	return fmt.Sprint(n)
}

// Verify checks one piece of evidence against its recorded size and SHA-256, records
// the check in the audit log, and on success stamps verified_at.
func (s *Service) Verify(ctx context.Context, actor *core.User, id string) (*Verification, error) {
	e, err := s.readable(ctx, actor, id)
	if err != nil {
		return nil, err
	}
	v, err := s.check(ctx, e, nil)
	if err != nil {
		return nil, err
	}
	if !v.OK {
		s.log.Error("evidence failed its integrity check", "evidence", e.ID, "test", e.TestID, "reason", v.Reason)
	}
	err = s.store.Update(ctx, func(tx core.Tx) error {
		if v.OK {
			if err := tx.MarkEvidenceVerified(ctx, e.ID, v.CheckedAt); err != nil {
				return err
			}
		}
		return audit(ctx, tx, actor, "evidence.verify", e, map[string]any{"ok": v.OK, "reason": v.Reason, "actual_sha256": v.ActualSHA256})
	})
	if err != nil {
		return nil, err
	}
	return v, nil
}

// Open returns the content of one piece of evidence, verified before any byte leaves:
// small files are checked in memory, larger ones while being copied into a temporary
// file that the returned reader serves and removes on Close. A blob that does not match
// its SHA-256 is never served: Open fails with an internal error, logs it and writes
// an audit entry.
func (s *Service) Open(ctx context.Context, actor *core.User, id string) (*core.Evidence, io.ReadCloser, error) {
	e, err := s.readable(ctx, actor, id)
	if err != nil {
		return nil, nil, err
	}
	var sink io.Writer
	var buf *bytes.Buffer
	var tmp *os.File
	if e.SizeBytes <= s.MemoryLimit {
		buf = bytes.NewBuffer(make([]byte, 0, e.SizeBytes+1))
		sink = buf
	} else {
		if tmp, err = os.CreateTemp(s.TempDir, "aegis-evidence-*"); err != nil {
			return nil, nil, fmt.Errorf("evidence: spool %s: %w", e.ID, err)
		}
		sink = tmp
	}
	cleanup := func() {
		if tmp != nil {
			tmp.Close()
			os.Remove(tmp.Name())
		}
	}
	v, err := s.check(ctx, e, sink)
	if err != nil {
		cleanup()
		return nil, nil, err
	}
	if !v.OK {
		cleanup()
		s.log.Error("refusing to serve evidence that failed its integrity check", "evidence", e.ID, "test", e.TestID, "reason", v.Reason)
		if aerr := s.store.Update(ctx, func(tx core.Tx) error {
			return audit(ctx, tx, actor, "evidence.integrity_failed", e, map[string]any{"reason": v.Reason, "actual_sha256": v.ActualSHA256})
		}); aerr != nil {
			s.log.Error("could not audit the failed integrity check", "evidence", e.ID, "error", aerr)
		}
		return nil, nil, &core.Error{Code: core.EINTERNAL,
			Message: fmt.Sprintf("evidence %s failed its integrity check (%s); it is not served", e.ID, v.Reason),
			Detail:  map[string]any{"evidence_id": e.ID, "expected_sha256": e.SHA256}}
	}
	if buf != nil {
		return e, io.NopCloser(bytes.NewReader(buf.Bytes())), nil
	}
	if _, err := tmp.Seek(0, io.SeekStart); err != nil {
		cleanup()
		return nil, nil, fmt.Errorf("evidence: rewind %s: %w", e.ID, err)
	}
	return e, &spool{File: tmp}, nil
}

// spool is a verified temporary copy that disappears when closed.
type spool struct{ *os.File }

func (s *spool) Close() error {
	err := s.File.Close()
	os.Remove(s.File.Name())
	return err
}

// Delete removes a piece of evidence: the row and an audit entry that keeps what it
// was (name, team, size, SHA-256) commit together, and the blob is removed inside the
// same transaction, last, so a blob that cannot be removed keeps its row too.
func (s *Service) Delete(ctx context.Context, actor *core.User, id string) error {
	if actor == nil {
		return core.Errorf(core.EUNAUTHORIZED, "sign in first")
	}
	if !core.ValidID(id) {
		return core.Errorf(core.ENOTFOUND, "evidence %q not found", id)
	}
	return s.store.Update(ctx, func(tx core.Tx) error {
		e, err := tx.EvidenceByID(ctx, id)
		if err != nil {
			return err
		}
		if !core.CanDeleteEvidence(actor, e) {
			return core.Errorf(core.EFORBIDDEN, "only an admin, the %s lead or the uploader may delete this evidence", e.Team)
		}
		if err := tx.DeleteEvidence(ctx, id); err != nil {
			return err
		}
		if err := audit(ctx, tx, actor, "evidence.delete", e, nil); err != nil {
			return err
		}
		return s.blobs.Delete(ctx, e.StorageKey)
	})
}

// incompleteAborter is a blob store that can hold uploads begun and never finished
// (S3 multipart uploads).
type incompleteAborter interface {
	// AbortIncomplete discards the unfinished uploads under prefix begun before
	// cutoff and returns how many.
	AbortIncomplete(ctx context.Context, prefix string, cutoff time.Time) (int, error)
}

// SweepOrphans deletes blobs that no evidence row names and that are older than
// minAge, and uploads the blob store never finished begun before then. Uploads store
// the blob before the row, so a crash between the two leaves a blob nobody can reach;
// minAge keeps uploads still in flight safe. The keys are read
// before the blobs are listed, so a row committed meanwhile only makes its blob look
// younger than minAge, never orphaned.
func (s *Service) SweepOrphans(ctx context.Context, minAge time.Duration) (removed int, err error) {
	var keys map[string]bool
	if err := s.store.View(ctx, func(tx core.Tx) error {
		keys, err = tx.EvidenceStorageKeys(ctx)
		return err
	}); err != nil {
		return 0, err
	}
	cutoff := s.Now().Add(-minAge)
	var orphans []core.BlobInfo
	err = s.blobs.List(ctx, "tests/", func(b core.BlobInfo) error {
		if !keys[b.Key] && b.ModTime.Before(cutoff) {
			orphans = append(orphans, b)
		}
		return nil
	})
	if err != nil {
		return 0, fmt.Errorf("sweep evidence: %w", err)
	}
	// An upload cut off inside the blob store (an S3 server that went away between
	// parts) can leave a multipart upload that no one completes or aborts.
	if a, ok := s.blobs.(incompleteAborter); ok {
		n, err := a.AbortIncomplete(ctx, "tests/", cutoff)
		if err != nil {
			return 0, fmt.Errorf("sweep evidence: %w", err)
		}
		if n > 0 {
			s.log.Warn("aborted evidence uploads left incomplete in the blob store", "count", n)
		}
		removed += n
	}
	for _, b := range orphans {
		if err := s.blobs.Delete(ctx, b.Key); err != nil {
			return removed, fmt.Errorf("sweep evidence: %w", err)
		}
		removed++
		s.log.Warn("removed an evidence blob no row names (an upload interrupted between blob and row)", "key", b.Key, "size", b.Size, "modified", b.ModTime)
	}
	if removed > 0 {
		err = s.store.Update(ctx, func(tx core.Tx) error {
			return tx.AppendAudit(ctx, core.NewAudit(nil, "evidence.orphans_removed", "evidence", "",
				map[string]any{"count": removed, "min_age": minAge.String()}))
		})
	}
	return removed, err
}

// TypeAllowed matches a sniffed content type against an allow list of media types
// and "family/*" patterns; an empty list allows everything.
func TypeAllowed(contentType string, allowed []string) bool {
	if len(allowed) == 0 {
		return true
	}
	mt := mediaType(contentType)
	for _, a := range allowed {
		a = strings.ToLower(strings.TrimSpace(a))
		if a == "*/*" || a == mt || (strings.HasSuffix(a, "/*") && strings.HasPrefix(mt, strings.TrimSuffix(a, "*"))) {
			return true
		}
	}
	return false
}

func mediaType(ct string) string {
	if mt, _, err := mime.ParseMediaType(ct); err == nil {
		return mt
	}
	return strings.ToLower(ct)
}

// SanitizeFileName makes an uploaded file name safe to show and to put in a
// Content-Disposition header: the last path element only, no control characters,
// NUL, invalid UTF-8 or bidirectional overrides (which disguise extensions), at most
// 255 bytes. It is only ever displayed: storage keys are made of ids.
func SanitizeFileName(name string) string {
	if i := strings.LastIndexAny(name, `/\`); i >= 0 {
		name = name[i+1:]
	}
	name = strings.Map(func(r rune) rune {
		switch {
		case r < 0x20, r == 0x7f, r >= 0x80 && r < 0xa0, r == utf8.RuneError:
			return -1
		case r >= 0x202a && r <= 0x202e, r >= 0x2066 && r <= 0x2069, r == 0x200e, r == 0x200f:
			return -1
		}
		return r
	}, name)
	name = strings.TrimSpace(name)
	if strings.Trim(name, ".") == "" {
		return "evidence"
	}
	for len(name) > 255 {
		_, size := utf8.DecodeLastRuneInString(name)
		name = name[:len(name)-size]
	}
	return name
}
