package parsers

import (
	"math"
	"time"
)

// Hand-written time parsers for the layouts log formats use: time.Parse is
// several times slower and allocates on error, and detection tries times on
// every line.

// clock is the date and time of day found in a line before a zone applies.
type clock struct {
	year, month, day, hour, min, sec, nsec int
}

func (c clock) valid() bool {
	return c.month >= 1 && c.month <= 12 && c.day >= 1 && c.day <= 31 && c.timeValid()
}

// dated is valid with a plausible year: log times before the Unix epoch
// are noise, and year 1 would be the zero time, which means "no time".
func (c clock) dated() bool { return c.year >= 1970 && c.valid() }

func (c clock) timeValid() bool { return c.hour <= 24 && c.min <= 59 && c.sec <= 60 }

// in is the instant of c in loc.
func (c clock) in(loc *time.Location) time.Time {
	if loc == time.UTC {
		return c.at(0)
	}
	return time.Date(c.year, time.Month(c.month), c.day, c.hour, c.min, c.sec, c.nsec, loc)
}

// at is the instant of c at a fixed UTC offset in seconds, computed
// directly (time.Date normalizes every field and costs several times more).
func (c clock) at(offset int) time.Time {
	if c.day > daysIn(c.year, c.month) {
		// Out-of-range days normalize as time.Date does.
		return time.Date(c.year, time.Month(c.month), c.day, c.hour, c.min, c.sec, c.nsec, time.UTC).Add(-time.Duration(offset) * time.Second)
	}
	secs := daysFromCivil(c.year, c.month, c.day)*86400 + int64(c.hour*3600+c.min*60+c.sec-offset)
	return time.Unix(secs, int64(c.nsec)).UTC()
}

// daysFromCivil is the number of days from 1970-01-01 to the given
// proleptic Gregorian date, counting in 400-year eras of 146097 days from
// a year that starts in March (so the leap day ends the year).
func daysFromCivil(y, m, d int) int64 {
	if m <= 2 {
		y--
	}
	era := y / 400
	if y < 0 && y%400 != 0 {
		era--
	}
	yoe := y - era*400
	mp := (m + 9) % 12 // March is 0
	doy := (153*mp+2)/5 + d - 1
	doe := yoe*365 + yoe/4 - yoe/100 + doy
	return int64(era)*146097 + int64(doe) - 719468
}

func daysIn(y, m int) int {
	switch m {
	case 2:
		if y%4 == 0 && (y%100 != 0 || y%400 == 0) {
			return 29
		}
		return 28
	case 4, 6, 9, 11:
		return 30
	}
	return 31
}

// inferYear gives a year-less time the latest year that does not put it
// more than a day after the reading clock: logs do not come from the future.
// That is the clock's year, or the year before (a line from 10 December
// read on 3 December, or from late December read in January); only a line
// stamped just after New Year and read in the day before it takes the
// next year. The day of slack absorbs clock skew between writer and reader.
func (c clock) inferYear(loc *time.Location, now time.Time) time.Time {
	ny, nm, _ := now.In(loc).Date()
	c.year = ny
	t := c.in(loc)
	if t.Unix()-now.Unix() > futureSlack {
		c.year--
		return c.in(loc)
	}
	if c.month == 1 && nm == time.December {
		c.year++
		if next := c.in(loc); next.Unix()-now.Unix() <= futureSlack {
			return next
		}
	}
	return t
}

// futureSlack is how far after the reading clock, in seconds, a year-less
// time may fall before it is taken to be from the year before.
const futureSlack = 24 * 3600

func abs(n int64) int64 {
	if n < 0 {
		return -n
	}
	return n
}

// num reads exactly n digits at s[i:].
func num(s string, i, n int) (int, bool) {
	if i+n > len(s) {
		return 0, false
	}
	v := 0
	for j := i; j < i+n; j++ {
		c := s[j]
		if c < '0' || c > '9' {
			return 0, false
		}
		v = v*10 + int(c-'0')
	}
	return v, true
}

// num2 is num for two digits, the width of most time fields, without a
// loop: time parsing runs on almost every line.
func num2(s string, i int) (int, bool) {
	if i < 0 || i+2 > len(s) {
		return 0, false
	}
	a, b := s[i]-'0', s[i+1]-'0'
	if a > 9 || b > 9 {
		return 0, false
	}
	return int(a)*10 + int(b), true
}

