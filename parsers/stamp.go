package parsers

import (
	"time"
)

// The header learner's timestamp reader. It knows the token classes of
// times, not products: a date (numeric in any order and separator, compact,
// with a month name, with or without a year), a time of day (":SSS" and
// ",SSS" fractions, AM/PM), a zone, or a Unix epoch. What the values cannot
// decide (day or month first) the stream decides once, from the first line,
// and revises only when a later line rules its choice out.

// dateOrder is the order of a numeric date's parts.
type dateOrder uint8

const (
	orderYMD dateOrder = 1 << iota
	orderDMY
	orderMDY
	orderMD // month-day, no year
	orderDM // day-month, no year
)

// stamp is a timestamp read from a line, before the stream's zone, clock
// and date order make an instant of it.
type stamp struct {
	c      clock
	parts  [3]int    // a numeric date's parts as written, when orders != 0
	yy     bool      // the year in parts has two digits
	orders dateOrder // the orders the parts allow; 0: the date is not numeric
	year   bool      // a year is stated (or the stamp is an epoch)
	date   bool      // a date is stated
	zoned  bool      // off is known
	off    int
	epoch  time.Time // set for Unix epochs
	shape  uint64    // the stamp's skeleton, hashed: a learned layout demands the same
	desc   [24]byte  // the layout as words (yyyy-MM-dd HH:mm:ss), for explain
	descN  uint8
	// describing asks for desc: only when a layout is learned, not on the
	// fast path that applies it.
	describing bool
	dbDash     bool // the time of day is written HH.mm.ss
}

// scanStamp reads a timestamp at the start of s and returns its length.
func scanStamp(s string, st *stamp) (int, bool) { return st.scan(s, false) }

// scanDescribed is scanStamp that also describes the stamp's layout.
func scanDescribed(s string, st *stamp) (int, bool) { return st.scan(s, true) }

func (st *stamp) scan(s string, describing bool) (int, bool) {
	*st = stamp{describing: describing}
	if len(s) < 5 {
		return 0, false
	}
	var i int
	var ok bool
	switch {
	case isDigit(s[0]):
		i, ok = st.numericStart(s)
	case isAlpha(s[0]):
		i, ok = st.wordStart(s)
	}
	if !ok || !boundary(s, i) {
		return 0, false
	}
	if st.epoch.IsZero() {
		if !st.c.timeValid() || (st.orders == 0 && st.date && !st.c.valid()) {
			return 0, false
		}
		if st.orders != 0 && st.validOrders() == 0 {
			return 0, false
		}
	}
	st.shape = skeleton(s[:i])
	return i, true
}

// boundary reports whether a stamp may end at s[i]: a token ends there.
func boundary(s string, i int) bool {
	if i >= len(s) {
		return true
	}
	switch s[i] {
	case ' ', '\t', ']', ')', '>', ',', ':', '|', ';', '"', '\'':
		return true
	}
	return false
}

// skeleton hashes s with every run of digits, of letters and of blanks made
// one symbol, so "2026-12-03  7:14:05" and "2026-12-03 17:14:05" are the same
// shape and "2026-12-03 07:14:05,123" is another.
func skeleton(s string) uint64 {
	h := uint64(14695981039346656037)
	var prev byte
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case isDigit(c):
			c = '9'
		case isAlpha(c):
			c = 'a'
		case c == '\t':
			c = ' '
		}
		if c == prev && (c == '9' || c == 'a' || c == ' ') {
			continue
		}
		prev = c
		h = (h ^ uint64(c)) * 1099511628211
	}
	return h
}

func (st *stamp) say(words string) {
	if !st.describing {
		return
	}
	n := int(st.descN)
	n += copy(st.desc[n:], words)
	st.descN = uint8(n)
}

// describe is the stamp's layout in words.
func (st *stamp) describe(order dateOrder) string {
	d := string(st.desc[:st.descN])
	if st.orders == 0 {
		return d
	}
	names := map[dateOrder][3]string{
		orderYMD: {"yyyy", "MM", "dd"}, orderDMY: {"dd", "MM", "yyyy"}, orderMDY: {"MM", "dd", "yyyy"},
		orderMD: {"MM", "dd", ""}, orderDM: {"dd", "MM", ""},
	}[order]
	if st.yy {
		for k := range names {
			if names[k] == "yyyy" {
				names[k] = "yy"
			}
		}
	}
	out := make([]byte, 0, len(d)+8)
	k := 0
	for i := 0; i < len(d); i++ {
		if d[i] == '#' && k < 3 {
			out = append(out, names[k]...)
			k++
			continue
		}
		out = append(out, d[i])
	}
	return string(out)
}

