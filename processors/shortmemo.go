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
// reference to a key (the parser's blocks are reused), holds a fixed 256
// answers (a new key takes its slot's place), and belongs to one chain,
// which one goroutine runs.
type keyMemo struct {
	slots [256]memoSlot
}

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
	slot := &m.slots[(first*0x9e3779b97f4a7c15^last*0xc2b2ae3d27d4eb4f^uint64(len(key)))>>56]
	if slot.n != uint8(len(key)+1) || slot.first != first || slot.last != last {
		return slot.ask(key, first, last)
	}
	return slot.secret
}

// ask fills slot with key's answer (out of line: the hits keep their
// registers).
//
//go:noinline
func (slot *memoSlot) ask(key string, first, last uint64) bool {
	*slot = memoSlot{first: first, last: last, n: uint8(len(key) + 1), secret: secrets.IsSecretName(key)}
	return slot.secret
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
