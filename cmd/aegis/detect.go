package main

import (
	"encoding/json"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"

	"github.com/aegis-sec/aegis/core/detection"
	"github.com/aegis-sec/aegis/core/events"
)

// detectMatch is one line of `aegis detect`'s output.
type detectMatch struct {
	EventID   string           `json:"event_id"`
	Rule      string           `json:"rule"`
	RuleID    string           `json:"rule_id,omitempty"`
	Title     string           `json:"title"`
	Level     string           `json:"level,omitempty"`
	Searches  []string         `json:"searches"`
	LogSource events.LogSource `json:"logsource"`
}

func (a *app) detectCmd() *cobra.Command {
	var rulesSrc, eventsPath, mapping, format, logsource string
	cmd := &cobra.Command{
		Use:   "detect --rules SOURCE --events FILE",
		Short: "Evaluate Sigma rules over an event file and print the matches as JSON lines",
		Long: `Evaluate Sigma rules over captured telemetry (EVTX, NDJSON, JSON arrays, or the JSON form
of SigmaHQ's regression data) and print one JSON line per match on stdout:
{"event_id", "rule", "rule_id", "title", "level", "searches", "logsource"}.

--rules is a Sigma rule file or a folder of them (every .yml/.yaml below it), or the name
of an import source whose rules are in the database ("sigma"). Rules that cannot be
evaluated (correlation rules, regular expressions Go cannot run, ...) are listed on
stderr with the reason, with a summary line at the end.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if rulesSrc == "" || eventsPath == "" {
				return userError(fmt.Errorf("--rules and --events are required"))
			}
			opts := events.Options{Format: format}
			if mapping != "" {
				spec := []byte(mapping)
				if _, builtin := events.Mappings[mapping]; !builtin {
					b, err := os.ReadFile(mapping)
					if err != nil {
						return userError(fmt.Errorf("--mapping: %w", err))
					}
					spec = b
				}
				m, err := events.ParseMapping(spec)
				if err != nil {
					return userError(err)
				}
				opts.Mapping = m
			}
			if logsource != "" {
				for _, kv := range strings.Split(logsource, ",") {
					k, v, ok := strings.Cut(kv, "=")
					switch strings.TrimSpace(k) {
					case "product":
						opts.LogSource.Product = strings.TrimSpace(v)
					case "category":
						opts.LogSource.Category = strings.TrimSpace(v)
					case "service":
						opts.LogSource.Service = strings.TrimSpace(v)
					default:
						ok = false
					}
					if !ok {
						return userError(fmt.Errorf("--logsource: %q is not product=, category= or service=", kv))
					}
				}
			}
			eng, names, err := a.detectEngine(cmd, rulesSrc)
			if err != nil {
				return err
			}
			for _, u := range eng.Unsupported() {
				fmt.Fprintf(a.stderr, "rule %s not evaluated: %s\n", names(u.Key), u.Reason)
			}
			data, err := os.ReadFile(eventsPath)
			if err != nil {
				return userError(err)
			}
			enc := json.NewEncoder(a.stdout)
			enc.SetEscapeHTML(false)
			n, matches := 0, 0
			err = events.Read(eventsPath, data, opts, func(ev *events.Event) error {
				n++
				var werr error
				eng.Evaluate(ev, func(m detection.Match) {
					matches++
					if werr == nil {
						werr = enc.Encode(detectMatch{EventID: ev.ID, Rule: names(m.Rule.Key), RuleID: m.Rule.ID, Title: m.Rule.Title,
							Level: m.Rule.Level, Searches: m.Searches, LogSource: ev.LogSource})
					}
				})
				return werr
			})
			if err != nil {
				return userError(err)
			}
			fmt.Fprintf(a.stderr, "%d events, %d matches, %d rules evaluated, %d not evaluable\n", n, matches, len(eng.Rules()), len(eng.Unsupported()))
			return nil
		},
	}
	cmd.Flags().StringVar(&rulesSrc, "rules", "", "Sigma rule file or folder, or an import source in the database")
	cmd.Flags().StringVar(&eventsPath, "events", "", "event file (EVTX, NDJSON, JSON)")
	cmd.Flags().StringVar(&mapping, "mapping", "", `field mapping: "ecs", or a JSON file of {"source name": "rule name"}`)
	cmd.Flags().StringVar(&format, "format", "", "event format: evtx or json (default: from the file's first bytes)")
	cmd.Flags().StringVar(&logsource, "logsource", "", "log source of every event, e.g. product=windows,category=process_creation (default: inferred)")
	return cmd
}

// detectEngine compiles the rules named by src: files when src is a path, the stored
// rules of an import source otherwise. names turns a rule key into what to print.
func (a *app) detectEngine(cmd *cobra.Command, src string) (*detection.Engine, func(string) string, error) {
	if info, err := os.Stat(src); err == nil {
		var srcs []detection.Source
		add := func(p string) error {
			b, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			srcs = append(srcs, detection.Source{Key: p, Text: b})
			return nil
		}
		if info.IsDir() {
			err = filepath.WalkDir(src, func(p string, d fs.DirEntry, err error) error {
				if err != nil || d.IsDir() || !(strings.HasSuffix(p, ".yml") || strings.HasSuffix(p, ".yaml")) {
					return err
				}
				return add(p)
			})
		} else {
			err = add(src)
		}
		if err != nil {
			return nil, nil, userError(err)
		}
		if len(srcs) == 0 {
			return nil, nil, userError(fmt.Errorf("no .yml or .yaml rule files under %s", src))
		}
		eng, err := detection.Compile(srcs, detection.Options{})
		if err != nil {
			return nil, nil, userError(err)
		}
		return eng, func(k string) string { return k }, nil
	}
	ctx := cmd.Context()
	st, err := a.openStore(ctx, true)
	if err != nil {
		return nil, nil, err
	}
	defer st.Close()
	svc := detection.NewService(st, nil, a.log, detection.ServiceOptions{})
	eng, byKey, err := svc.EngineFor(ctx, src)
	if err != nil {
		return nil, nil, userError(fmt.Errorf("--rules %s: not a file or folder, and as an import source: %w", src, err))
	}
	return eng, func(k string) string {
		if r := byKey[k]; r != nil {
			return r.Source + ":" + r.ExternalID
		}
		return k
	}, nil
}
