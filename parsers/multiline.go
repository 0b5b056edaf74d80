package parsers

import (
	"strings"

	"github.com/obsadapter/obsadapter/record"
)

// Automatic multiline joins the lines of one event that loggers and
// runtimes print across several lines: Java/Kotlin/Scala stack traces,
// Python tracebacks (chained ones too), Go panics and goroutine dumps, .NET
// exceptions, and indented continuation lines in general.

// mlKind is the kind of multiline record being assembled; it decides which
// unindented lines and blank lines still belong to it.
type mlKind uint8

const (
	mlNone    mlKind = iota
	mlJava           // also Kotlin, Scala, .NET: exception headers, "Caused by:"
	mlPyTrace        // inside a Python traceback, before its exception line
	mlPyDone         // after a traceback's exception line: a chained one may follow
	mlGo             // a Go panic or goroutine dump
)

// startKind classifies a line that starts a record. It runs on every
// record, so the prefixes are only compared when the first byte fits.
func startKind(line string) mlKind {
	if line == "" {
		return mlNone
	}
	switch line[0] {
	case 'T':
		if strings.HasPrefix(line, "Traceback (most recent call last):") {
			return mlPyTrace
		}
	case 'p':
		if strings.HasPrefix(line, "panic: ") {
			return mlGo
		}
	case 'f':
		if strings.HasPrefix(line, "fatal error: ") {
			return mlGo
		}
	case 'g':
		if isGoroutineHeader(line) {
			return mlGo
		}
	case 'E':
		if strings.HasPrefix(line, "Exception in thread ") {
			return mlJava
		}
	case 'U':
		if strings.HasPrefix(line, "Unhandled exception. ") {
			return mlJava
		}
	}
	if exceptionHeader(line) != "" {
		return mlJava
	}
	return mlNone
}

// continues reports whether line belongs to the record being held, of
// format f and multiline kind *kind, updating the kind. settled says f has
// held the stream for a few records.
func continues(kind *mlKind, held *record.Record, f *format, line string, settled bool) bool {
	sev := held.Severity
	if trimSpace(line) == "" {
		return false
	}
	if isSpace(line[0]) {
		if *kind == mlPyDone {
			return false
		}
		if *kind == mlNone && (strings.HasPrefix(trimLeft(line), "at ") || strings.HasPrefix(trimLeft(line), "Caused by: ")) {
			*kind = mlJava
		}
		return true
	}
	switch *kind {
	case mlPyTrace:
		// The first unindented line is the exception; it ends the traceback.
		*kind = mlPyDone
		return true
	case mlPyDone:
		if strings.HasPrefix(line, "During handling of the above exception") ||
			strings.HasPrefix(line, "The above exception was the direct cause") {
			return true
		}
		if strings.HasPrefix(line, "Traceback (most recent call last):") {
			*kind = mlPyTrace
			return true
		}
		return false
	case mlGo:
		if isGoroutineHeader(line) || isGoFrame(line) || isGoSymbol(line) || strings.HasPrefix(line, "created by ") ||
			strings.HasPrefix(line, "exit status ") || strings.HasPrefix(line, "[signal ") ||
			strings.HasPrefix(line, "panic: ") || strings.HasPrefix(line, "fatal error: ") ||
			strings.HasPrefix(line, "runtime stack:") || strings.HasPrefix(line, "...additional frames elided...") {
			return true
		}
		return false
	}
	// Every line of a stream comes here while a record is held: compare
	// prefixes only when the first byte fits.
	switch line[0] {
	case 'C', 'S', '.':
		if strings.HasPrefix(line, "Caused by: ") || strings.HasPrefix(line, "Suppressed: ") || isMoreLine(line) {
			*kind = mlJava
			return true
		}
	case 'T':
		if strings.HasPrefix(line, "Traceback (most recent call last):") && sev >= record.SeverityError && !f.server {
			*kind = mlPyTrace
			return true
		}
	case 'g':
		if isGoroutineHeader(line) && sev >= record.SeverityError {
			*kind = mlGo
			return true
		}
	}
	// An exception printed after a log line (logger.error("…", e)) starts
	// with its class name, unindented.
	if sev >= record.SeverityWarn && !f.server && exceptionHeader(line) != "" {
		*kind = mlJava
		return true
	}
	// In a stream whose header layout was learned, a line without a header
	// of its own belongs to the record before it: a message printed over
	// several lines, the text under a time-only line (Oracle's alert log).
	// Only under a header with no text, or once the layout has held for a
	// few records: a stream of mixed formats keeps its headerless lines as
	// records of their own.
	if f.headerless && (settled || held.Message == "") && !opensRecord(line) {
		return true
	}
	return false
}

// opensRecord reports whether a line starts a record of its own in a learned
// stream: it has a timestamp among its first tokens, or it is a banner
// ("==> …", "---- …").
func opensRecord(line string) bool {
	if len(line) >= 3 && isBannerByte(line[0]) && line[1] == line[0] && isBannerByte(line[2]) {
		return true
	}
	if _, _, ok := leadingLevel(line, false); ok {
		return true // "ERROR: …", "[warn] …"
	}
	if _, ok := levelLetter(line[0]); ok && len(line) > 2 && line[1] == '/' {
		return true // logcat brief
	}
	var st stamp
	i := 0
	for tok := 0; tok < 4 && i < len(line); tok++ {
		if _, ok := scanStamp(line[i:], &st); ok {
			return true
		}
		if line[i] == '[' || line[i] == '(' {
			if _, ok := scanStamp(line[i+1:], &st); ok {
				return true
			}
		}
		if tok == 0 {
			// "app.log:2026-12-03 …"
			if k := strings.IndexByte(token(line, 0, 0), ':'); k > 0 {
				if _, ok := scanStamp(line[k+1:], &st); ok {
					return true
				}
			}
		}
		i += len(token(line, i, 0))
		i, _ = skipBlanks(line, i)
	}
	return false
}

