package api

import (
	"encoding/base64"
	"encoding/hex"
	"errors"
	"io"
	"mime"
	"net/http"
	"strconv"
	"strings"

	"github.com/labstack/echo/v4"

	"github.com/aegis-sec/aegis/core"
	"github.com/aegis-sec/aegis/core/evidence"
	"github.com/aegis-sec/aegis/core/testflow"
)

func (s *Server) evidenceRoutes() []route {
	return []route{
		{Method: http.MethodPost, Path: "/api/v1/tests/:id/evidence", Tag: "evidence",
			Summary: "Upload evidence as multipart/form-data: optional fields team (red|blue; default the uploader's team) and description, then the part \"file\". Streamed; over evidence.max_upload_size is 413 and nothing is kept; the type is sniffed from the content",
			Roles:   core.EvidenceRoles(), Handler: s.uploadEvidence, Response: core.Evidence{},
			Form: map[string]string{"team": "red or blue (default: the uploader's team); send before the file",
				"description": "what the file shows; send before the file", "file": "the evidence, streamed"}, Long: true},
		{Method: http.MethodGet, Path: "/api/v1/tests/:id/evidence", Tag: "evidence",
			Summary: "The evidence of a test the caller's role may read (technicians their own team's, leads and admins both)",
			Roles:   core.EvidenceRoles(), Handler: s.listEvidence, Response: Paged[*core.Evidence]{}},
		{Method: http.MethodGet, Path: "/api/v1/evidence/:id", Tag: "evidence",
			Summary: "Metadata of one piece of evidence", Roles: core.EvidenceRoles(), Handler: s.getEvidence, Response: core.Evidence{}},
		{Method: http.MethodGet, Path: "/api/v1/evidence/:id/content", Tag: "evidence",
			Summary: "Download the file, verified against its SHA-256 before the first byte is sent; a corrupted file is answered 500 and never served",
			Roles:   core.EvidenceRoles(), Handler: s.downloadEvidence, Long: true},
		{Method: http.MethodPost, Path: "/api/v1/evidence/:id/verify", Tag: "evidence",
			Summary: "Integrity check: re-read the stored file and compare size and SHA-256 with the upload's; recorded in the audit log",
			Roles:   core.EvidenceRoles(), Handler: s.verifyEvidence, Response: evidence.Verification{}, Long: true},
		{Method: http.MethodDelete, Path: "/api/v1/evidence/:id", Tag: "evidence",
			Summary: "Delete a piece of evidence and its file (admins, the team's lead, the uploader); the audit log keeps its name, size and SHA-256",
			Roles:   core.EvidenceRoles(), Handler: s.deleteEvidence},
	}
}

func (s *Server) worklogRoutes() []route {
	return []route{
		{Method: http.MethodGet, Path: "/api/v1/tests/:id/worklogs", Tag: "worklogs",
			Summary: "Time logged on a test, newest first", Roles: everyone, Handler: s.listWorklogs, Response: Paged[*core.Worklog]{}},
		{Method: http.MethodPost, Path: "/api/v1/tests/:id/worklogs", Tag: "worklogs",
			Summary: "Log time on a test (minutes 1–1440, activity, note, performed_at default now); entries are hash-chained",
			Roles:   testflow.WorklogRoles, Handler: s.addWorklog, Request: testflow.WorklogInput{}, Response: core.Worklog{}},
		{Method: http.MethodGet, Path: "/api/v1/worklogs/verify", Tag: "worklogs",
			Summary: "Walk the worklog hash chain and name the first entry that does not match",
			Roles:   testflow.WorklogVerifiers, Handler: s.verifyWorklogs, Response: core.WorklogVerification{}, Long: true},
	}
}

func (s *Server) evidenceService() (*evidence.Service, error) {
	if s.evidence == nil {
		return nil, core.Errorf(core.EUNAVAILABLE, "no evidence store is configured")
	}
	return s.evidence, nil
}

// multipartSlack is what the form around the file may add to the body: boundaries,
// part headers, the team and description fields.
const multipartSlack = 64 << 10

func (s *Server) uploadEvidence(c echo.Context) error {
	svc, err := s.evidenceService()
	if err != nil {
		return err
	}
	testID, err := pathID(c, "id", "test")
	if err != nil {
		return err
	}
	req := c.Request()
	limit := svc.MaxBytes() + multipartSlack
	if req.ContentLength > limit {
		return &core.Error{Code: core.ETOOLARGE, Field: "file",
			Message: "the upload is larger than the limit of " + strconv.FormatInt(svc.MaxBytes(), 10) + " bytes"}
	}
	req.Body = http.MaxBytesReader(c.Response(), req.Body, limit)
	// The form is read part by part as it arrives: the file streams into the blob
	// store and is never buffered whole in memory or spooled to disk by the router.
	mr, err := req.MultipartReader()
	if err != nil {
		return core.FieldError("file", "send multipart/form-data with the file in a part named \"file\"")
	}
	up := evidence.Upload{TestID: testID, Team: core.Team(c.QueryParam("team")), Description: c.QueryParam("description"), DeclaredSize: -1}
	for {
		part, err := mr.NextPart()
		if errors.Is(err, io.EOF) {
			return core.FieldError("file", "the form has no part named \"file\"")
		}
		if err != nil {
			return formError(err)
		}
		switch part.FormName() {
		case "team", "description":
			v, err := io.ReadAll(io.LimitReader(part, 4096))
			if err != nil {
				return formError(err)
			}
			if part.FormName() == "team" {
				up.Team = core.Team(strings.TrimSpace(string(v)))
			} else {
				up.Description = string(v)
			}
		case "file":
			up.FileName, up.Body = part.FileName(), part
			if n, err := strconv.ParseInt(part.Header.Get("Content-Length"), 10, 64); err == nil {
				up.DeclaredSize = n
			}
			e, err := svc.Upload(req.Context(), currentUser(c), up)
			if err != nil {
				return uploadError(err)
			}
			return c.JSON(http.StatusCreated, e)
		}
	}
}