// readNum reads a run of digits (up to 19) at s[i:].
func readNum(s string, i int) (v, width int) {
	for j := i; j < len(s) && isDigit(s[j]) && j-i < 19; j++ {
		v = v*10 + int(s[j]-'0')
		width++
	}
	return v, width
}

func (st *stamp) numericStart(s string) (int, bool) {
	v1, w1 := readNum(s, 0)
	i := w1
	next := byte(0)
	if i < len(s) {
		next = s[i]
	}
	switch {
	case w1 >= 10 && w1 <= 19 && next != '-' && next != ':' && next != '/':
		return st.epochAt(s, v1, w1)
	case w1 == 4 && (next == '-' || next == '/' || next == '.'):
		// yyyy-MM-dd, yyyy/MM/dd, yyyy.MM.dd
		m, wm := readNum(s, i+1)
		if wm < 1 || wm > 2 || i+1+wm >= len(s) || s[i+1+wm] != next {
			return 0, false
		}
		j := i + 2 + wm
		d, wd := readNum(s, j)
		if wd < 1 || wd > 2 {
			return 0, false
		}
		st.c.year, st.c.month, st.c.day = v1, m, d
		st.year, st.date = true, true
		if st.describing {
			st.say("yyyy" + string(next) + "MM" + string(next) + "dd")
		}
		return st.dateTime(s, j+wd)
	case w1 == 8 && (next == ' ' || next == '-' || next == 'T' || next == '_'):
		// yyyyMMdd, then a compact or a colon time
		st.c.year, st.c.month, st.c.day = v1/10000, v1/100%100, v1%100
		st.year, st.date = true, true
		st.say("yyyyMMdd")
		return st.dateTime(s, i)
	case w1 == 6 && next == ' ':
		// yyMMdd HHmmss (Hadoop), yyMMdd H:mm:ss (MySQL 5)
		st.c.year, st.c.month, st.c.day = 2000+v1/10000, v1/100%100, v1%100
		st.year, st.date = true, true
		st.say("yyMMdd")
		return st.dateTime(s, i)
	case w1 <= 2 && next == ':':
		st.c.year = 0
		return st.timeOfDay(s, 0)
	case w1 <= 2 && (next == '-' || next == '/' || next == '.') && i+1 < len(s) && isAlpha(s[i+1]):
		// dd-MMM-yyyy (Tomcat, PHP), dd/MMM/yyyy:HH:mm:ss (access logs), d-MMM-yyyy::HH:mm:ss (Erlang)
		mo, ok := month(s, i+1)
		if !ok || i+4 >= len(s) || s[i+4] != next {
			return 0, false
		}
		y, wy := readNum(s, i+5)
		if wy != 4 {
			return 0, false
		}
		st.c.year, st.c.month, st.c.day = y, mo, v1
		st.year, st.date = true, true
		if st.describing {
			st.say("dd" + string(next) + "MMM" + string(next) + "yyyy")
		}
		return st.dateTime(s, i+5+wy)
	case w1 <= 2 && (next == '-' || next == '/' || next == '.'):
		return st.numericDate(s, v1, w1, next)
	case w1 <= 2 && next == ' ' && i+4 < len(s) && isAlpha(s[i+1]):
		// dd MMM yyyy HH:mm:ss
		mo, ok := month(s, i+1)
		if !ok || s[i+4] != ' ' {
			return 0, false
		}
		y, wy := readNum(s, i+5)
		if wy != 4 {
			return 0, false
		}
		st.c.year, st.c.month, st.c.day = y, mo, v1
		st.year, st.date = true, true
		st.say("dd MMM yyyy")
		return st.dateTime(s, i+5+wy)
	}
	return 0, false
}

