package stix

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"time"
)

// TAXIIOptions point at a TAXII 2.1 server.
type TAXIIOptions struct {
	// URL is the server's discovery URL (https://attack-taxii.mitre.org/taxii2/),
	// an API root (…/api/v21/) or a collections URL; empty means the source.
	URL string `json:"url,omitempty"`
	// Collection is a collection id, a title ("Enterprise ATT&CK") or a
	// domain (enterprise-attack); empty means the selected domains.
	Collection string `json:"collection,omitempty"`
	// PageSize is the limit asked per request; 0 lets the server choose.
	PageSize int `json:"page_size,omitempty"`
}

const (
	taxiiMediaType = "application/taxii+json;version=2.1"
	// maxTAXIIBody bounds one response; a page of ATT&CK is far smaller.
	maxTAXIIBody  = 512 << 20
	maxTAXIIPages = 100_000
)

type taxiiClient struct {
	l    *loader
	http *http.Client
}

// get fetches a TAXII endpoint and decodes its JSON into v; it returns the
// response headers for pagination.
func (c *taxiiClient) get(u string, v any) (http.Header, error) {
	req, err := http.NewRequestWithContext(c.l.ctx, http.MethodGet, u, nil)
	if err != nil {
		return nil, fmt.Errorf("TAXII request %s: %w", u, err)
	}
	req.Header.Set("Accept", taxiiMediaType)
	req.Header.Set("User-Agent", "aegis-plugin-sdk")
	resp, err := c.http.Do(req)
	if err != nil {
		return nil, fmt.Errorf("TAXII server unreachable at %s: %w", redact(u), err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxTAXIIBody+1))
	if err != nil {
		return nil, fmt.Errorf("TAXII %s: reading the answer: %w", redact(u), err)
	}
	if len(body) > maxTAXIIBody {
		return nil, fmt.Errorf("TAXII %s: answer larger than %d bytes", redact(u), maxTAXIIBody)
	}
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("TAXII %s: server answered %s: %s", redact(u), resp.Status, snippet(body))
	}
	// TAXII servers answer application/taxii+json; plain JSON is accepted
	// because some proxies and test servers rewrite the type.
	if ct := resp.Header.Get("Content-Type"); ct != "" {
		mt, _, err := mime.ParseMediaType(ct)
		if err != nil || (mt != "application/taxii+json" && mt != "application/json") {
			return nil, fmt.Errorf("TAXII %s: answer is %q, not application/taxii+json", redact(u), ct)
		}
	}
	if err := json.Unmarshal(body, v); err != nil {
		return nil, fmt.Errorf("TAXII %s: malformed JSON answer: %w", redact(u), err)
	}
	return resp.Header, nil
}

func redact(u string) string {
	if p, err := url.Parse(u); err == nil {
		return p.Redacted()
	}
	return u
}

func snippet(b []byte) string {
	b = bytes.TrimSpace(b)
	if len(b) > 200 {
		b = append(b[:200:200], "..."...)
	}
	return string(b)
}

// withSlash makes u end in "/", as TAXII endpoint URLs do.
func withSlash(u *url.URL) *url.URL {
	c := *u
	if !strings.HasSuffix(c.Path, "/") {
		c.Path += "/"
	}
	c.RawQuery, c.Fragment = "", ""
	return &c
}

// loadTAXII reads the chosen collections of a TAXII 2.1 server: discovery
// (if the URL is a discovery endpoint), API root, collections, then every
// page of each collection's objects.
func (l *loader) loadTAXII(server string) error {
	hc := l.opts.HTTPClient
	if hc == nil {
		hc = &http.Client{Timeout: 5 * time.Minute}
	}
	c := &taxiiClient{l: l, http: hc}
	u, err := url.Parse(strings.TrimSpace(server))
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return fmt.Errorf("TAXII URL %q is not an http(s) URL", server)
	}
	if u.Path == "" || u.Path == "/" {
		u.Path = "/taxii2/" // TAXII 2.1 puts discovery here
	}
	root, err := c.apiRoot(withSlash(u))
	if err != nil {
		return err
	}
	cols, err := c.collections(root)
	if err != nil {
		return err
	}
	chosen, err := l.chooseCollections(cols)
	if err != nil {
		return err
	}
	for _, col := range chosen {
		if err := c.readCollection(root, col); err != nil {
			return err
		}
	}
	return nil
}

type taxiiCollection struct {
	ID    string `json:"id"`
	Title string `json:"title"`
}

// apiRoot finds the API root from a discovery, API root or collections URL.
func (c *taxiiClient) apiRoot(u *url.URL) (*url.URL, error) {
	if strings.HasSuffix(u.Path, "/collections/") {
		r := *u
		r.Path = strings.TrimSuffix(u.Path, "collections/")
		return &r, nil
	}
	var doc struct {
		Default  string   `json:"default"`
		APIRoots []string `json:"api_roots"`
		Title    string   `json:"title"`
	}
	if _, err := c.get(u.String(), &doc); err != nil {
		return nil, err
	}
	if doc.Default == "" && len(doc.APIRoots) == 0 {
		return u, nil // already an API root
	}
	ref := doc.Default
	if ref == "" {
		ref = doc.APIRoots[0]
	}
	r, err := url.Parse(ref)
	if err != nil {
		return nil, fmt.Errorf("TAXII discovery %s: bad API root %q: %w", redact(u.String()), ref, err)
	}
	if r.IsAbs() {
		return withSlash(r), nil
	}
	// TAXII wants absolute API root URLs; MITRE's server answers "api/v21",
	// which it means from the host's root, not from the discovery path.
	base := *u
	base.Path = "/"
	return withSlash(base.ResolveReference(r)), nil
}

