package processors

import (
	"encoding/binary"
	"unsafe"

	"github.com/obsadapter/obsadapter/secrets"
)

// keyMemo remembers which field keys name a secret (secrets.IsSecretName),
// for keys of at most 16 bytes, by the keys themselves: a source's records
// carry the same few keys over and over, and two loads tell such a key
// apart from every other, where asking again scans it. It keeps no
// reference to a key (the parser's blocks are reused), holds a fixed 512
// answers, two for each hash (so two keys a source uses all the time,
// "status" and "empty" say, do not keep taking one place: a new key takes
// the older one's), and belongs to one chain, which one goroutine runs.
type keyMemo struct {
	slots [memoSets][2]memoSlot
}

const memoSets = 256

type memoSlot struct {
	first, last uint64 // the key's first and last 8 bytes (4, 2 or 1 for shorter ones)
	n           uint8  // its length + 1; 0: empty
	secret      bool
}

// maxMemoKey is the longest key a keyMemo holds: its first and last 8
// bytes cover all of it.
const maxMemoKey = 16

// secret reports whether key names a secret.
func (m *keyMemo) secret(key string) bool {
	if len(key) > maxMemoKey {
		return secrets.IsSecretName(key)
	}
	first, last := textWords(key)
	set := &m.slots[(first*0x9e3779b97f4a7c15^last*0xc2b2ae3d27d4eb4f^uint64(len(key)))>>56]
	if s := &set[0]; s.n == uint8(len(key)+1) && s.first == first && s.last == last {
		return s.secret
	}
	if s := &set[1]; s.n == uint8(len(key)+1) && s.first == first && s.last == last {
		return s.secret
	}
	return ask(set, key, first, last)
}

// ask puts key's answer first in its set, the set's first answer second
// (out of line: the hits keep their registers).
//
//go:noinline
func ask(set *[2]memoSlot, key string, first, last uint64) bool {
	set[1] = set[0]
	set[0] = memoSlot{first: first, last: last, n: uint8(len(key) + 1), secret: secrets.IsSecretName(key)}
	return set[0].secret
}

// textWords returns two words that, with the length, are t (len(t) ≤ 16):
// its first and last 8, 4, 2 or 1 bytes, which overlap or meet.
func textWords(t string) (first, last uint64) {
	b := unsafe.Slice(unsafe.StringData(t), len(t))
	switch n := len(b); {
	case n >= 8:
		return binary.LittleEndian.Uint64(b), binary.LittleEndian.Uint64(b[n-8:])
	case n >= 4:
		return uint64(binary.LittleEndian.Uint32(b)), uint64(binary.LittleEndian.Uint32(b[n-4:]))
	case n >= 2:
		return uint64(binary.LittleEndian.Uint16(b)), uint64(binary.LittleEndian.Uint16(b[n-2:]))
	case n == 1:
		return uint64(b[0]), 0
	}
	return 0, 0
}