// numericDate reads a date of one- or two-digit parts (the first is read):
// a.b.c with a two- or four-digit last part, or a.b with no year. A time
// must follow: alone such numbers are versions and fractions.
func (st *stamp) numericDate(s string, a, wa int, sep byte) (int, bool) {
	i := wa + 1
	b, wb := readNum(s, i)
	if wb < 1 || wb > 2 {
		return 0, false
	}
	i += wb
	st.parts[0], st.parts[1] = a, b
	if i < len(s) && s[i] == sep {
		c, wc := readNum(s, i+1)
		switch {
		case wc == 4:
			st.orders = orderDMY | orderMDY
			if st.describing {
				st.say("#" + string(sep) + "#" + string(sep) + "#")
			}
		case wc == 2 && wa == 2 && wb == 2:
			st.orders = orderYMD | orderDMY | orderMDY
			st.yy = true
			if st.describing {
				st.say("#" + string(sep) + "#" + string(sep) + "#")
			}
		case wc >= 1 && wc <= 2 && (wa == 1 || wb == 1):
			// M/d/yy (WebSphere)
			st.orders = orderDMY | orderMDY
			st.yy = true
			if st.describing {
				st.say("#" + string(sep) + "#" + string(sep) + "#")
			}
		default:
			return 0, false
		}
		st.parts[2] = c
		st.year = true
		i += 1 + wc
	} else {
		st.orders = orderMD | orderDM
		if st.describing {
			st.say("#" + string(sep) + "#")
		}
	}
	st.date = true
	if i >= len(s) || s[i] != ' ' {
		return 0, false
	}
	return st.dateTime(s, i)
}

// validOrders are the orders in which the parts make a date.
func (st *stamp) validOrders() dateOrder {
	var out dateOrder
	for o := orderYMD; o <= orderDM; o <<= 1 {
		if st.orders&o != 0 {
			if c, ok := st.dateIn(o); ok && c.valid() {
				out |= o
			}
		}
	}
	return out
}

// dateIn is the stamp's clock with its numeric date read in order o.
func (st *stamp) dateIn(o dateOrder) (clock, bool) {
	c := st.c
	p := st.parts
	switch o {
	case orderYMD:
		c.year, c.month, c.day = p[0], p[1], p[2]
	case orderDMY:
		c.day, c.month, c.year = p[0], p[1], p[2]
	case orderMDY:
		c.month, c.day, c.year = p[0], p[1], p[2]
	case orderMD:
		c.month, c.day, c.year = p[0], p[1], 0
	case orderDM:
		c.day, c.month, c.year = p[0], p[1], 0
	default:
		return c, false
	}
	if st.yy && st.year {
		c.year += 2000
	}
	return c, true
}

// dateTime reads what may follow a date: 'T', '-', ':' or blanks, then a
// time of day.
func (st *stamp) dateTime(s string, i int) (int, bool) {
	if i >= len(s) {
		return 0, false
	}
	switch s[i] {
	case 'T', '-', '_':
		st.say(s[i : i+1])
		if s[i] == '-' && i+3 < len(s) && s[i+3] == '.' {
			st.dbDash = true
		}
		i++
	case ':':
		st.say(":")
		i++
		if i < len(s) && s[i] == ':' {
			st.say(":")
			i++
		}
	case ' ':
		st.say(" ")
		for i < len(s) && s[i] == ' ' && i < 64 {
			i++
		}
	default:
		return 0, false
	}
	return st.timeOfDay(s, i)
}

// timeOfDay reads H:mm:ss with an optional fraction (".SSS", ",SSS",
// ":SSS"), compact HHmmss, or H:mm[:ss] AM/PM, then a zone and (after a
// month-name date without one) a year.
func (st *stamp) timeOfDay(s string, i int) (int, bool) {
	h, wh := readNum(s, i)
	if wh == 6 {
		st.c.hour, st.c.min, st.c.sec = h/10000, h/100%100, h%100
		st.say("HHmmss")
		i += 6
		return st.zone(s, i)
	}
	sep := byte(':')
	if st.dbDash {
		sep = '.' // DB2: yyyy-MM-dd-HH.mm.ss.ffffff
	}
	if wh < 1 || wh > 2 || i+wh >= len(s) || s[i+wh] != sep {
		return 0, false
	}
	i += wh + 1
	m, wm := readNum(s, i)
	if wm != 2 {
		return 0, false
	}
	i += 2
	st.c.hour, st.c.min = h, m
	if st.dbDash {
		st.say("HH.mm")
	} else {
		st.say("HH:mm")
	}
	if i+2 < len(s) && s[i] == sep && isDigit(s[i+1]) && isDigit(s[i+2]) {
		st.c.sec = int(s[i+1]-'0')*10 + int(s[i+2]-'0')
		if st.describing {
			st.say(s[i:i+1] + "ss")
		}
		i += 3
		if i+1 < len(s) && (s[i] == '.' || s[i] == ',' || s[i] == ':') && isDigit(s[i+1]) {
			_, wf := readNum(s, i+1)
			if s[i] == ':' && wf != 3 {
				return 0, false
			}
			st.c.nsec, _ = fraction(string('.')+s[i+1:i+1+wf], 0)
			if st.describing {
				st.say(string(s[i]) + "SSS")
			}
			i += 1 + wf
		}
	} else if !ampmAt(s, i) {
		return 0, false
	}
	if j, ok := st.ampm(s, i); ok {
		i = j
	}
	return st.zone(s, i)
}

