package main

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/aegis-sec/aegis/sdk"
)

// config is the plugin's `config { ... }` block from aegis.hcl.
type config struct {
	// Feeds are feed URLs or paths, read in addition to the source.
	Feeds []string `json:"feeds"`
	// Timeout bounds the download of one feed, e.g. "30s".
	Timeout string `json:"timeout"`
	// MaxFeedBytes caps the downloaded size of one feed.
	MaxFeedBytes int64 `json:"max_feed_bytes"`

	timeout time.Duration
}

const configSchema = `{
  "type": "object",
  "additionalProperties": false,
  "properties": {
    "feeds":          {"type": "array", "items": {"type": "string", "minLength": 1}, "description": "RSS, Atom or JSON feed URLs or paths, read in addition to the source"},
    "timeout":        {"type": "string", "default": "60s", "description": "download timeout per feed (Go duration)"},
    "max_feed_bytes": {"type": "integer", "minimum": 1, "default": 52428800, "description": "largest feed download accepted"}
  }
}`

const (
	defaultTimeout  = time.Minute
	defaultMaxBytes = 50 << 20
)

func decodeConfig(raw json.RawMessage) (config, error) {
	c, err := sdk.DecodeConfig(raw, config{Timeout: defaultTimeout.String(), MaxFeedBytes: defaultMaxBytes})
	if err != nil {
		return c, err
	}
	d, err := time.ParseDuration(strings.TrimSpace(c.Timeout))
	if err != nil || d <= 0 {
		return c, fmt.Errorf("timeout %q is not a positive duration such as \"30s\"", c.Timeout)
	}
	c.timeout = d
	if c.MaxFeedBytes <= 0 {
		return c, fmt.Errorf("max_feed_bytes must be positive, not %d", c.MaxFeedBytes)
	}
	for i, f := range c.Feeds {
		if strings.TrimSpace(f) == "" {
			return c, fmt.Errorf("feeds[%d] is empty", i)
		}
	}
	return c, nil
}

func (*importer) Describe() sdk.Component {
	return sdk.Component{
		Description:  "Threat-intelligence articles from RSS, Atom and JSON feeds, with the ATT&CK technique and group ids they mention",
		RecordKinds:  []string{sdk.KindIntelItem},
		ConfigSchema: json.RawMessage(configSchema),
	}
}

func (*importer) ValidateConfig(_ context.Context, raw json.RawMessage) sdk.Diagnostics {
	var ds sdk.Diagnostics
	if _, err := decodeConfig(raw); err != nil {
		ds.AddError("invalid intel config", err.Error(), sdk.ConfigKey(err))
	}
	return ds
}
