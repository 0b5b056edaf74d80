package collector

import (
	"slices"
	"strings"
)

// otlpEnvKeys names, for each key of exporters.otlp that the
// OTEL_EXPORTER_OTLP_* variables set (otlp.Config.ApplyEnv), the variables
// that set it, the one that wins first.
var otlpEnvKeys = []struct {
	key  string
	vars []string
}{
	{"enabled", []string{"OTEL_EXPORTER_OTLP_LOGS_ENDPOINT", "OTEL_EXPORTER_OTLP_ENDPOINT"}},
	{"endpoint", []string{"OTEL_EXPORTER_OTLP_ENDPOINT"}},
	{"logs_endpoint", []string{"OTEL_EXPORTER_OTLP_LOGS_ENDPOINT"}},
	{"protocol", logsFirst("PROTOCOL")},
	{"compression", logsFirst("COMPRESSION")},
	{"timeout", logsFirst("TIMEOUT")},
	{"insecure", logsFirst("INSECURE")},
	{"tls.ca_file", logsFirst("CERTIFICATE")},
	{"tls.cert_file", logsFirst("CLIENT_CERTIFICATE")},
	{"tls.key_file", logsFirst("CLIENT_KEY")},
	{"headers", logsFirst("HEADERS")},
	{"resource", []string{"OTEL_SERVICE_NAME", "OTEL_RESOURCE_ATTRIBUTES"}},
}

func logsFirst(name string) []string {
	return []string{"OTEL_EXPORTER_OTLP_LOGS_" + name, "OTEL_EXPORTER_OTLP_" + name}
}

// settleOTLPEnv finishes what ParseConfig began by applying the environment
// to the defaults, once the file has been decoded over them:
//   - a key the environment set and the file did not is marked as set by
//     its variable, so a problem with it names the variable, not a line;
//   - an endpoint written in the file wins over
//     OTEL_EXPORTER_OTLP_LOGS_ENDPOINT, which would otherwise replace it
//     (the file is the explicit choice);
//   - the variables that could not be parsed (envErr, one "VAR: message" a
//     line) become problems, unless the exporter is off or the file set
//     their key anyway.
func settleOTLPEnv(cfg *Config, ix *lineIndex, envErr error, lookup func(string) (string, bool)) []Problem {
	const prefix = "exporters.otlp."
	inFile := func(key string) bool { _, ok := ix.lines[prefix+key]; return ok }
	set := func(name string) bool { v, ok := lookup(name); return ok && strings.TrimSpace(v) != "" }
	if inFile("endpoint") && !inFile("logs_endpoint") && set("OTEL_EXPORTER_OTLP_LOGS_ENDPOINT") {
		cfg.Exporters.OTLP.LogsEndpoint = ""
	}
	byVar := map[string]string{} // variable → the key it set, for envErr's lines
	flags := map[string]string{}
	for _, k := range otlpEnvKeys {
		for _, v := range k.vars {
			if _, ok := byVar[v]; !ok {
				byVar[v] = k.key
			}
		}
		if inFile(k.key) {
			continue
		}
		if i := slices.IndexFunc(k.vars, set); i >= 0 {
			flags[prefix+k.key] = k.vars[i]
		}
	}
	if len(flags) > 0 {
		cfg.Origin = cfg.Origin.withFlags(flags)
	}
	if envErr == nil || !cfg.Exporters.OTLP.Enabled {
		return nil
	}
	var ps []Problem
	for _, line := range strings.Split(envErr.Error(), "\n") {
		name, msg, _ := strings.Cut(line, ": ")
		key, known := byVar[name]
		switch {
		case !known:
			ps = append(ps, Problem{Path: "exporters.otlp", Message: line})
		case !inFile(key):
			ps = append(ps, Problem{Path: prefix + key, Flag: name, Message: msg})
		}
	}
	return ps
}