// ampmAt reports an AM or PM at s[i:], glued or after one space.
func ampmAt(s string, i int) bool {
	if i < len(s) && s[i] == ' ' {
		i++
	}
	return i+1 < len(s) && (s[i] == 'A' || s[i] == 'P' || s[i] == 'a' || s[i] == 'p') && (s[i+1] == 'M' || s[i+1] == 'm') && (i+2 == len(s) || !isAlpha(s[i+2]))
}

func (st *stamp) ampm(s string, i int) (int, bool) {
	if !ampmAt(s, i) {
		return i, false
	}
	if s[i] == ' ' {
		i++
	}
	pm := s[i] == 'P' || s[i] == 'p'
	if st.c.hour < 1 || st.c.hour > 12 {
		st.c.hour = 99 // invalid: 13 PM
		return i + 2, true
	}
	if st.c.hour == 12 {
		st.c.hour = 0
	}
	if pm {
		st.c.hour += 12
	}
	st.say(" a")
	return i + 2, true
}

// zone reads a zone glued to the time or after one blank, then a year
// when the date had none (ctime: "Thu Dec  3 07:14:05 2026").
func (st *stamp) zone(s string, i int) (int, bool) {
	if off, end, ok := zoneOffset(s, i); ok && (end == len(s) || !isAlpha(s[end])) {
		st.zoned, st.off = true, off
		st.say("Z")
		i = end
	} else if i+1 < len(s) && s[i] == ' ' {
		if off, end, ok := zoneOffset(s, i+1); ok && s[i+1] != 'Z' && s[i+1] != 'z' && end-i-1 >= 5 && boundary(s, end) {
			st.zoned, st.off = true, off
			st.say(" Z")
			i = end
		} else if off, n, ok := zoneName(s, i+1); ok {
			st.zoned, st.off = true, off
			st.say(" z")
			i += 1 + n
		}
	}
	if st.date && !st.year && i+5 <= len(s) && s[i] == ' ' {
		if y, w := readNum(s, i+1); w == 4 && y >= 1970 && y < 2100 {
			st.c.year, st.year = y, true
			st.say(" yyyy")
			i += 5
		}
	}
	return i, true
}

// zoneName reads a zone abbreviation whose offset is unambiguous.
func zoneName(s string, i int) (off, n int, ok bool) {
	j := i
	for j < len(s) && j-i < 5 && s[j] >= 'A' && s[j] <= 'Z' {
		j++
	}
	if j-i < 3 || (j < len(s) && isAlpha(s[j])) {
		return 0, 0, false
	}
	switch s[i:j] {
	case "UTC", "GMT", "UT":
		return 0, j - i, true
	case "CET":
		return 3600, j - i, true
	case "CEST", "EET":
		return 7200, j - i, true
	case "EST":
		return -5 * 3600, j - i, true
	case "EDT":
		return -4 * 3600, j - i, true
	case "CST":
		return -6 * 3600, j - i, true
	case "CDT":
		return -5 * 3600, j - i, true
	case "MST":
		return -7 * 3600, j - i, true
	case "MDT":
		return -6 * 3600, j - i, true
	case "PST":
		return -8 * 3600, j - i, true
	case "PDT":
		return -7 * 3600, j - i, true
	case "JST":
		return 9 * 3600, j - i, true
	}
	return 0, 0, false
}

