package processors

import "github.com/obsadapter/obsadapter/record"

// defaultKeepLevel: errors are never sampled away unless asked.
const defaultKeepLevel = "error"

type sample struct {
	rate uint64
	key  string
	keep record.Level // LevelNone: every level is sampled
	n    uint64
}

func newSample(c *SampleConfig, p problems) processor {
	s := &sample{rate: uint64(max(c.Rate, 1)), key: c.Key}
	if c.Rate < 1 {
		p.add("rate", "keep 1 record in rate: rate must be at least 1, got %d", c.Rate)
	}
	switch lvl := c.KeepLevel; lvl {
	case "off":
	case "":
		s.keep, _ = record.LevelFromString(defaultKeepLevel)
	default:
		l, ok := record.LevelFromString(lvl)
		if !ok {
			p.add("keep_level", "%q is not a level (trace, debug, info, warn, error, fatal, or off)", lvl)
		}
		s.keep = l
	}
	return s
}

// keyHash hashes a key's value: FNV-1a over its text, then a 64-bit
// finaliser so that "1 in rate" takes every bit into account. It is fixed
// (no seed) so every adapter, and every restart, keeps the same requests:
// a trace sampled in one pod is sampled in the others.
func keyHash(v record.Value) uint64 {
	var buf [64]byte
	var b []byte
	if v.Kind() == record.KindString {
		return mix(fnv(v.Str()))
	}
	b = v.AppendJSON(buf[:0])
	return mix(fnv(string(b)))
}

func fnv(s string) uint64 {
	h := uint64(14695981039346656037)
	for i := 0; i < len(s); i++ {
		h ^= uint64(s[i])
		h *= 1099511628211
	}
	return h
}

func mix(h uint64) uint64 {
	h ^= h >> 33
	h *= 0xff51afd7ed558ccd
	h ^= h >> 33
	h *= 0xc4ceb9fe1a85ec53
	h ^= h >> 33
	return h
}

func (s *sample) apply(r *record.Record, _ *uint64) result {
	if s.keep != record.LevelNone && r.Severity != 0 && r.Level() >= s.keep {
		return resKept
	}
	if s.key != "" {
		if v, ok := r.Lookup(s.key); ok {
			if keyHash(v)%s.rate == 0 {
				return resKept
			}
			return resDropped
		}
	}
	s.n++
	if (s.n-1)%s.rate == 0 {
		return resKept
	}
	return resDropped
}
