package procinfo

import (
	"bytes"
	"encoding/binary"
	"errors"
	"net/netip"
	"strconv"
)

// The parsers below are pure (bytes in, values out) so the fixture tests in
// testdata/proc cover them without a live /proc. They are written by hand
// because a snapshot parses these files for every process every interval and
// gopsutil's per-field calls re-read and re-split them several times.

// procStat is what a snapshot takes from /proc/PID/stat.
type procStat struct {
	comm       string
	state      byte
	ppid       int
	utime      uint64 // clock ticks
	stime      uint64
	threads    int
	startTicks uint64 // clock ticks after boot
	vsize      uint64 // bytes
	rssPages   uint64
	exitStatus uint64 // wait(2) status; the kernel shows it only to ptrace-capable readers
}

var errMalformed = errors.New("malformed")

// parseStat parses /proc/PID/stat. The command name is parenthesised and may
// itself contain spaces and parentheses, so fields are counted from the last ')'.
func parseStat(b []byte) (procStat, error) {
	var s procStat
	open := bytes.IndexByte(b, '(')
	end := bytes.LastIndexByte(b, ')')
	if open < 0 || end < open || end+2 >= len(b) {
		return s, errMalformed
	}
	s.comm = string(b[open+1 : end])
	rest := b[end+2:]
	// Field numbers as in proc(5), starting at 3 (state).
	for field := 3; len(rest) > 0; field++ {
		i := bytes.IndexByte(rest, ' ')
		var f []byte
		if i < 0 {
			f, rest = bytes.TrimRight(rest, "\n"), nil
		} else {
			f, rest = rest[:i], rest[i+1:]
		}
		switch field {
		case 3:
			if len(f) != 1 {
				return s, errMalformed
			}
			s.state = f[0]
		case 4:
			s.ppid = int(atou(f))
		case 14:
			s.utime = atou(f)
		case 15:
			s.stime = atou(f)
		case 20:
			s.threads = int(atou(f))
		case 22:
			s.startTicks = atou(f)
		case 23:
			s.vsize = atou(f)
		case 24:
			s.rssPages = atou(f)
		case 52:
			s.exitStatus = atou(f)
		}
	}
	return s, nil
}

// atou parses a decimal without allocating; anything else (e.g. a negative
// rss of a dying process) is 0.
func atou(b []byte) uint64 {
	var n uint64
	for _, c := range b {
		if c < '0' || c > '9' {
			return 0
		}
		n = n*10 + uint64(c-'0')
	}
	return n
}

// lineValue finds "key" at the start of a line and returns the rest of it.
func lineValue(b []byte, key string) ([]byte, bool) {
	for len(b) > 0 {
		line := b
		if i := bytes.IndexByte(b, '\n'); i >= 0 {
			line, b = b[:i], b[i+1:]
		} else {
			b = nil
		}
		if bytes.HasPrefix(line, []byte(key)) {
			return line[len(key):], true
		}
	}
	return nil, false
}

// parseStatusUID returns the effective UID from /proc/PID/status.
func parseStatusUID(b []byte) (uint32, bool) {
	v, ok := lineValue(b, "Uid:")
	if !ok {
		return 0, false
	}
	f := bytes.Fields(v)
	if len(f) < 2 {
		return 0, false
	}
	u, err := strconv.ParseUint(string(f[1]), 10, 32)
	return uint32(u), err == nil
}

// parseIO returns read_bytes and write_bytes (storage I/O) from /proc/PID/io.
func parseIO(b []byte) (IO, bool) {
	r, ok1 := lineValue(b, "read_bytes: ")
	w, ok2 := lineValue(b, "write_bytes: ")
	if !ok1 || !ok2 {
		return IO{}, false
	}
	return IO{ReadBytes: atou(r), WriteBytes: atou(w)}, true
}

// parseNofile returns the soft "Max open files" limit from /proc/PID/limits;
// ok is false when it is unlimited or absent.
func parseNofile(b []byte) (uint64, bool) {
	v, ok := lineValue(b, "Max open files")
	if !ok {
		return 0, false
	}
	f := bytes.Fields(v)
	if len(f) == 0 {
		return 0, false
	}
	n, err := strconv.ParseUint(string(f[0]), 10, 64)
	return n, err == nil
}

// splitCmdline splits the NUL-separated /proc/PID/cmdline. Processes that
// rewrite their title (nginx, postgres) may leave one space-joined argument.
func splitCmdline(b []byte) []string {
	b = bytes.TrimRight(b, "\x00")
	if len(b) == 0 {
		return nil
	}
	n := bytes.Count(b, []byte{0}) + 1
	out := make([]string, 0, n)
	for len(b) > 0 {
		i := bytes.IndexByte(b, 0)
		if i < 0 {
			out = append(out, string(b))
			break
		}
		out = append(out, string(b[:i]))
		b = b[i+1:]
	}
	return out
}

