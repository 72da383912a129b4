package events

import "strings"

// channelServices maps Windows event log channels to Sigma's windows services.
var channelServices = map[string]string{
	"security":                             "security",
	"system":                               "system",
	"application":                          "application",
	"microsoft-windows-sysmon/operational": "sysmon",
	"windows powershell":                   "powershell-classic",
	"microsoft-windows-powershell/operational":       "powershell",
	"powershellcore/operational":                     "powershell",
	"microsoft-windows-taskscheduler/operational":    "taskscheduler",
	"microsoft-windows-wmi-activity/operational":     "wmi",
	"microsoft-windows-windows defender/operational": "windefend",
	"microsoft-windows-bits-client/operational":      "bits-client",
	"microsoft-windows-dns-client/operational":       "dns-client",
	"dns server": "dns-server",
	"microsoft-windows-codeintegrity/operational":                              "codeintegrity-operational",
	"microsoft-windows-windows firewall with advanced security/firewall":       "firewall-as",
	"microsoft-windows-appxdeploymentserver/operational":                       "appxdeployment-server",
	"microsoft-windows-appxpackaging/operational":                              "appxpackaging-om",
	"microsoft-windows-applocker/exe and dll":                                  "applocker",
	"microsoft-windows-applocker/msi and script":                               "applocker",
	"microsoft-windows-applocker/packaged app-deployment":                      "applocker",
	"microsoft-windows-applocker/packaged app-execution":                       "applocker",
	"microsoft-windows-ntlm/operational":                                       "ntlm",
	"microsoft-windows-security-mitigations/kernel mode":                       "security-mitigations",
	"microsoft-windows-security-mitigations/user mode":                         "security-mitigations",
	"microsoft-windows-terminalservices-localsessionmanager/operational":       "terminalservices-localsessionmanager",
	"microsoft-windows-smbserver/connectivity":                                 "smbserver-connectivity",
	"microsoft-windows-smbclient/security":                                     "smbclient-security",
	"microsoft-windows-shell-core/operational":                                 "shell-core",
	"openssh/operational":                                                      "openssh",
	"microsoft-windows-lsa/operational":                                        "lsa-server",
	"microsoft-windows-driverframeworks-usermode/operational":                  "driver-framework",
	"microsoft-windows-diagnosis-scripted/operational":                         "diagnosis-scripted",
	"microsoft-windows-certificateservicesclient-lifecycle-system/operational": "certificateservicesclient-lifecycle-system",
	"microsoft-windows-capi2/operational":                                      "capi2",
	"microsoft-windows-appmodel-runtime/admin":                                 "appmodel-runtime",
	"msexchange management":                                                    "msexchange-management",
	"microsoft-iis-configuration/operational":                                  "iis-configuration",
	"microsoft-servicebus-client":                                              "microsoft-servicebus-client",
	"microsoft-windows-ldap-client/debug":                                      "ldap",
}

// sysmonCategories maps Sysmon event ids to Sigma categories.
var sysmonCategories = map[string]string{
	"1": "process_creation", "2": "file_change", "3": "network_connection", "4": "sysmon_status",
	"5": "process_termination", "6": "driver_load", "7": "image_load", "8": "create_remote_thread",
	"9": "raw_access_thread", "10": "process_access", "11": "file_event", "12": "registry_add",
	"13": "registry_set", "14": "registry_rename", "15": "create_stream_hash", "16": "sysmon_status",
	"17": "pipe_created", "18": "pipe_created", "19": "wmi_event", "20": "wmi_event", "21": "wmi_event",
	"22": "dns_query", "23": "file_delete", "24": "clipboard_capture", "25": "process_tampering",
	"26": "file_delete_detected", "27": "file_block_executable", "28": "file_block_shredding",
	"29": "file_executable_detected", "255": "sysmon_error",
}

// categoryFamilies are categories that include others: a rule for registry_event
// applies to every registry event, one for file_delete to the deletions Sysmon only
// logs.
var categoryFamilies = map[string][]string{
	"registry_event": {"registry_add", "registry_delete", "registry_set", "registry_rename"},
	"file_delete":    {"file_delete_detected"},
}

// CategoryIncludes reports whether events of category ev are events of ruleCat.
func CategoryIncludes(ruleCat, ev string) bool {
	if strings.EqualFold(ruleCat, ev) {
		return true
	}
	for _, c := range categoryFamilies[strings.ToLower(ruleCat)] {
		if strings.EqualFold(c, ev) {
			return true
		}
	}
	return false
}

// InferLogSource sets e.LogSource from its provider, channel and EventID when they
// say (Windows events, flattened or in ECS form). It leaves a log source the caller
// set alone.
func InferLogSource(e *Event) {
	if e.LogSource != (LogSource{}) {
		return
	}
	channel := first(e, "Channel", "winlog.channel")
	provider := first(e, "Provider_Name", "winlog.provider_name")
	id := first(e, "EventID", "winlog.event_id", "event.code")
	if channel == "" && provider == "" {
		return
	}
	ls := LogSource{Product: "windows", Inferred: true}
	ls.Service = channelServices[strings.ToLower(channel)]
	if ls.Service == "" && strings.EqualFold(provider, "Microsoft-Windows-Sysmon") {
		ls.Service = "sysmon"
	}
	switch ls.Service {
	case "sysmon":
		ls.Category = sysmonCategories[id]
		if id == "12" {
			if t, _ := e.Get("EventType"); t != nil && strings.EqualFold(t.Value, "DeleteKey") || t != nil && strings.EqualFold(t.Value, "DeleteValue") {
				ls.Category = "registry_delete"
			}
		}
	case "security":
		if id == "4688" {
			// Sigma's process_creation rules apply to Security 4688 with the
			// Sysmon names for its fields.
			ls.Category = "process_creation"
			alias(e, "NewProcessName", "Image")
			alias(e, "ParentProcessName", "ParentImage")
		}
	case "powershell":
		switch id {
		case "4104":
			ls.Category = "ps_script"
		case "4103":
			ls.Category = "ps_module"
		}
	case "powershell-classic":
		switch id {
		case "400":
			ls.Category = "ps_classic_start"
		case "600":
			ls.Category = "ps_classic_provider_start"
		}
	}
	e.LogSource = ls
}

func first(e *Event, names ...string) string {
	for _, n := range names {
		if f, ok := e.Get(n); ok && f.Value != "" {
			return f.Value
		}
	}
	return ""
}

// alias sets to from from when the event has from and lacks to.
func alias(e *Event, from, to string) {
	if _, ok := e.Get(to); ok {
		return
	}
	if f, ok := e.Get(from); ok {
		e.Set(to, f.Value)
	}
}
