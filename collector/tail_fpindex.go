package collector

import "hash/maphash"

// fpIndex finds the open files whose fingerprint a new file's first bytes
// may extend or be part of (copies, copies in progress) without comparing
// with every file: with 10,000 files, opening each was 10,000 comparisons.
// Only fingerprints of at least minCopyFingerprint bytes take part in copy
// detection, so they are filed under a hash of their first bytes (8 bytes
// a file, not 80; a collision only adds a candidate that fails the compare).
type fpIndex struct {
	byHead  map[uint64][]*tailedFile // by the first minCopyFingerprint bytes
	byShort map[uint64][]*tailedFile // by the first shortHead bytes
}

var fpSeed = maphash.MakeSeed()

func head(fp []byte, n int) uint64 { return maphash.Bytes(fpSeed, fp[:n]) }

// shortHead files fingerprints for new files shorter than
// minCopyFingerprint; a new file shorter still is compared with every file.
const shortHead = 16

func newFPIndex() fpIndex {
	return fpIndex{byHead: map[uint64][]*tailedFile{}, byShort: map[uint64][]*tailedFile{}}
}

func (x fpIndex) add(tf *tailedFile) {
	if fp := tf.fp; len(fp) >= minCopyFingerprint {
		h, sh := head(fp, minCopyFingerprint), head(fp, shortHead)
		x.byHead[h] = append(x.byHead[h], tf)
		x.byShort[sh] = append(x.byShort[sh], tf)
	}
}

func (x fpIndex) remove(tf *tailedFile) {
	if fp := tf.fp; len(fp) >= minCopyFingerprint {
		drop(x.byHead, head(fp, minCopyFingerprint), tf)
		drop(x.byShort, head(fp, shortHead), tf)
	}
}

func drop(m map[uint64][]*tailedFile, k uint64, tf *tailedFile) {
	l := m[k]
	for i, x := range l {
		if x == tf {
			l[i] = l[len(l)-1]
			l = l[:len(l)-1]
			break
		}
	}
	if len(l) == 0 {
		delete(m, k)
	} else {
		m[k] = l
	}
}

// candidates calls f with every file whose fingerprint (of at least
// minCopyFingerprint bytes) may start with fp or be a prefix of it, and
// more; f returns false to stop.
func (s *fileSource) candidates(fp []byte, f func(*tailedFile) bool) {
	var l []*tailedFile
	switch {
	case len(fp) >= minCopyFingerprint:
		l = s.fps.byHead[head(fp, minCopyFingerprint)]
	case len(fp) >= shortHead:
		l = s.fps.byShort[head(fp, shortHead)]
	default:
		for _, tf := range s.files {
			if len(tf.fp) >= minCopyFingerprint && !f(tf) {
				return
			}
		}
		return
	}
	for _, tf := range l {
		if !f(tf) {
			return
		}
	}
}

// setFP changes a file's fingerprint, here and in its delivery state.
func (s *fileSource) setFP(tf *tailedFile, fp []byte) {
	if s.files[tf.key] == tf {
		s.fps.remove(tf)
		tf.fp = fp
		s.fps.add(tf)
	} else {
		tf.fp = fp
	}
	tf.track.setFP(fp)
}