// Socket is a listening socket.
type Socket struct {
	Protocol string `json:"protocol"` // tcp or udp
	Address  string `json:"address"`
	Port     uint16 `json:"port"`
}

const (
	tcpListen = "0A"
	udpClose  = "07" // an unconnected UDP socket, i.e. one waiting for datagrams
)

// parseNetSockets adds the listening sockets of one /proc/net/{tcp,tcp6,udp,udp6}
// table to byInode. The kernel prints addresses as 32-bit words in host byte
// order; every platform we build for is little-endian.
func parseNetSockets(b []byte, proto string, byInode map[uint64]Socket) {
	want := tcpListen
	if proto == "udp" {
		want = udpClose
	}
	first := true
	for len(b) > 0 {
		line := b
		if i := bytes.IndexByte(b, '\n'); i >= 0 {
			line, b = b[:i], b[i+1:]
		} else {
			b = nil
		}
		if first { // header
			first = false
			continue
		}
		var f [10][]byte
		n := 0
		for _, w := range bytes.Fields(line) {
			if n == len(f) {
				break
			}
			f[n] = w
			n++
		}
		if n < 10 || string(f[3]) != want {
			continue
		}
		if proto == "udp" && !zeroPeer(f[2]) {
			continue
		}
		addr, port, ok := parseHexAddr(f[1])
		inode := atou(f[9])
		if !ok || inode == 0 {
			continue
		}
		byInode[inode] = Socket{Protocol: proto, Address: addr.String(), Port: port}
	}
}

// zeroPeer reports whether a remote address is all zeros with port 0.
func zeroPeer(b []byte) bool {
	for _, c := range b {
		if c != '0' && c != ':' {
			return false
		}
	}
	return true
}

func parseHexAddr(b []byte) (netip.Addr, uint16, bool) {
	i := bytes.IndexByte(b, ':')
	if i < 0 {
		return netip.Addr{}, 0, false
	}
	port, err := strconv.ParseUint(string(b[i+1:]), 16, 16)
	if err != nil {
		return netip.Addr{}, 0, false
	}
	h := b[:i]
	var raw [16]byte
	if len(h) != 8 && len(h) != 32 {
		return netip.Addr{}, 0, false
	}
	for w := 0; w < len(h)/8; w++ {
		v, err := strconv.ParseUint(string(h[w*8:w*8+8]), 16, 32)
		if err != nil {
			return netip.Addr{}, 0, false
		}
		binary.LittleEndian.PutUint32(raw[w*4:], uint32(v))
	}
	if len(h) == 8 {
		return netip.AddrFrom4([4]byte(raw[:4])), uint16(port), true
	}
	return netip.AddrFrom16(raw).Unmap(), uint16(port), true
}

// OpenFiles counts a process's file descriptors by what they point at.
type OpenFiles struct {
	File      int `json:"file"`
	Socket    int `json:"socket"`
	Pipe      int `json:"pipe"`
	AnonInode int `json:"anon_inode"`
	Other     int `json:"other"`
}

// classifyFD counts one /proc/PID/fd link target and returns the socket inode
// when it is a socket.
func (o *OpenFiles) classifyFD(target []byte) (socketInode uint64) {
	switch {
	case bytes.HasPrefix(target, []byte("socket:[")):
		o.Socket++
		return atou(bytes.TrimSuffix(target[len("socket:["):], []byte("]")))
	case bytes.HasPrefix(target, []byte("pipe:[")):
		o.Pipe++
	case bytes.HasPrefix(target, []byte("anon_inode:")):
		o.AnonInode++
	case len(target) > 0 && target[0] == '/':
		o.File++
	default:
		o.Other++
	}
	return 0
}

// stateNames are the words for the state letters of proc(5).
var stateNames = map[byte]string{
	'R': "running", 'S': "sleeping", 'D': "disk-sleep", 'Z': "zombie",
	'T': "stopped", 't': "tracing-stop", 'X': "dead", 'x': "dead",
	'K': "wakekill", 'W': "waking", 'P': "parked", 'I': "idle",
}

func stateName(c byte) string {
	if s, ok := stateNames[c]; ok {
		return s
	}
	return string(c)
}

// parseBootTime returns btime (seconds since the epoch) from /proc/stat.
func parseBootTime(b []byte) (int64, bool) {
	v, ok := lineValue(b, "btime ")
	if !ok {
		return 0, false
	}
	n := atou(bytes.TrimSpace(v))
	return int64(n), n > 0
}
