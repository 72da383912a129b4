package pluginhost

import "github.com/hashicorp/go-hclog"

// quietExits is the logger go-plugin gets. Every call starts and stops a plugin, so
// go-plugin's "plugin process exited" would be an INFO line per import, per plugin
// listed and per server start; it is demoted to DEBUG. A plugin's panic stays an ERROR
// line, but its stack trace moves to an INFO line of its own: a CLI command, which logs
// only errors without -v, shows the panic and not the trace; `-v` and the server log
// (at info or debug) show both. Everything else (the plugin's own log lines, crashes)
// passes through at its level.
type quietExits struct{ hclog.Logger }

func (q quietExits) Info(msg string, args ...any) {
	if msg == "plugin process exited" {
		q.Logger.Debug(msg, args...)
		return
	}
	q.Logger.Info(msg, args...)
}

func (q quietExits) Log(level hclog.Level, msg string, args ...any) {
	if level == hclog.Info && msg == "plugin process exited" {
		level = hclog.Debug
	}
	if level == hclog.Error && q.panicked(msg, args) {
		return
	}
	q.Logger.Log(level, msg, args...)
}

func (q quietExits) Error(msg string, args ...any) {
	if !q.panicked(msg, args) {
		q.Logger.Error(msg, args...)
	}
}

// panicMessage is what the SDK's recovery interceptor logs, with the trace as "stack".
const panicMessage = "plugin panicked"

// panicked logs a plugin's panic line without its stack trace, and the trace at INFO;
// false when the line is something else.
func (q quietExits) panicked(msg string, args []any) bool {
	if msg != panicMessage {
		return false
	}
	var rest []any
	var stack any
	for i := 0; i+1 < len(args); i += 2 {
		if args[i] == "stack" {
			stack = args[i+1]
			continue
		}
		rest = append(rest, args[i], args[i+1])
	}
	if stack == nil {
		return false
	}
	q.Logger.Error(msg, append(rest, "stack", "in the log at info level (aegis -v)")...)
	q.Logger.Info("plugin panic stack trace", "stack", stack)
	return true
}

func (q quietExits) With(args ...any) hclog.Logger    { return quietExits{q.Logger.With(args...)} }
func (q quietExits) Named(name string) hclog.Logger   { return quietExits{q.Logger.Named(name)} }
func (q quietExits) ResetNamed(n string) hclog.Logger { return quietExits{q.Logger.ResetNamed(n)} }