// fraction reads "[.,]digits" at s[i:], returning nanoseconds and the index
// after it; no fraction is zero.
func fraction(s string, i int) (nsec, end int) {
	if i+1 >= len(s) || (s[i] != '.' && s[i] != ',') || !isDigit(s[i+1]) {
		return 0, i
	}
	i++
	n := 0
	for ; i < len(s) && isDigit(s[i]); i++ {
		if n < 9 {
			nsec = nsec*10 + int(s[i]-'0')
			n++
		}
	}
	return nsec * pow10[9-n], i
}

var pow10 = [...]int{1, 10, 100, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9}

// hms reads "hh:mm:ss[.frac]" at s[i:].
func hms(s string, i int, c *clock) (int, bool) {
	var ok1, ok2, ok3 bool
	c.hour, ok1 = num2(s, i)
	c.min, ok2 = num2(s, i+3)
	c.sec, ok3 = num2(s, i+6)
	if !ok1 || !ok2 || !ok3 || s[i+2] != ':' || s[i+5] != ':' {
		return 0, false
	}
	c.nsec, i = fraction(s, i+8)
	return i, true
}

// zoneOffset reads "Z", "±hh:mm", "±hhmm" or "±hh" at s[i:].
func zoneOffset(s string, i int) (offset, end int, ok bool) {
	if i >= len(s) {
		return 0, i, false
	}
	switch s[i] {
	case 'Z', 'z':
		return 0, i + 1, true
	case '+', '-':
	default:
		return 0, i, false
	}
	sign := 1
	if s[i] == '-' {
		sign = -1
	}
	h, ok := num2(s, i+1)
	if !ok || h > 14 {
		return 0, i, false
	}
	j := i + 3
	m := 0
	if j < len(s) && s[j] == ':' {
		if m, ok = num2(s, j+1); !ok {
			return 0, i, false
		}
		j += 3
	} else if mm, ok := num2(s, j); ok {
		m = mm
		j += 2
	}
	return sign * (h*3600 + m*60), j, true
}

// isoTime parses an ISO 8601 / RFC 3339 timestamp at the start of s:
// "YYYY-MM-DD[T ]hh:mm:ss[.,frac][zone]", also with "/" between the date's
// parts. A missing zone means loc. It returns the length consumed.
func isoTime(s string, loc *time.Location) (time.Time, int, bool) {
	var c clock
	if len(s) < 19 || !isoDate(s, &c) {
		return time.Time{}, 0, false
	}
	i, ok := hms(s, 11, &c)
	if !ok || !c.dated() {
		return time.Time{}, 0, false
	}
	if off, end, ok := zoneOffset(s, i); ok {
		return c.at(off), end, true
	}
	return c.in(loc), i, true
}

// minuteCache remembers the date, hour and minute of the last ISO time a
// stream parsed: consecutive lines share them, and reading and converting
// them was half of a time's cost.
type minuteCache struct {
	prefix [17]byte // "2006-01-02T15:04" or "02/Jan/2006:15:04", as the line spelled it
	ok     bool
	zoned  int64 // the minute's first second read as UTC, for times with an offset
	local  int64 // the minute's first second in the stream's zone, for times without
}

// isoTime is isoTime(s, p.loc) with the minute taken from the cache when
// the line repeats it.
func (p *parser) isoTime(s string) (time.Time, int, bool) { return p.minute.isoTime(s, p.loc) }

// isoTime is isoTime(s, loc) with the minute taken from the cache when the
// line repeats it; anything unusual goes the general way. loc must be the
// same on every call.
func (m *minuteCache) isoTime(s string, loc *time.Location) (time.Time, int, bool) {
	if len(s) < 19 || s[16] != ':' {
		return isoTime(s, loc)
	}
	if !m.ok || string(m.prefix[:16]) != s[:16] {
		var c clock
		if !isoMinute(s, &c) {
			return isoTime(s, loc)
		}
		copy(m.prefix[:], s[:16])
		m.ok = true
		m.zoned = daysFromCivil(c.year, c.month, c.day)*86400 + int64(c.hour*3600+c.min*60)
		m.local = c.in(loc).Unix()
	}
	sec, ok := num2(s, 17)
	if !ok || sec > 60 {
		return isoTime(s, loc)
	}
	nsec, i := fraction(s, 19)
	if off, end, ok := zoneOffset(s, i); ok {
		return time.Unix(m.zoned+int64(sec-off), int64(nsec)).UTC(), end, true
	}
	if loc == time.UTC {
		return time.Unix(m.local+int64(sec), int64(nsec)).UTC(), i, true
	}
	return time.Unix(m.local+int64(sec), int64(nsec)).In(loc), i, true
}

