package pluginhost

import (
	"bytes"
	"strings"
	"testing"

	"github.com/hashicorp/go-hclog"
)

func TestQuietExits(t *testing.T) {
	var buf bytes.Buffer
	l := quietExits{hclog.New(&hclog.LoggerOptions{Output: &buf, Level: hclog.Info})}
	l.With("plugin", "x").Info("plugin process exited", "id", 1)
	l.Named("p").Log(hclog.Info, "plugin process exited")
	l.Named("p").Info("import finished", "records", 3)
	out := buf.String()
	if strings.Contains(out, "plugin process exited") || !strings.Contains(out, "import finished") {
		t.Fatalf("got:\n%s", out)
	}
}

// A plugin's panic is an error line without its stack trace; the trace is an info line,
// so a CLI command (errors only without -v) does not print it and -v or the server log does.
func TestPanicStackOnlyAtInfo(t *testing.T) {
	for _, c := range []struct {
		level     hclog.Level
		wantStack bool
	}{{hclog.Error, false}, {hclog.Info, true}, {hclog.Debug, true}} {
		var buf bytes.Buffer
		l := quietExits{hclog.New(&hclog.LoggerOptions{Output: &buf, Level: c.level})}
		args := []any{"method", "/Importer/Import", "panic", "boom", "stack", "goroutine 7 [running]:\nmain.crash()"}
		l.Named("p").Error("plugin panicked", args...)
		l.Named("p").Log(hclog.Error, "plugin panicked", args...)
		out := buf.String()
		if strings.Count(out, "plugin panicked") != 2 || !strings.Contains(out, "boom") {
			t.Errorf("level %s: the panic itself is not logged:\n%s", c.level, out)
		}
		if got := strings.Contains(out, "goroutine 7"); got != c.wantStack {
			t.Errorf("level %s: stack trace shown = %v, want %v:\n%s", c.level, got, c.wantStack, out)
		}
	}
}
