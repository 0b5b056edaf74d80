package processors

import (
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/obsadapter/obsadapter/record"
)

const (
	defaultThrottleKey  = "{source}"
	defaultMaxKeys      = 1000
	maxMaxKeys          = 100000
	defaultWindow       = time.Second
	overflowThrottleKey = "(other keys)"
)

type throttle struct {
	name      string
	limit     int
	window    time.Duration
	key       []keyPart
	maxKeys   int
	summarize bool
	now       func() time.Time

	keys  map[string]*bucket
	other bucket // the keys beyond maxKeys share it
	buf   []byte // the key being built
	due   []record.Record
}

// keyPart is literal text, or a record attribute or field to insert.
type keyPart struct {
	lit  string
	attr string // source, path, format, level, stream; "" for a field
	path string // the field, when attr is ""
}

// bucket counts one key's records in its current window.
type bucket struct {
	key     string
	start   time.Time
	n       int
	dropped uint64
	source  string // of the last record dropped, for the summary
	kube    *record.Kubernetes
}

func newThrottle(name string, c *ThrottleConfig, env Env, p problems) processor {
	t := &throttle{name: name, limit: c.Limit, window: c.Window, maxKeys: c.MaxKeys, now: env.Now,
		keys: map[string]*bucket{}, other: bucket{key: overflowThrottleKey}}
	if c.Limit < 1 {
		p.add("limit", "at most limit records per window: limit must be at least 1, got %d", c.Limit)
	}
	switch {
	case c.Window == 0:
		t.window = defaultWindow
	case c.Window < time.Millisecond:
		p.add("window", "the window is %v, at least 1ms", c.Window)
	}
	switch {
	case c.MaxKeys == 0:
		t.maxKeys = defaultMaxKeys
	case c.MaxKeys < 1 || c.MaxKeys > maxMaxKeys:
		p.add("max_keys", "max_keys must be between 1 and %d, got %d", maxMaxKeys, c.MaxKeys)
	}
	switch c.Excess {
	case "", "summarize":
		t.summarize = true
	case "drop":
	default:
		p.add("excess", "%q: use summarize or drop", c.Excess)
	}
	key := c.Key
	if key == "" {
		key = defaultThrottleKey
	}
	t.key = parseKeyTemplate(key, p.at("key"))
	if env.Now == nil {
		p.add("", "the throttle needs a clock, and none was given")
	}
	return t
}

// parseKeyTemplate splits "{source}/{user.id}" into its parts.
func parseKeyTemplate(s string, p problems) []keyPart {
	var parts []keyPart
	for s != "" {
		i := strings.IndexByte(s, '{')
		if i < 0 {
			parts = append(parts, keyPart{lit: s})
			break
		}
		if i > 0 {
			parts = append(parts, keyPart{lit: s[:i]})
		}
		j := strings.IndexByte(s[i:], '}')
		if j < 0 {
			p.add("", "a '{' is not closed")
			return parts
		}
		name := s[i+1 : i+j]
		switch name {
		case "":
			p.add("", "empty {} in the key")
		case "source", "path", "format", "level", "stream":
			parts = append(parts, keyPart{attr: name})
		default:
			parts = append(parts, keyPart{path: name})
		}
		s = s[i+j+1:]
	}
	return parts
}

// appendKey builds r's key into dst; a missing field is empty.
func (t *throttle) appendKey(dst []byte, r *record.Record) []byte {
	for _, k := range t.key {
		switch k.attr {
		case "source":
			dst = append(dst, r.Source...)
		case "path":
			dst = append(dst, r.Path...)
		case "format":
			dst = append(dst, r.Format...)
		case "level":
			dst = append(dst, r.Level().String()...)
		case "stream":
			dst = append(dst, r.Stream...)
		default:
			if k.path == "" {
				dst = append(dst, k.lit...)
			} else if v, ok := r.Lookup(k.path); ok {
				if v.Kind() == record.KindString {
					dst = append(dst, v.Str()...)
				} else {
					dst = v.AppendJSON(dst)
				}
			}
		}
	}
	return dst
}

// maxKeyBytes bounds a key: a huge field value would otherwise be kept as
// a map key for the window.
const maxKeyBytes = 256

func (t *throttle) apply(r *record.Record, _ *uint64) result {
	now := t.now()
	t.buf = t.appendKey(t.buf[:0], r)
	if len(t.buf) > maxKeyBytes {
		cut := maxKeyBytes
		for cut > 0 && t.buf[cut]&0xC0 == 0x80 {
			cut-- // not inside a UTF-8 sequence
		}
		t.buf = t.buf[:cut]
	}
	b := t.keys[string(t.buf)]
	if b == nil {
		if len(t.keys) < t.maxKeys {
			b = &bucket{key: string(t.buf)}
			t.keys[b.key] = b
		} else {
			b = &t.other
		}
	}
	if b.start.IsZero() || now.Sub(b.start) >= t.window {
		t.report(b, now)
		b.start, b.n = now, 0
	}
	b.n++
	if b.n <= t.limit {
		return resKept
	}
	b.dropped++
	b.source, b.kube = r.Source, r.Kubernetes
	return resDropped
}

// report queues a summary of b's drops, if any and if asked to.
func (t *throttle) report(b *bucket, now time.Time) {
	if b.dropped == 0 {
		return
	}
	if t.summarize {
		t.due = append(t.due, t.summary(b, now))
	}
	b.dropped = 0
}

func (t *throttle) summary(b *bucket, now time.Time) record.Record {
	n := strconv.FormatUint(b.dropped, 10)
	return record.Record{
		Time:         now,
		ObservedTime: now,
		Severity:     record.SeverityWarn,
		Message:      n + " records dropped by throttle for key " + b.key,
		Format:       "obsadapter",
		Source:       b.source,
		Kubernetes:   b.kube,
		Fields: []record.Field{
			{Key: "processor", Value: record.StringValue(t.name)},
			{Key: "throttle_key", Value: record.StringValue(b.key)},
			{Key: "dropped", Value: record.IntValue(int64(b.dropped))},
			{Key: "limit", Value: record.IntValue(int64(t.limit))},
			{Key: "window_seconds", Value: record.FloatValue(t.window.Seconds())},
		},
	}
}

// summaries appends the queued summaries; at a flush, also those of every
// key that dropped records so far, and forgets the keys whose window ended
// so the map holds only active keys.
func (t *throttle) summaries(out []record.Record, flush bool) []record.Record {
	if flush {
		now := t.now()
		var dropped []*bucket
		for k, b := range t.keys {
			if b.dropped > 0 {
				dropped = append(dropped, b)
			}
			if now.Sub(b.start) >= t.window {
				delete(t.keys, k)
			}
		}
		// In key order, so that what a flush reports does not depend on
		// the map's.
		slices.SortFunc(dropped, func(a, b *bucket) int { return strings.Compare(a.key, b.key) })
		for _, b := range dropped {
			t.report(b, now)
		}
		t.report(&t.other, now)
	}
	out = append(out, t.due...)
	clear(t.due)
	t.due = t.due[:0]
	return out
}