// clfTime is clfTime(s) with the minute ("02/Jan/2006:15:04") cached.
func (p *parser) clfTime(s string) (time.Time, bool) {
	if len(s) != 26 || s[17] != ':' || s[20] != ' ' {
		return clfTime(s)
	}
	m := &p.clfMinute
	if !m.ok || string(m.prefix[:17]) != s[:17] {
		t, ok := clfTime(s[:17] + ":00 +0000")
		if !ok || t.Day() != int(s[0]-'0')*10+int(s[1]-'0') {
			return clfTime(s) // days past the month's end normalize there
		}
		copy(m.prefix[:], s[:17])
		m.ok, m.zoned = true, t.Unix()
	}
	sec, ok := num2(s, 18)
	if !ok || sec > 60 {
		return clfTime(s)
	}
	off, end, ok := zoneOffset(s, 21)
	if !ok || end != len(s) {
		return time.Time{}, false
	}
	return time.Unix(m.zoned+int64(sec-off), 0).UTC(), true
}

// isoMinute reads the "YYYY-MM-DD[T ]hh:mm" that starts s (len(s) >= 19)
// with isoTime's rules, refusing days past the month's end (isoTime
// normalizes those).
func isoMinute(s string, c *clock) bool {
	var ok1, ok2 bool
	c.hour, ok1 = num2(s, 11)
	c.min, ok2 = num2(s, 14)
	return isoDate(s, c) && ok1 && ok2 && s[13] == ':' && c.dated() && c.day <= daysIn(c.year, c.month)
}

// isoDate reads "YYYY-MM-DD" (or with '/') and the 'T' or space after it
// at the start of s (len(s) >= 11).
func isoDate(s string, c *clock) bool {
	var ok1, ok2, ok3 bool
	c.year, ok1 = num(s, 0, 4)
	c.month, ok2 = num2(s, 5)
	c.day, ok3 = num2(s, 8)
	sep := s[4]
	return ok1 && ok2 && ok3 && (sep == '-' || sep == '/') && s[7] == sep && (s[10] == 'T' || s[10] == ' ')
}

// month parses a three-letter English month abbreviation at s[i:]. The
// three bytes are packed into one integer and switched on: comparing the
// text against twelve names was a visible part of access-log and syslog
// parsing.
func month(s string, i int) (int, bool) {
	if i+3 > len(s) {
		return 0, false
	}
	switch uint32(s[i])<<16 | uint32(s[i+1])<<8 | uint32(s[i+2]) {
	case 'J'<<16 | 'a'<<8 | 'n':
		return 1, true
	case 'F'<<16 | 'e'<<8 | 'b':
		return 2, true
	case 'M'<<16 | 'a'<<8 | 'r':
		return 3, true
	case 'A'<<16 | 'p'<<8 | 'r':
		return 4, true
	case 'M'<<16 | 'a'<<8 | 'y':
		return 5, true
	case 'J'<<16 | 'u'<<8 | 'n':
		return 6, true
	case 'J'<<16 | 'u'<<8 | 'l':
		return 7, true
	case 'A'<<16 | 'u'<<8 | 'g':
		return 8, true
	case 'S'<<16 | 'e'<<8 | 'p':
		return 9, true
	case 'O'<<16 | 'c'<<8 | 't':
		return 10, true
	case 'N'<<16 | 'o'<<8 | 'v':
		return 11, true
	case 'D'<<16 | 'e'<<8 | 'c':
		return 12, true
	}
	return 0, false
}

// stampTime parses the year-less syslog stamp "Jan _2 15:04:05[.frac]".
func stampTime(s string, loc *time.Location, now time.Time) (time.Time, int, bool) {
	var c clock
	var ok bool
	if len(s) < 15 || s[3] != ' ' {
		return time.Time{}, 0, false
	}
	if c.month, ok = month(s, 0); !ok {
		return time.Time{}, 0, false
	}
	if s[4] == ' ' {
		c.day, ok = num(s, 5, 1)
	} else {
		c.day, ok = num2(s, 4)
	}
	if !ok || s[6] != ' ' {
		return time.Time{}, 0, false
	}
	i, ok := hms(s, 7, &c)
	if !ok || !c.valid() {
		return time.Time{}, 0, false
	}
	return c.inferYear(loc, now), i, true
}

