package pluginhost

import "github.com/hashicorp/go-hclog"

// quietExits is the logger go-plugin gets. Every call starts and stops a plugin, so
// go-plugin's "plugin process exited" would be an INFO line per import, per plugin
// listed and per server start; it is demoted to DEBUG. Everything else (the plugin's
// own log lines, crashes) passes through at its level.
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
	q.Logger.Log(level, msg, args...)
}

func (q quietExits) With(args ...any) hclog.Logger    { return quietExits{q.Logger.With(args...)} }
func (q quietExits) Named(name string) hclog.Logger   { return quietExits{q.Logger.Named(name)} }
func (q quietExits) ResetNamed(n string) hclog.Logger { return quietExits{q.Logger.ResetNamed(n)} }
