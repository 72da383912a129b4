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