// formError answers a problem reading the form itself: the body limit tripping
// mid-form is the same 413 as the service's own limit, anything else is the client's
// malformed request.
func formError(err error) error {
	if isBodyTooLarge(err) {
		return tooLargeUpload()
	}
	return core.Errorf(core.EINVALID, "malformed multipart form: %v", err)
}

// uploadError maps the body limit tripping while the file streams; the service's own
// errors pass as they are (a failing blob store stays a 500).
func uploadError(err error) error {
	if isBodyTooLarge(err) {
		return tooLargeUpload()
	}
	if errors.Is(err, io.ErrUnexpectedEOF) {
		return core.FieldError("file", "the upload ended before the form did")
	}
	return err
}

func isBodyTooLarge(err error) bool {
	var mbe *http.MaxBytesError
	return errors.As(err, &mbe)
}

func tooLargeUpload() error {
	return &core.Error{Code: core.ETOOLARGE, Field: "file", Message: "the upload is larger than the limit"}
}

func (s *Server) listEvidence(c echo.Context) error {
	svc, err := s.evidenceService()
	if err != nil {
		return err
	}
	testID, err := pathID(c, "id", "test")
	if err != nil {
		return err
	}
	p, err := pageParams(c)
	if err != nil {
		return err
	}
	list, total, err := svc.List(c.Request().Context(), currentUser(c), testID, p)
	if err != nil {
		return err
	}
	return writePage(c, list, total, p)
}

func (s *Server) getEvidence(c echo.Context) error {
	svc, err := s.evidenceService()
	if err != nil {
		return err
	}
	id, err := pathID(c, "id", "evidence")
	if err != nil {
		return err
	}
	e, err := svc.Get(c.Request().Context(), currentUser(c), id)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, e)
}

func (s *Server) downloadEvidence(c echo.Context) error {
	svc, err := s.evidenceService()
	if err != nil {
		return err
	}
	id, err := pathID(c, "id", "evidence")
	if err != nil {
		return err
	}
	e, body, err := svc.Open(c.Request().Context(), currentUser(c), id)
	if err != nil {
		return err
	}
	defer body.Close()
	h := c.Response().Header()
	disposition := mime.FormatMediaType("attachment", map[string]string{"filename": e.FileName})
	if disposition == "" {
		disposition = `attachment; filename="evidence"`
	}
	// Evidence is whatever a test produced, HTML and scripts included: it is always a
	// download, never rendered in the app's origin.
	h.Set(echo.HeaderContentDisposition, disposition)
	h.Set(echo.HeaderContentType, e.ContentType)
	h.Set(echo.HeaderContentLength, strconv.FormatInt(e.SizeBytes, 10))
	h.Set(echo.HeaderXContentTypeOptions, "nosniff")
	h.Set(echo.HeaderContentSecurityPolicy, "default-src 'none'; sandbox")
	h.Set("Cache-Control", "private, no-store")
	if sum, err := hex.DecodeString(e.SHA256); err == nil {
		h.Set("Repr-Digest", "sha-256=:"+base64.StdEncoding.EncodeToString(sum)+":")
		h.Set("ETag", `"sha256-`+e.SHA256+`"`)
	}
	c.Response().WriteHeader(http.StatusOK)
	if _, err := io.Copy(c.Response(), body); err != nil {
		s.deps.Log.Warn("evidence download interrupted", "evidence", e.ID, "error", err)
	}
	return nil
}

func (s *Server) verifyEvidence(c echo.Context) error {
	svc, err := s.evidenceService()
	if err != nil {
		return err
	}
	id, err := pathID(c, "id", "evidence")
	if err != nil {
		return err
	}
	v, err := svc.Verify(c.Request().Context(), currentUser(c), id)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, v)
}

func (s *Server) deleteEvidence(c echo.Context) error {
	svc, err := s.evidenceService()
	if err != nil {
		return err
	}
	id, err := pathID(c, "id", "evidence")
	if err != nil {
		return err
	}
	if err := svc.Delete(c.Request().Context(), currentUser(c), id); err != nil {
		return err
	}
	return c.NoContent(http.StatusNoContent)
}

func (s *Server) listWorklogs(c echo.Context) error {
	id, err := pathID(c, "id", "test")
	if err != nil {
		return err
	}
	p, err := pageParams(c)
	if err != nil {
		return err
	}
	list, total, err := s.flow.Worklogs(c.Request().Context(), id, p)
	if err != nil {
		return err
	}
	return writePage(c, list, total, p)
}

func (s *Server) addWorklog(c echo.Context) error {
	id, err := pathID(c, "id", "test")
	if err != nil {
		return err
	}
	var in testflow.WorklogInput
	if err := decodeJSON(c, &in); err != nil {
		return err
	}
	w, err := s.flow.AddWorklog(c.Request().Context(), currentUser(c), id, in)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusCreated, w)
}

func (s *Server) verifyWorklogs(c echo.Context) error {
	v, err := s.flow.VerifyWorklogs(c.Request().Context())
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, v)
}
