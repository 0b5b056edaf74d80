package parsers

import (
	"fmt"
	"regexp"
	"time"

	"github.com/obsadapter/obsadapter/record"
)

// Format "regex": a user's RE2 pattern with named groups. time, level and
// message fill the record; every other named group becomes a string field.
type regexParser struct {
	re                  *regexp.Regexp
	layout              string
	timeG, levelG, msgG int
	names               []string
}

func newRegexParser(pattern, layout string) (*regexParser, error) {
	re, err := regexp.Compile(pattern)
	if err != nil {
		return nil, fmt.Errorf("regex: %w", err)
	}
	return &regexParser{re: re, layout: layout, names: re.SubexpNames(),
		timeG: re.SubexpIndex("time"), levelG: re.SubexpIndex("level"), msgG: re.SubexpIndex("message")}, nil
}

func (rp *regexParser) parse(p *parser, line string, r *record.Record) bool {
	m := rp.re.FindStringSubmatchIndex(line)
	if m == nil {
		return false
	}
	group := func(g int) (string, bool) {
		if g < 0 || m[2*g] < 0 {
			return "", false
		}
		return line[m[2*g]:m[2*g+1]], true
	}
	if v, ok := group(rp.msgG); ok {
		r.Message = v
	} else {
		r.Message = trimSpace(line)
	}
	if v, ok := group(rp.levelG); ok {
		r.Severity, _ = levelString(trimSpace(v))
	}
	if v, ok := group(rp.timeG); ok {
		if rp.layout != "" {
			if t, err := time.ParseInLocation(rp.layout, v, p.loc); err == nil {
				r.Time = t
			}
		} else if t, ok := looseTime(v, p.loc, p.now); ok {
			r.Time = t
		}
	}
	mark := len(p.fields)
	for g, name := range rp.names {
		if g == 0 || name == "" || g == rp.timeG || g == rp.levelG || g == rp.msgG {
			continue
		}
		if v, ok := group(g); ok {
			p.fields = append(p.fields, p.strField(name, v))
		}
	}
	r.Fields = p.takeFields(mark)
	return true
}
