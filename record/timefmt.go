package record

import "time"

// appendTime appends t in UTC as time.RFC3339Nano spells it (fraction
// without trailing zeros, "Z"), by hand: records carry two times each, and
// time.AppendFormat's layout interpretation was most of AppendJSON's cost.
func appendTime(dst []byte, t time.Time) []byte {
	t = t.UTC()
	year, month, day := t.Date()
	hour, minute, sec := t.Clock()
	if year < 0 || year > 9999 {
		return t.AppendFormat(dst, time.RFC3339Nano) // the rare case keeps the library's spelling
	}
	dst = append(dst,
		byte('0'+year/1000), byte('0'+year/100%10), byte('0'+year/10%10), byte('0'+year%10), '-',
		byte('0'+int(month)/10), byte('0'+int(month)%10), '-',
		byte('0'+day/10), byte('0'+day%10), 'T',
		byte('0'+hour/10), byte('0'+hour%10), ':',
		byte('0'+minute/10), byte('0'+minute%10), ':',
		byte('0'+sec/10), byte('0'+sec%10))
	return append(AppendFraction(dst, t.Nanosecond()), 'Z')
}

// AppendFraction appends nanoseconds as RFC3339Nano's fraction: a dot and
// the digits without trailing zeros, nothing for zero.
func AppendFraction(dst []byte, ns int) []byte {
	if ns == 0 {
		return dst
	}
	var frac [10]byte
	frac[0] = '.'
	for i := 9; i >= 1; i-- {
		frac[i] = byte('0' + ns%10)
		ns /= 10
	}
	n := 10
	for frac[n-1] == '0' {
		n--
	}
	return append(dst, frac[:n]...)
}
