package host

import (
	"bytes"
	"encoding/json"
	"sync"

	"github.com/aegis-sec/aegis/sdk"
	"github.com/aegis-sec/aegis/sdk/internal/protocol"
)

// maxEchoed bounds how many echoed diagnostics an EchoCollector keeps.
const maxEchoed = 10000

// EchoCollector keeps the diagnostics a plugin echoes on its stderr (the SDK writes
// each one there before sending it). Set it as go-plugin's ClientConfig.Stderr, which
// receives every raw stderr line. When the process dies, diagnostics still in its gRPC
// send buffer never arrive, but their stderr lines do: Lost returns them.
type EchoCollector struct {
	mu    sync.Mutex
	diags []sdk.Diagnostic
}

var echoMark = []byte(`"@message":"` + protocol.EchoMessage + `"`)

// Write takes one stderr line (go-plugin writes line by line, without the newline).
func (c *EchoCollector) Write(line []byte) (int, error) {
	if !bytes.Contains(line, echoMark) {
		return len(line), nil
	}
	var d sdk.Diagnostic
	if json.Unmarshal(line, &d) == nil && d.Summary != "" {
		c.mu.Lock()
		if len(c.diags) < maxEchoed {
			c.diags = append(c.diags, d)
		}
		c.mu.Unlock()
	}
	return len(line), nil
}

// Lost returns the echoed diagnostics that are not among received (the ones that
// arrived over gRPC), in the order they were echoed. Call it after the process has
// ended and its stderr has been read to the end (go-plugin's Client.Kill waits for that).
func (c *EchoCollector) Lost(received []sdk.Diagnostic) []sdk.Diagnostic {
	got := map[sdk.Diagnostic]int{}
	for _, d := range received {
		got[d]++
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	var out []sdk.Diagnostic
	for _, d := range c.diags {
		if got[d] > 0 {
			got[d]--
			continue
		}
		out = append(out, d)
	}
	return out
}
