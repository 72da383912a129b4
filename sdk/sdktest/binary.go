package sdktest

import (
	"bytes"
	"crypto/sha256"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/hashicorp/go-plugin"

	"github.com/aegis-sec/aegis/sdk/host"
)

// BuildPlugin compiles the plugin main package in dir (a directory, such as
// "." for the package under test) into t's temporary directory as
// aegis-plugin-<name of dir>, and returns the binary's path.
func BuildPlugin(t testing.TB, dir string) string {
	t.Helper()
	return BuildPluginTo(t, dir, t.TempDir())
}

// BuildPluginTo is BuildPlugin into outDir, for a binary several tests
// share; the caller removes outDir.
func BuildPluginTo(t testing.TB, dir, outDir string) string {
	t.Helper()
	abs, err := filepath.Abs(dir)
	if err != nil {
		t.Fatalf("sdktest: %v", err)
	}
	if err := os.MkdirAll(outDir, 0o755); err != nil {
		t.Fatalf("sdktest: %v", err)
	}
	out := filepath.Join(outDir, "aegis-plugin-"+filepath.Base(abs))
	if runtime.GOOS == "windows" {
		out += ".exe"
	}
	cmd := exec.Command("go", "build", "-o", out, ".")
	cmd.Dir = abs
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("sdktest: build plugin %s: %v\n%s", dir, err, b)
	}
	return out
}

// StartBinary starts a built plugin as a real process, the way the Aegis
// host does (checksum, handshake, gRPC with AutoMTLS, negotiated protocol),
// and returns a connected client. The process's log lines go to the test
// log, and the process is killed when the test ends.
func StartBinary(t testing.TB, bin string) host.Client {
	t.Helper()
	c, _ := StartBinaryProcess(t, bin)
	return c
}

// StartBinaryProcess is StartBinary that also returns go-plugin's client, to
// kill the process or ask whether it exited.
func StartBinaryProcess(t testing.TB, bin string) (host.Client, *plugin.Client) {
	t.Helper()
	data, err := os.ReadFile(bin)
	if err != nil {
		t.Fatalf("sdktest: %v", err)
	}
	sum := sha256.Sum256(data)
	cfg := host.ClientConfig(exec.Command(bin))
	cfg.SecureConfig = &plugin.SecureConfig{Checksum: sum[:], Hash: sha256.New()}
	cfg.StartTimeout = 30 * time.Second
	cfg.Logger = hclog.New(&hclog.LoggerOptions{Name: "host", Level: hclog.Debug, Output: newTestWriter(t)})
	pc := plugin.NewClient(cfg)
	t.Cleanup(pc.Kill)
	rpc, err := pc.Client()
	if err != nil {
		t.Fatalf("sdktest: start %s: %v", bin, err)
	}
	raw, err := rpc.Dispense(host.DispenseName)
	if err != nil {
		t.Fatalf("sdktest: dispense: %v", err)
	}
	c, ok := raw.(host.Client)
	if !ok {
		t.Fatalf("sdktest: dispensed %T, not a host.Client", raw)
	}
	return c, pc
}

// Describe runs the binary's describe subcommand, which needs no handshake,
// and returns its output.
func Describe(t testing.TB, bin string) []byte {
	t.Helper()
	var stderr bytes.Buffer
	cmd := exec.Command(bin, "describe")
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("sdktest: %s describe: %v\n%s", bin, err, stderr.Bytes())
	}
	return out
}
