package record

// Severity is the OpenTelemetry log SeverityNumber, 1 (TRACE) to 24 (FATAL4).
// Zero means the record states no level.
type Severity uint8

// The first severity number of each level range.
const (
	SeverityTrace Severity = 1
	SeverityDebug Severity = 5
	SeverityInfo  Severity = 9
	SeverityWarn  Severity = 13
	SeverityError Severity = 17
	SeverityFatal Severity = 21
)

// Level is one of the six normalized level words, or LevelNone.
type Level uint8

const (
	LevelNone Level = iota
	LevelTrace
	LevelDebug
	LevelInfo
	LevelWarn
	LevelError
	LevelFatal
)

var levelNames = [...]string{"", "trace", "debug", "info", "warn", "error", "fatal"}

// Levels lists every level word, lowest first.
var Levels = []Level{LevelTrace, LevelDebug, LevelInfo, LevelWarn, LevelError, LevelFatal}

// String is the JSON word of the level: "trace" … "fatal", or "" for none.
func (l Level) String() string {
	if int(l) < len(levelNames) {
		return levelNames[l]
	}
	return ""
}

// Severity is the first severity number of the level's range.
func (l Level) Severity() Severity {
	if l == LevelNone || int(l) >= len(levelNames) {
		return 0
	}
	return Severity(l-1)*4 + 1
}

// Level maps the severity number to its range: 1–4 trace, 5–8 debug, 9–12
// info, 13–16 warn, 17–20 error, 21–24 fatal.
func (s Severity) Level() Level {
	switch {
	case s == 0:
		return LevelNone
	case s > 24:
		return LevelFatal
	default:
		return Level((s-1)/4 + 1)
	}
}

// LevelFromString parses a level word as String prints it.
func LevelFromString(s string) (Level, bool) {
	for i, n := range levelNames {
		if i > 0 && n == s {
			return Level(i), true
		}
	}
	return LevelNone, false
}