func (c *taxiiClient) collections(root *url.URL) ([]taxiiCollection, error) {
	var doc struct {
		Collections []taxiiCollection `json:"collections"`
	}
	cu := root.ResolveReference(&url.URL{Path: "collections/"})
	if _, err := c.get(cu.String(), &doc); err != nil {
		return nil, err
	}
	if len(doc.Collections) == 0 {
		return nil, fmt.Errorf("TAXII %s lists no collections", redact(cu.String()))
	}
	return doc.Collections, nil
}

// chooseCollections picks the configured collection (by id, title or
// domain), or every collection of a selected domain.
func (l *loader) chooseCollections(cols []taxiiCollection) ([]taxiiCollection, error) {
	var out []taxiiCollection
	want := strings.TrimSpace(l.opts.TAXII.Collection)
	for _, col := range cols {
		dom := collectionDomains[col.ID]
		if dom == "" {
			dom = DomainFromName(col.Title)
		}
		switch {
		case want != "":
			if col.ID == want || strings.EqualFold(col.Title, want) || (IsDomain(want) && dom == want) {
				out = append(out, col)
			}
		case dom != "" && l.selected(dom):
			out = append(out, col)
		}
	}
	if len(out) == 0 {
		names := make([]string, 0, len(cols))
		for _, col := range cols {
			names = append(names, fmt.Sprintf("%q (%s)", col.Title, col.ID))
		}
		sort.Strings(names)
		what := "collection " + strconv.Quote(want)
		if want == "" {
			what = "no collection of the domains " + strings.Join(l.opts.Domains, ", ")
		}
		return nil, fmt.Errorf("TAXII server has %s; it has %s", what, strings.Join(names, ", "))
	}
	return out, nil
}

// readCollection pages through a collection's objects. TAXII 2.1 pages
// with "more" and "next"; servers that predate "next" page by added_after
// from the X-TAXII-Date-Added-Last header.
func (c *taxiiClient) readCollection(root *url.URL, col taxiiCollection) error {
	l := c.l
	objURL := root.ResolveReference(&url.URL{Path: "collections/" + url.PathEscape(col.ID) + "/objects/"})
	display := objURL.Redacted()
	dom := collectionDomains[col.ID]
	if dom == "" {
		dom = DomainFromName(col.Title)
	}
	var objs []*Object
	q := url.Values{}
	if l.opts.TAXII.PageSize > 0 {
		q.Set("limit", strconv.Itoa(l.opts.TAXII.PageSize))
	}
	seen := map[string]bool{}
	for page := 1; ; page++ {
		if page > maxTAXIIPages {
			return fmt.Errorf("TAXII %s: more than %d pages", display, maxTAXIIPages)
		}
		pu := *objURL
		pu.RawQuery = q.Encode()
		var env struct {
			More    bool              `json:"more"`
			Next    string            `json:"next"`
			Objects []json.RawMessage `json:"objects"`
		}
		hdr, err := c.get(pu.String(), &env)
		if err != nil {
			return err
		}
		l.ds.Files++
		for i, raw := range env.Objects {
			o, problems, err := DecodeObject(raw)
			where := fmt.Sprintf("%s (page %d, object %d)", display, page, i+1)
			if err != nil {
				l.r.Warn(where, 0, rawID(raw), "skipped malformed STIX object", err.Error())
				continue
			}
			o.Pos = Position{File: display}
			if len(problems) > 0 {
				l.r.Warn(where, 0, o.Label(), "ignored malformed fields of "+o.Type+" "+o.ID, strings.Join(problems, "; "))
			}
			objs = append(objs, o)
		}
		l.r.Progress(int64(len(objs)), 0, fmt.Sprintf("reading TAXII collection %s, page %d", col.Title, page))
		if !env.More {
			break
		}
		switch {
		case env.Next != "":
			if seen[env.Next] {
				return fmt.Errorf("TAXII %s: the server repeats the page %q", display, env.Next)
			}
			seen[env.Next] = true
			q.Del("added_after")
			q.Set("next", env.Next)
		case hdr.Get("X-TAXII-Date-Added-Last") != "":
			last := hdr.Get("X-TAXII-Date-Added-Last")
			if seen["added_after="+last] {
				return fmt.Errorf("TAXII %s: the server repeats the page after %s", display, last)
			}
			seen["added_after="+last] = true
			q.Set("added_after", last)
		default:
			return errors.New("TAXII " + display + ": the server says there is more but gives no next page")
		}
	}
	l.addObjects(objs, container{Domain: dom}, "")
	return nil
}
