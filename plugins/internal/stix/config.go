package stix

import (
	"fmt"
	"net/url"
	"regexp"
	"strings"

	"github.com/aegis-sec/aegis/sdk"
)

// SourceConfig is the part of a plugin's config that says what to read;
// the attack and cti plugins embed it so that both read sources the same way.
type SourceConfig struct {
	// Domains selects domains from an index, a TAXII server or a mitre/cti
	// checkout; empty means all three.
	Domains []string `json:"domains,omitempty"`
	// Version is the release to take from a collection index ("latest" or
	// e.g. "18.1").
	Version string `json:"version,omitempty"`
	// TAXII reads from a TAXII 2.1 server; the source is the fallback.
	TAXII *TAXIIOptions `json:"taxii,omitempty"`
}

// SourceSchemaProperties is the JSON Schema of SourceConfig's properties,
// to be spliced into a plugin's config schema.
const SourceSchemaProperties = `
    "domains": {
      "type": "array", "uniqueItems": true,
      "items": {"enum": ["enterprise-attack", "mobile-attack", "ics-attack"]},
      "description": "Domains to read from a collection index, a TAXII server or a mitre/cti checkout; default all. A single bundle or domain folder is read whole."
    },
    "version": {
      "type": "string", "pattern": "^(latest|v?[0-9]+(\\.[0-9]+)*)$", "default": "latest",
      "description": "Release to take from a collection index (index.json)."
    },
    "taxii": {
      "type": "object", "additionalProperties": false,
      "description": "Read from a TAXII 2.1 server (MITRE: https://attack-taxii.mitre.org/taxii2/); the source is read instead when the server fails.",
      "properties": {
        "url": {"type": "string", "format": "uri", "description": "Discovery URL, API root or collections URL; default the source."},
        "collection": {"type": "string", "description": "Collection id, title (Enterprise ATT&CK) or domain (enterprise-attack); default the selected domains."},
        "page_size": {"type": "integer", "minimum": 0, "description": "Objects per request; 0 lets the server choose."}
      }
    }`

var versionRe = regexp.MustCompile(`^(latest|v?[0-9]+(\.[0-9]+)*)$`)

// Check adds a diagnostic per invalid setting.
func (c SourceConfig) Check(ds *sdk.Diagnostics) {
	for i, d := range c.Domains {
		if !IsDomain(d) {
			ds.AddError(fmt.Sprintf("unknown ATT&CK domain %q", d), "domains are "+strings.Join(Domains, ", "), fmt.Sprintf("domains[%d]", i))
		}
	}
	if c.Version != "" && !versionRe.MatchString(c.Version) {
		ds.AddError(fmt.Sprintf("version %q is not \"latest\" or a release such as 18.1", c.Version), "", "version")
	}
	if t := c.TAXII; t != nil {
		if t.URL != "" {
			u, err := url.Parse(t.URL)
			if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
				ds.AddError(fmt.Sprintf("taxii.url %q is not an http(s) URL", t.URL), "", "taxii.url")
			}
		}
		if t.PageSize < 0 {
			ds.AddError("taxii.page_size must not be negative", "", "taxii.page_size")
		}
	}
}

// Options turns the config into Load options.
func (c SourceConfig) Options() Options {
	return Options{Domains: c.Domains, Version: c.Version, TAXII: c.TAXII}
}