// wordStart reads stamps that open with a weekday or a month name:
// "Dec  3 07:14:05", "Thu Dec 03 07:14:05 2026", "Dec 03, 2026 7:14:05 AM",
// "Dec 3 2026 07:14:05".
func (st *stamp) wordStart(s string) (int, bool) {
	i := 0
	if weekday(s) {
		i = 3
		if i < len(s) && s[i] == ',' {
			i++
		}
		if i >= len(s) || s[i] != ' ' {
			return 0, false
		}
		i++
		st.say("EEE ")
		if i < len(s) && isDigit(s[i]) {
			// "Thu, 03 Dec 2026 07:14:05 +0000" (RFC 1123)
			d, wd := readNum(s, i)
			if wd > 2 || i+wd >= len(s) || s[i+wd] != ' ' {
				return 0, false
			}
			mo, ok := month(s, i+wd+1)
			j := i + wd + 4
			if !ok || j >= len(s) || s[j] != ' ' {
				return 0, false
			}
			y, wy := readNum(s, j+1)
			if wy != 4 {
				return 0, false
			}
			st.c.year, st.c.month, st.c.day = y, mo, d
			st.year, st.date = true, true
			st.say("dd MMM yyyy")
			return st.dateTime(s, j+1+wy)
		}
	}
	mo, ok := month(s, i)
	if !ok || i+4 >= len(s) || s[i+3] != ' ' {
		return 0, false
	}
	i += 4
	if s[i] == ' ' {
		i++
	}
	d, wd := readNum(s, i)
	if wd < 1 || wd > 2 {
		return 0, false
	}
	i += wd
	st.c.month, st.c.day = mo, d
	st.date = true
	st.say("MMM dd")
	if i+6 < len(s) && s[i] == ',' && s[i+1] == ' ' {
		y, wy := readNum(s, i+2)
		if wy != 4 {
			return 0, false
		}
		st.c.year, st.year = y, true
		st.say(", yyyy")
		i += 2 + wy
	} else if i+5 < len(s) && s[i] == ' ' {
		if y, wy := readNum(s, i+1); wy == 4 && i+5 < len(s) && s[i+5] == ' ' {
			st.c.year, st.year = y, true
			st.say(" yyyy")
			i += 5
		}
	}
	return st.dateTime(s, i)
}

func weekday(s string) bool {
	if len(s) < 4 {
		return false
	}
	switch s[:3] {
	case "Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun":
		return true
	}
	return false
}

// epochAt reads a Unix epoch in seconds (with an optional fraction),
// milliseconds, microseconds or nanoseconds, between 2000 and 2100.
func (st *stamp) epochAt(s string, v, w int) (int, bool) {
	i := w
	var t time.Time
	switch w {
	case 10:
		ns := 0
		if i+1 < len(s) && s[i] == '.' && isDigit(s[i+1]) {
			var end int
			ns, end = fraction(s, i)
			i = end
		}
		t = time.Unix(int64(v), int64(ns)).UTC()
		st.say("epoch")
	case 13:
		t = time.UnixMilli(int64(v)).UTC()
		st.say("epoch_ms")
	case 16:
		t = time.UnixMicro(int64(v)).UTC()
		st.say("epoch_us")
	case 19:
		t = time.Unix(0, int64(v)).UTC()
		st.say("epoch_ns")
	default:
		return 0, false
	}
	if t.Year() < 2000 || t.Year() >= 2100 {
		return 0, false
	}
	st.epoch, st.year, st.date, st.zoned = t, true, true, true
	return i, true
}

// instant makes the stamp a time, reading a numeric date in order o.
func (st *stamp) instant(o dateOrder, loc *time.Location, now time.Time) (time.Time, bool) {
	if !st.epoch.IsZero() {
		return st.epoch, true
	}
	c := st.c
	if st.orders != 0 {
		var ok bool
		if c, ok = st.dateIn(o); !ok || !c.valid() {
			return time.Time{}, false
		}
	}
	switch {
	case !st.date:
		if st.zoned {
			loc = time.FixedZone("", st.off)
		}
		return nearestDay(c, loc, now).UTC(), true
	case !st.year:
		if st.zoned {
			loc = time.FixedZone("", st.off)
		}
		return c.inferYear(loc, now), true
	case c.year < 1970:
		return time.Time{}, false
	case st.zoned:
		return c.at(st.off), true
	}
	return c.in(loc), true
}

// chooseOrder picks, among the orders allowed (by the stream so far) and
// valid for this stamp, the one that dates it nearest to now without
// putting it more than a day ahead: logs are read soon after they are
// written.
func (st *stamp) chooseOrder(allowed dateOrder, loc *time.Location, now time.Time) dateOrder {
	best, bestD := dateOrder(0), time.Duration(1<<62)
	for o := orderYMD; o <= orderDM; o <<= 1 {
		if allowed&o == 0 {
			continue
		}
		t, ok := st.instant(o, loc, now)
		if !ok {
			continue
		}
		if o == orderDM && allowed&orderMD != 0 && best == orderMD {
			// Month-day without a year is month first (logcat, MM.dd)
			// unless the values rule it out.
			continue
		}
		d := now.Sub(t)
		if d < 0 {
			d = -d
			if d > 24*time.Hour {
				d += 100 * 365 * 24 * time.Hour
			}
		}
		if d < bestD {
			best, bestD = o, d
		}
	}
	return best
}