func isBannerByte(c byte) bool { return c == '=' || c == '-' || c == '>' }

// isMoreLine matches Java's "... 12 more" frame elision.
func isMoreLine(line string) bool {
	if !strings.HasPrefix(line, "... ") || !strings.HasSuffix(line, " more") {
		return false
	}
	return digits(line[4:]) == len(line)-9 && len(line) > 9
}

// isGoroutineHeader matches "goroutine 1 [running]:".
func isGoroutineHeader(line string) bool {
	if !strings.HasPrefix(line, "goroutine ") {
		return false
	}
	d := digits(line[10:])
	return d > 0 && len(line) > 10+d+2 && line[10+d] == ' ' && line[11+d] == '[' && strings.HasSuffix(line, ":")
}

// isGoFrame matches a goroutine dump's function line, such as
// "main.(*Server).handle(0xc000120000, {0x6b2e40, 0x5})".
func isGoFrame(line string) bool {
	open := strings.IndexByte(line, '(')
	if open <= 0 || !strings.HasSuffix(line, ")") && !strings.HasSuffix(line, "...") {
		return false
	}
	fn := line[:open]
	if strings.IndexByte(fn, ' ') >= 0 {
		// "(*T)" method receivers put the paren earlier; look past them.
		return false
	}
	return strings.IndexByte(fn, '.') > 0 || strings.HasPrefix(line[open:], "(*")
}

// isGoSymbol matches a bare function name as zap's stack traces print
// them: "main.main", "github.com/x/y.(*T).Run".
func isGoSymbol(line string) bool {
	if strings.IndexByte(line, '.') <= 0 {
		return false
	}
	for i := 0; i < len(line); i++ {
		c := line[i]
		if !(isAlpha(c) || isDigit(c) || c == '.' || c == '/' || c == '_' || c == '-' || c == '(' || c == ')' || c == '*' || c == '[' || c == ']' || c == ',') {
			return false
		}
	}
	return true
}

// exceptionHeader returns the class name when line starts with a Java or
// .NET exception such as "java.lang.IllegalStateException: boom" or
// "System.InvalidOperationException: …".
func exceptionHeader(line string) string {
	name := qualifiedName(line)
	if name == "" || len(name) == len(line) && !isExceptionName(name) {
		return ""
	}
	if len(name) < len(line) && line[len(name)] != ':' {
		return ""
	}
	// The dot first: it turns away "INFO:" and the like cheaply.
	if strings.IndexByte(name, '.') < 0 || !isExceptionName(name) {
		return ""
	}
	return name
}

// qualifiedName is the leading dotted identifier of s (Java allows $ in
// names, Scala too).
func qualifiedName(s string) string {
	i := 0
	for i < len(s) {
		c := s[i]
		if isAlpha(c) || c == '_' || c == '$' || (i > 0 && (isDigit(c) || c == '.')) {
			i++
			continue
		}
		break
	}
	if i > 0 && s[i-1] == '.' {
		i--
	}
	return s[:i]
}

func isExceptionName(name string) bool {
	last := name[strings.LastIndexByte(name, '.')+1:]
	return strings.HasSuffix(last, "Exception") || strings.HasSuffix(last, "Error") ||
		strings.HasSuffix(last, "Throwable") || strings.HasSuffix(last, "Failure") || strings.HasSuffix(last, "Fault")
}

// exceptionType finds the exception class of a joined multiline record:
// the first class named in a Java/.NET trace (header message included), the
// last exception of a Python traceback, "panic" or "fatal error" for Go.
func exceptionType(kind mlKind, first, rest string) string {
	switch kind {
	case mlGo:
		for _, s := range [2]string{first, rest} {
			for line := range strings.Lines(s) {
				switch {
				case strings.HasPrefix(line, "panic: "):
					return "panic"
				case strings.HasPrefix(line, "fatal error: "):
					return "fatal error"
				}
			}
		}
		return ""
	case mlPyTrace, mlPyDone:
		exc := ""
		inTrace := false
		for line := range strings.Lines(first + "\n" + rest) {
			line = strings.TrimRight(line, "\r\n")
			switch {
			case strings.HasPrefix(line, "Traceback (most recent call last):"):
				inTrace = true
			case inTrace && line != "" && !isSpace(line[0]):
				if name := qualifiedName(line); name != "" && (len(name) == len(line) || line[len(name)] == ':') {
					exc = name
				}
				inTrace = false
			}
		}
		return exc
	}
	for _, s := range [2]string{first, rest} {
		if name := findExceptionName(s); name != "" {
			return name
		}
	}
	return ""
}

// findExceptionName returns the first dotted class name in s that names an
// exception and is followed by ':' or the end of a line.
func findExceptionName(s string) string {
	for i := 0; i < len(s); i++ {
		if i > 0 && (isAlpha(s[i-1]) || isDigit(s[i-1]) || s[i-1] == '.' || s[i-1] == '_' || s[i-1] == '$') {
			continue
		}
		name := qualifiedName(s[i:])
		if len(name) < 3 {
			continue
		}
		end := i + len(name)
		if strings.IndexByte(name, '.') > 0 && isExceptionName(name) &&
			(end == len(s) || s[end] == ':' || s[end] == '\n' || s[end] == '\r') {
			return name
		}
		i = end
	}
	return ""
}
