package collector

// fpIndex finds the open files whose fingerprint a new file's first bytes
// may extend or be part of (copies, copies in progress) without comparing
// with every file: with 10,000 files, opening each was 10,000 comparisons.
// Only fingerprints of at least minCopyFingerprint bytes take part in copy
// detection, so they are filed under their first bytes.
type fpIndex struct {
	byHead  map[string][]*tailedFile // by the first minCopyFingerprint bytes
	byShort map[string][]*tailedFile // by the first shortHead bytes
}

// shortHead files fingerprints for new files shorter than
// minCopyFingerprint; a new file shorter still is compared with every file.
const shortHead = 16

func newFPIndex() fpIndex {
	return fpIndex{byHead: map[string][]*tailedFile{}, byShort: map[string][]*tailedFile{}}
}

func (x fpIndex) add(tf *tailedFile) {
	if fp := tf.fp; len(fp) >= minCopyFingerprint {
		x.byHead[string(fp[:minCopyFingerprint])] = append(x.byHead[string(fp[:minCopyFingerprint])], tf)
		x.byShort[string(fp[:shortHead])] = append(x.byShort[string(fp[:shortHead])], tf)
	}
}

func (x fpIndex) remove(tf *tailedFile) {
	if fp := tf.fp; len(fp) >= minCopyFingerprint {
		drop(x.byHead, string(fp[:minCopyFingerprint]), tf)
		drop(x.byShort, string(fp[:shortHead]), tf)
	}
}

func drop(m map[string][]*tailedFile, k string, tf *tailedFile) {
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
		l = s.fps.byHead[string(fp[:minCopyFingerprint])]
	case len(fp) >= shortHead:
		l = s.fps.byShort[string(fp[:shortHead])]
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