// clfTime parses the access-log time "02/Jan/2006:15:04:05 -0700".
func clfTime(s string) (time.Time, bool) {
	var c clock
	var ok1, ok2, ok3 bool
	if len(s) < 26 || s[2] != '/' || s[6] != '/' || s[11] != ':' || s[20] != ' ' {
		return time.Time{}, false
	}
	c.day, ok1 = num2(s, 0)
	c.month, ok2 = month(s, 3)
	c.year, ok3 = num(s, 7, 4)
	if !ok1 || !ok2 || !ok3 {
		return time.Time{}, false
	}
	i, ok := hms(s, 12, &c)
	if !ok || i != 20 || !c.dated() {
		return time.Time{}, false
	}
	off, end, ok := zoneOffset(s, 21)
	if !ok || end != len(s) {
		return time.Time{}, false
	}
	return c.at(off), true
}

// epochTime interprets a Unix timestamp by its magnitude: seconds, then
// milliseconds, microseconds or nanoseconds, the units loggers use. Values
// below 1e9 (September 2001) are rejected: small numbers under a "t" key are
// rarely times.
func epochTime(f float64) (time.Time, bool) {
	switch {
	case math.IsNaN(f) || f < 1e9:
		return time.Time{}, false
	case f < 1e11:
		// A float64 holds about 16 digits: seconds keep microseconds.
		sec, frac := math.Modf(f)
		return time.Unix(int64(sec), int64(math.Round(frac*1e6))*1000).UTC(), true
	case f < 1e14:
		return time.UnixMicro(int64(f * 1e3)).UTC(), true
	case f < 1e17:
		return time.UnixMicro(int64(f)).UTC(), true
	case f < 1e20:
		return time.Unix(0, int64(f)).UTC(), true
	}
	return time.Time{}, false
}

// epochInt is epochTime for integers, exact to the nanosecond.
func epochInt(n int64) (time.Time, bool) {
	switch {
	case n < 1e9:
		return time.Time{}, false
	case n < 1e11:
		return time.Unix(n, 0).UTC(), true
	case n < 1e14:
		return time.UnixMilli(n).UTC(), true
	case n < 1e17:
		return time.UnixMicro(n).UTC(), true
	}
	return time.Unix(0, n).UTC(), true
}

// anyTime parses a time value found in structured logs: RFC 3339 and its
// relatives, a Unix epoch in any unit, or the access-log layout.
func anyTime(s string, loc *time.Location) (time.Time, bool) {
	if t, n, ok := isoTime(s, loc); ok && n == len(s) {
		return t, true
	}
	return notISOTime(s)
}

// anyTime is anyTime(s, p.loc) with ISO times read through the minute
// cache.
func (p *parser) anyTime(s string) (time.Time, bool) {
	if t, n, ok := p.isoTime(s); ok && n == len(s) {
		return t, true
	}
	return notISOTime(s)
}

// notISOTime is anyTime for what is not an ISO time.
func notISOTime(s string) (time.Time, bool) {
	if d := digits(s); d > 0 && d == len(s) {
		n, _ := atoi(s)
		return epochInt(int64(n))
	} else if d > 0 && d < len(s) && s[d] == '.' && digits(s[d+1:]) == len(s)-d-1 {
		sec, _ := atoi(s[:d])
		ns, _ := fraction(s, d)
		if d <= 10 {
			return time.Unix(int64(sec), int64(ns)).UTC(), true
		}
		return epochFloat(s)
	}
	if t, ok := clfTime(s); ok {
		return t, true
	}
	return time.Time{}, false
}

func epochFloat(s string) (time.Time, bool) {
	var f float64
	scale := 0.0
	for i := 0; i < len(s); i++ {
		if s[i] == '.' {
			scale = 1
			continue
		}
		f = f*10 + float64(s[i]-'0')
		if scale > 0 {
			scale *= 10
		}
	}
	if scale > 0 {
		f /= scale
	}
	return epochTime(f)
}

// looseTime parses a whole string in any layout the built-in formats know:
// ISO 8601 and its relatives, syslog stamps, access-log times, epochs.
func looseTime(s string, loc *time.Location, now time.Time) (time.Time, bool) {
	if t, ok := anyTime(s, loc); ok {
		return t, true
	}
	if t, n, ok := stampTime(s, loc, now); ok && n == len(s) {
		return t, true
	}
	return time.Time{}, false
}
