package testflow

import (
	"encoding/json"
	"fmt"
	"regexp"
	"sort"
	"strings"

	"github.com/aegis-sec/aegis/core"
)

// templateArgument is one input argument of a template (#{name} in Atomic commands).
type templateArgument struct {
	Name        string `json:"name"`
	Description string `json:"description"`
	Type        string `json:"type"`
	Default     string `json:"default"`
}

// templateExecutor is one per-platform executor of a template (CALDERA abilities).
type templateExecutor struct {
	Name     string `json:"name"`
	Command  string `json:"command"`
	Cleanup  string `json:"cleanup"`
	Platform string `json:"platform"`
}

var placeholderRE = regexp.MustCompile(`#\{([A-Za-z0-9_.-]+)\}`)

// renderCommand picks the template's command for the platform (a CALDERA ability has
// one per platform), and fills its #{argument} placeholders with the values given, or
// the defaults. A value for an argument the template does not have is refused, so a
// typo does not silently run the default.
func renderCommand(tpl *core.TestTemplate, platform string, values map[string]string) (command, cleanup string, err error) {
	command, cleanup = tpl.Command, tpl.CleanupCommand
	var execs []templateExecutor
	if len(tpl.Executors) > 0 {
		_ = json.Unmarshal(tpl.Executors, &execs)
	}
	if platform != "" {
		want := core.PlatformFamily(platform)
		for _, e := range execs {
			if e.Command != "" && (strings.EqualFold(e.Platform, platform) || (want != "" && core.PlatformFamily(e.Platform) == want)) {
				command, cleanup = e.Command, e.Cleanup
				break
			}
		}
	}
	if command == "" && len(execs) > 0 {
		command, cleanup = execs[0].Command, execs[0].Cleanup
	}

	var args []templateArgument
	if len(tpl.InputArguments) > 0 {
		_ = json.Unmarshal(tpl.InputArguments, &args)
	}
	known := map[string]string{}
	for _, a := range args {
		known[a.Name] = a.Default
	}
	var unknown []string
	for name, v := range values {
		if _, ok := known[name]; !ok {
			unknown = append(unknown, name)
			continue
		}
		known[name] = v
	}
	if len(unknown) > 0 {
		sort.Strings(unknown)
		names := make([]string, 0, len(args))
		for _, a := range args {
			names = append(names, a.Name)
		}
		return "", "", core.FieldError("arguments", "template %q has no argument %s (it has: %s)", tpl.Name,
			strings.Join(unknown, ", "), strings.Join(names, ", "))
	}
	fill := func(s string) string {
		return placeholderRE.ReplaceAllStringFunc(s, func(m string) string {
			name := placeholderRE.FindStringSubmatch(m)[1]
			if v, ok := known[name]; ok {
				return v
			}
			return m // not an argument of this template: leave it for the operator to see
		})
	}
	return fill(command), fill(cleanup), nil
}

// procedureText is what a technician reads: the template's description and manual
// steps, and the cleanup to run afterwards.
func procedureText(tpl *core.TestTemplate, cleanup string) string {
	parts := nonEmpty(tpl.Description, tpl.ManualSteps)
	if strings.TrimSpace(cleanup) != "" {
		parts = append(parts, fmt.Sprintf("Cleanup:\n%s", cleanup))
	}
	return strings.TrimSpace(strings.Join(parts, "\n\n"))
}
