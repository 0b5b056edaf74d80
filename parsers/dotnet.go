package parsers

import (
	"strings"

	"github.com/obsadapter/obsadapter/record"
)

// .NET's console logger (Microsoft.Extensions.Logging, ASP.NET Core):
//
//	info: Microsoft.Hosting.Lifetime[14]
//	      Now listening on: http://[::]:8080
//
// The message is on the indented line(s) below the header, which multiline
// joins; the single-line variant keeps it on the header line.

func parseDotnet(p *parser, line string, r *record.Record) bool {
	if len(line) < 9 || line[4] != ':' || line[5] != ' ' {
		return false
	}
	var sev record.Severity
	switch line[:4] {
	case "trce":
		sev = sevTrace
	case "dbug":
		sev = sevDebug
	case "info":
		sev = sevInfo
	case "warn":
		sev = sevWarn
	case "fail":
		sev = sevError
	case "crit":
		sev = sevFatal
	default:
		return false
	}
	rest := line[6:]
	open := strings.IndexByte(rest, '[')
	if open <= 0 {
		return false
	}
	category := rest[:open]
	if !isJavaName(category) {
		return false
	}
	id, after, ok := strings.Cut(rest[open+1:], "]")
	if !ok || digits(id) != len(id) || id == "" || (after != "" && after[0] != ' ') {
		return false
	}
	mark := len(p.fields)
	p.fields = append(p.fields, p.strField("category", category), p.intOrString("event_id", id))
	r.Fields = p.takeFields(mark)
	r.Severity, r.Message = sev, trimLeft(after)
	return true
}

// dedent removes the console logger's six-space message indent from each
// joined line.
func dedent(s string) string {
	var b strings.Builder
	for line := range strings.Lines(s) {
		b.WriteString(strings.TrimPrefix(line, "      "))
	}
	return b.String()
}
