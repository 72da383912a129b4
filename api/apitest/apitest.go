// Package apitest drives the HTTP API in tests the way a client does: users are created
// in the store, sign in through POST /api/v1/auth/login, and then send the session
// cookie and CSRF header (or a Bearer token) with every request. It depends only on
// net/http and the core, so both package api's own tests and external ones can use it.
package apitest

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/aegis-sec/aegis/core"
	"github.com/aegis-sec/aegis/core/password"
)

// Password is the password CreateUser gives when it is passed "".
const Password = "correct horse battery staple"

// CreateUser stores an enabled user with the given role and password ("" for
// Password). Hashing costs tens of milliseconds: create the users a test needs once.
func CreateUser(t testing.TB, st core.Store, username string, role core.Role, pw string) *core.User {
	t.Helper()
	if pw == "" {
		pw = Password
	}
	hash, err := password.Hash(pw)
	if err != nil {
		t.Fatalf("hash password: %v", err)
	}
	u := &core.User{Username: username, DisplayName: username, Role: role, PasswordHash: hash}
	if err := st.Update(context.Background(), func(tx core.Tx) error { return tx.CreateUser(context.Background(), u) }); err != nil {
		t.Fatalf("create user %s: %v", username, err)
	}
	return u
}

// Client sends requests to a handler as one caller. The zero Client (with H set) is
// anonymous.
type Client struct {
	T      testing.TB
	H      http.Handler
	Cookie string // session cookie value
	CSRF   string // the session's CSRF token, sent on unsafe methods
	Bearer string // an API token; takes the place of the cookie when set
	// RemoteAddr is the client address the server sees ("192.0.2.1:1234" when empty).
	RemoteAddr string
	// Header is added to every request.
	Header http.Header
}

// Anonymous returns a client that sends no credential.
func Anonymous(t testing.TB, h http.Handler) *Client { return &Client{T: t, H: h} }

// Login signs in through the API and returns a client holding the session.
func Login(t testing.TB, h http.Handler, username, pw string) *Client {
	t.Helper()
	if pw == "" {
		pw = Password
	}
	c := Anonymous(t, h)
	rec := c.Do(http.MethodPost, "/api/v1/auth/login", map[string]string{"username": username, "password": pw})
	if rec.Code != http.StatusOK {
		t.Fatalf("login %s: %d %s", username, rec.Code, rec.Body)
	}
	var out struct {
		CSRF string `json:"csrf_token"`
	}
	Decode(t, rec, &out)
	for _, ck := range rec.Result().Cookies() {
		if ck.Name == "aegis_session" {
			c.Cookie = ck.Value
		}
	}
	if c.Cookie == "" || out.CSRF == "" {
		t.Fatalf("login %s: no session cookie or CSRF token in %v %s", username, rec.Header(), rec.Body)
	}
	c.CSRF = out.CSRF
	return c
}

// WithToken returns an anonymous client that authenticates with an API token.
func WithToken(t testing.TB, h http.Handler, token string) *Client {
	return &Client{T: t, H: h, Bearer: token}
}

// Do sends one request. body is marshalled as JSON unless it is nil, a []byte or an
// io.Reader (sent as they are, still labelled JSON).
func (c *Client) Do(method, path string, body any) *httptest.ResponseRecorder {
	c.T.Helper()
	var r io.Reader
	switch b := body.(type) {
	case nil:
	case []byte:
		r = bytes.NewReader(b)
	case io.Reader:
		r = b
	default:
		j, err := json.Marshal(body)
		if err != nil {
			c.T.Fatalf("marshal body: %v", err)
		}
		r = bytes.NewReader(j)
	}
	ct := ""
	if r != nil {
		ct = "application/json"
	}
	return c.send(method, path, ct, r)
}

// DoContent sends body as it is, labelled with contentType (a multipart form).
func (c *Client) DoContent(method, path, contentType string, body []byte) *httptest.ResponseRecorder {
	c.T.Helper()
	return c.send(method, path, contentType, bytes.NewReader(body))
}

func (c *Client) send(method, path, contentType string, r io.Reader) *httptest.ResponseRecorder {
	req := httptest.NewRequest(method, path, r)
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	if c.RemoteAddr != "" {
		req.RemoteAddr = c.RemoteAddr
	}
	for k, vs := range c.Header {
		for _, v := range vs {
			req.Header.Add(k, v)
		}
	}
	switch {
	case c.Bearer != "":
		req.Header.Set("Authorization", "Bearer "+c.Bearer)
	case c.Cookie != "":
		req.AddCookie(&http.Cookie{Name: "aegis_session", Value: c.Cookie})
		if method != http.MethodGet && method != http.MethodHead {
			req.Header.Set("X-CSRF-Token", c.CSRF)
		}
	}
	rec := httptest.NewRecorder()
	c.H.ServeHTTP(rec, req)
	return rec
}

// Want sends a request, fails the test unless the status is want, and decodes the
// JSON answer into out (when out is not nil).
func (c *Client) Want(want int, method, path string, body, out any) *httptest.ResponseRecorder {
	c.T.Helper()
	rec := c.Do(method, path, body)
	if rec.Code != want {
		c.T.Fatalf("%s %s: status %d, want %d: %s", method, path, rec.Code, want, rec.Body)
	}
	if out != nil {
		Decode(c.T, rec, out)
	}
	return rec
}

// Decode unmarshals a JSON answer, failing the test when it is not JSON.
func Decode(t testing.TB, rec *httptest.ResponseRecorder, out any) {
	t.Helper()
	if err := json.Unmarshal(rec.Body.Bytes(), out); err != nil {
		t.Fatalf("decode %q: %v", rec.Body, err)
	}
}

// Problem is the part of an RFC 9457 answer tests look at.
type Problem struct {
	Status int            `json:"status"`
	Code   string         `json:"code"`
	Detail string         `json:"detail"`
	Field  string         `json:"field"`
	Extra  map[string]any `json:"extra"`
}

// ProblemOf decodes a problem answer, failing the test when the content type is not
// application/problem+json.
func ProblemOf(t testing.TB, rec *httptest.ResponseRecorder) Problem {
	t.Helper()
	if ct := rec.Header().Get("Content-Type"); ct != "application/problem+json" {
		t.Fatalf("content type %q, want application/problem+json (status %d: %s)", ct, rec.Code, rec.Body)
	}
	var p Problem
	Decode(t, rec, &p)
	return p
}
