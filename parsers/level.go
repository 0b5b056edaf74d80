package parsers

import "github.com/obsadapter/obsadapter/record"

// Severities of the level words between the six range starts, on the
// OpenTelemetry scale.
const (
	sevTrace  = record.SeverityTrace
	sevFinest = record.SeverityTrace
	sevFiner  = record.SeverityTrace + 1
	sevDebug  = record.SeverityDebug
	sevConfig = record.SeverityDebug + 3
	sevInfo   = record.SeverityInfo
	sevNotice = record.SeverityInfo + 1
	sevWarn   = record.SeverityWarn
	sevError  = record.SeverityError
	sevDPanic = record.SeverityError + 2
	sevFatal  = record.SeverityFatal // also crit and critical
	sevAlert  = record.SeverityFatal + 1
	sevEmerg  = record.SeverityFatal + 2
)

// levelWord maps a level word in any case to its severity: the usual words
// and abbreviations, syslog names (notice is info; crit, alert and emerg are
// fatal), Python's WARNING and CRITICAL, Java's SEVERE, CONFIG and FINE…,
// zap's dpanic and panic.
func levelWord(s string) (record.Severity, bool) {
	if len(s) == 0 || len(s) > 11 {
		return 0, false
	}
	var b [11]byte
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= 'A' && c <= 'Z' {
			c += 'a' - 'A'
		}
		b[i] = c
	}
	switch string(b[:len(s)]) {
	case "trace", "trc", "finest", "silly", "vrb":
		return sevTrace, true
	case "finer":
		return sevFiner, true
	case "debug", "dbg", "debg", "fine", "verbose":
		return sevDebug, true
	case "config":
		return sevConfig, true
	case "info", "inf", "information", "informational", "success":
		return sevInfo, true
	case "notice", "note":
		return sevNotice, true
	case "warn", "warning", "wrn":
		return sevWarn, true
	case "error", "err", "eror", "erro", "severe", "fail":
		return sevError, true
	case "dpanic":
		return sevDPanic, true
	case "fatal", "ftl", "crit", "critical", "crt", "panic", "pnc":
		return sevFatal, true
	case "alert":
		return sevAlert, true
	case "emerg", "emergency":
		return sevEmerg, true
	}
	return 0, false
}

// levelLetter maps the single letters of klog/glog (I W E F) and Android
// logcat (V D I W E F, A for assert).
func levelLetter(c byte) (record.Severity, bool) {
	switch c {
	case 'V', 'T':
		return sevTrace, true
	case 'D':
		return sevDebug, true
	case 'I':
		return sevInfo, true
	case 'N':
		return sevNotice, true
	case 'W':
		return sevWarn, true
	case 'E':
		return sevError, true
	case 'F', 'A', 'C':
		return sevFatal, true
	}
	return 0, false
}

// syslogSeverity maps a syslog severity 0 (emerg) to 7 (debug).
func syslogSeverity(n int) record.Severity {
	return [...]record.Severity{sevEmerg, sevAlert, sevFatal, sevError, sevWarn, sevNotice, sevInfo, sevDebug}[n&7]
}

// numericLevel maps bunyan/pino numbers (10 trace … 60 fatal) and syslog
// severities (0–7), the two numeric conventions loggers use.
func numericLevel(n int64) (record.Severity, bool) {
	switch {
	case n >= 0 && n <= 7:
		return syslogSeverity(int(n)), true
	case n >= 10 && n < 70:
		return [...]record.Severity{sevTrace, sevDebug, sevInfo, sevWarn, sevError, sevFatal}[n/10-1], true
	}
	return 0, false
}

// levelString parses a level value that may be a word or a number.
func levelString(s string) (record.Severity, bool) {
	if sev, ok := levelWord(s); ok {
		return sev, true
	}
	if n, ok := atoi(s); ok {
		return numericLevel(int64(n))
	}
	return 0, false
}
