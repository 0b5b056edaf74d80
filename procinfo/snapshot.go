package procinfo

import (
	"errors"
	"os/user"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"golang.org/x/sys/unix"
)

// Process is one process as the API shows it. Optional fields are nil (and
// omitted from JSON) when /proc does not let us read them; see docs/api.md.
type Process struct {
	PID       int        `json:"pid"`
	PPID      int        `json:"ppid"`
	Name      string     `json:"name"`
	Exe       string     `json:"exe,omitempty"`
	Cmdline   []string   `json:"cmdline,omitempty"`
	UID       *uint32    `json:"uid,omitempty"`
	User      string     `json:"user,omitempty"`
	State     string     `json:"state"`
	StartTime time.Time  `json:"start_time"`
	CPU       CPU        `json:"cpu"`
	Memory    Memory     `json:"memory"`
	Threads   int        `json:"threads"`
	FDs       FDs        `json:"fds"`
	IO        *IO        `json:"io,omitempty"`
	Listening *[]Socket  `json:"listening,omitempty"`
	Cgroup    *Cgroup    `json:"cgroup,omitempty"`
	openFiles *OpenFiles // nil when the fd directory is not readable
	ticks     uint64     // utime+stime, for CPU %
	start     uint64     // start ticks: (pid, start) identifies a process across snapshots
	exit      uint64     // wait status of a zombie, when readable
	group     string
	inScope   bool // of the events scope: lifecycle records are made for it
}

// CPU is the CPU time used so far and the share of one core over the last
// sampling interval (100 = one core busy).
type CPU struct {
	UserSeconds   float64  `json:"user_seconds"`
	SystemSeconds float64  `json:"system_seconds"`
	Percent       *float64 `json:"percent,omitempty"`
}

// Memory is resident and virtual size.
type Memory struct {
	RSSBytes uint64 `json:"rss_bytes"`
	VMSBytes uint64 `json:"vms_bytes"`
}

// FDs are the open descriptors and the soft RLIMIT_NOFILE.
type FDs struct {
	Open  *int    `json:"open,omitempty"`
	Limit *uint64 `json:"limit,omitempty"`
}

// IO is the bytes the process caused to be read from or written to storage.
type IO struct {
	ReadBytes  uint64 `json:"read_bytes"`
	WriteBytes uint64 `json:"write_bytes"`
}

type procKey struct {
	pid   int
	start uint64
}

// Snapshot is every visible process at one instant. It is immutable once
// published: readers share it without locking.
type Snapshot struct {
	Time      time.Time
	Processes []Process // by PID
	Duration  time.Duration
	byKey     map[procKey]int
	cmdlines  map[string][]string   // raw cmdline → redacted, reused by the next snapshot
	groups    map[string]groupState // counters of the metric groups as of this snapshot
	overflow  int                   // distinct groups folded into OverflowGroup
}

// find returns the process with pid, or nil.
func (s *Snapshot) find(pid int) *Process {
	i, ok := slices.BinarySearchFunc(s.Processes, pid, func(p Process, pid int) int { return p.PID - pid })
	if !ok {
		return nil
	}
	return &s.Processes[i]
}

// reader reads snapshots from a proc root. It is used by one goroutine at a
// time (the provider's refresh holds its lock) and keeps its buffers.
type reader struct {
	procRoot  string
	cgroups   cgroupResolver
	pageSize  uint64
	clkTck    float64
	bootTime  time.Time
	redact    *redactor // nil when redaction is off
	users     map[uint32]string
	lookupUID func(uid string) (*user.User, error) // os/user; fixed in fixture tests
	buf       []byte
	link      []byte
	dirent    []byte
	names     []string
	fdNames   []string
	listeners map[uint64]Socket
	seq       uint64 // snapshots taken
}

func newReader(procRoot, sysRoot string, bootTime time.Time, red *redactor) *reader {
	return &reader{
		procRoot:  procRoot,
		cgroups:   cgroupResolver{root: filepath.Join(sysRoot, "fs", "cgroup")},
		pageSize:  uint64(unix.Getpagesize()),
		clkTck:    100, // USER_HZ is 100 on every Linux architecture we build for
		bootTime:  bootTime,
		redact:    red,
		users:     map[uint32]string{},
		lookupUID: user.LookupId,
		buf:       make([]byte, 4096),
		link:      make([]byte, 4096),
		dirent:    make([]byte, 32<<10),
	}
}

// take reads a snapshot at now; prev (may be nil) supplies the CPU baseline.
func (r *reader) take(now time.Time, prev *Snapshot) (*Snapshot, error) {
	s := &Snapshot{Time: now, cmdlines: map[string][]string{}}
	r.seq++
	r.cgroups.cache = map[string]*Cgroup{}
	r.readListeners()

	pids, err := r.readPIDs()
	if err != nil {
		return nil, err
	}
	s.Processes = make([]Process, 0, len(pids))
	s.byKey = make(map[procKey]int, len(pids))
	for _, pid := range pids {
		var p Process
		if !r.readProcess(pid, &p, s, prev) {
			continue // exited while we looked
		}
		r.cpuPercent(&p, now, prev)
		s.Processes = append(s.Processes, p)
	}
	slices.SortFunc(s.Processes, func(a, b Process) int { return a.PID - b.PID })
	for i := range s.Processes {
		s.byKey[procKey{s.Processes[i].PID, s.Processes[i].start}] = i
	}
	return s, nil
}

// cpuPercent is measured against the previous snapshot; a process started
// since then is measured from its start. With no baseline it stays unset
// rather than falling back to a lifetime average.
func (r *reader) cpuPercent(p *Process, now time.Time, prev *Snapshot) {
	if prev == nil {
		return
	}
	var base uint64
	since := prev.Time
	if i, ok := prev.byKey[procKey{p.PID, p.start}]; ok {
		base = prev.Processes[i].ticks
	} else if p.StartTime.After(prev.Time) {
		since = p.StartTime
	} else {
		return
	}
	wall := now.Sub(since).Seconds()
	if wall <= 0 || p.ticks < base {
		return
	}
	pct := float64(p.ticks-base) / r.clkTck / wall * 100
	p.CPU.Percent = &pct
}

func (r *reader) readListeners() {
	if r.listeners == nil {
		r.listeners = map[uint64]Socket{}
	}
	clear(r.listeners)
	for _, t := range [...]struct{ file, proto string }{{"tcp", "tcp"}, {"tcp6", "tcp"}, {"udp", "udp"}, {"udp6", "udp"}} {
		b, err := r.readFile(unix.AT_FDCWD, r.procRoot+"/net/"+t.file)
		if err != nil {
			continue // no IPv6, or no network namespace view: no ports from this table
		}
		parseNetSockets(b, t.proto, r.listeners)
	}
}

func (r *reader) readPIDs() ([]int, error) {
	names, err := r.readDirNames(unix.AT_FDCWD, r.procRoot, r.names[:0])
	r.names = names
	if err != nil {
		return nil, err
	}
	pids := make([]int, 0, len(names))
	for _, n := range names {
		if n[0] < '1' || n[0] > '9' {
			continue
		}
		if pid, err := strconv.Atoi(n); err == nil {
			pids = append(pids, pid)
		}
	}
	return pids, nil
}

// readProcess fills p from /proc/PID. Only stat is required; every other
// file is optional and its fields stay unset when it cannot be read.
func (r *reader) readProcess(pid int, p *Process, s, prev *Snapshot) bool {
	dir, err := unix.Open(r.procRoot+"/"+strconv.Itoa(pid), unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return false
	}
	defer unix.Close(dir)

	b, err := r.readFile(dir, "stat")
	if err != nil {
		return false
	}
	st, err := parseStat(b)
	if err != nil {
		return false
	}
	p.PID, p.PPID, p.Name = pid, st.ppid, st.comm
	p.State = stateName(st.state)
	p.start, p.ticks, p.exit = st.startTicks, st.utime+st.stime, st.exitStatus
	p.StartTime = r.bootTime.Add(time.Duration(st.startTicks) * time.Second / time.Duration(r.clkTck)).UTC()
	p.CPU.UserSeconds = float64(st.utime) / r.clkTck
	p.CPU.SystemSeconds = float64(st.stime) / r.clkTck
	p.Memory = Memory{RSSBytes: st.rssPages * r.pageSize, VMSBytes: st.vsize}
	p.Threads = st.threads

	if b, err := r.readFile(dir, "cmdline"); err == nil && len(b) > 0 {
		p.Cmdline = r.cmdline(b, s, prev)
		// comm is cut at 15 bytes; the program name from argv is not.
		if len(p.Name) == 15 {
			if base := filepath.Base(firstArg(b)); strings.HasPrefix(base, p.Name) {
				p.Name = base
			}
		}
	}
	if b, err := r.readFile(dir, "io"); err == nil {
		if io, ok := parseIO(b); ok {
			p.IO = &io
		}
	}
	r.slowFields(dir, p, prev)
	r.readFDs(dir, p)
	return true
}

// slowRefresh is how many snapshots a known process's slow fields are reused for.
const slowRefresh = 12

// slowFields reads uid, exe, the fd limit and the cgroup. status, limits and
// cgroup are the costliest files of a snapshot and these fields rarely change
// after start-up, so a process seen before with the same command line (an
// exec changes it) reuses the previous snapshot's values; each re-reads them
// every slowRefresh snapshots, staggered by PID so no snapshot reads them all.
func (r *reader) slowFields(dir int, p *Process, prev *Snapshot) {
	if prev != nil && (uint64(p.PID)+r.seq)%slowRefresh != 0 {
		if i, ok := prev.byKey[procKey{p.PID, p.start}]; ok && slices.Equal(prev.Processes[i].Cmdline, p.Cmdline) {
			old := &prev.Processes[i]
			p.UID, p.User, p.Exe, p.FDs.Limit, p.Cgroup = old.UID, old.User, old.Exe, old.FDs.Limit, old.Cgroup
			return
		}
	}
	if b, err := r.readFile(dir, "status"); err == nil {
		if uid, ok := parseStatusUID(b); ok {
			p.UID = &uid
			p.User = r.userName(uid)
		}
	}
	if n, err := unix.Readlinkat(dir, "exe", r.link); err == nil && n < len(r.link) {
		p.Exe = strings.TrimSuffix(string(r.link[:n]), " (deleted)")
	}
	if b, err := r.readFile(dir, "limits"); err == nil {
		if n, ok := parseNofile(b); ok {
			p.FDs.Limit = &n
		}
	}
	if b, err := r.readFile(dir, "cgroup"); err == nil {
		p.Cgroup = r.cgroups.resolve(b)
	}
}

func firstArg(b []byte) string {
	for i, c := range b {
		if c == 0 {
			return string(b[:i])
		}
	}
	return string(b)
}

// cmdline splits and redacts, reusing the previous snapshot's result for an
// unchanged command line (most are; redaction runs several regexps).
func (r *reader) cmdline(raw []byte, s, prev *Snapshot) []string {
	if c, ok := s.cmdlines[string(raw)]; ok {
		return c
	}
	key := string(raw)
	c, ok := []string(nil), false
	if prev != nil {
		c, ok = prev.cmdlines[key]
	}
	if !ok {
		c = splitCmdline(raw)
		if r.redact != nil {
			c = r.redact.redact(c)
		}
	}
	s.cmdlines[key] = c
	return c
}

// readFDs counts descriptors by type and matches socket inodes against the
// listening sockets read once per snapshot.
func (r *reader) readFDs(dir int, p *Process) {
	fd, err := unix.Openat(dir, "fd", unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return // another user's process without CAP_SYS_PTRACE
	}
	defer unix.Close(fd)
	names, err := r.readDirNames(fd, "", r.fdNames[:0])
	r.fdNames = names
	if err != nil {
		return
	}
	of := &OpenFiles{}
	var listening []Socket
	readable := 0
	for _, n := range names {
		l, err := unix.Readlinkat(fd, n, r.link)
		if errors.Is(err, unix.EACCES) || errors.Is(err, unix.EPERM) {
			break // links hidden (a non-dumpable process): all of them are
		}
		if err != nil {
			continue // closed meanwhile
		}
		readable++
		if inode := of.classifyFD(r.link[:l]); inode != 0 {
			if sock, ok := r.listeners[inode]; ok {
				listening = append(listening, sock)
			}
		}
	}
	open := len(names)
	p.FDs.Open = &open
	if readable == 0 && open > 0 {
		return // the count is known, what the descriptors are is not
	}
	p.openFiles = of
	if listening == nil {
		listening = []Socket{}
	}
	slices.SortFunc(listening, func(a, b Socket) int {
		if c := strings.Compare(a.Protocol, b.Protocol); c != 0 {
			return c
		}
		if a.Port != b.Port {
			return int(a.Port) - int(b.Port)
		}
		return strings.Compare(a.Address, b.Address)
	})
	p.Listening = &listening
}

// readFile reads name (relative to dir) whole into the reader's buffer; the
// result is valid until the next call.
func (r *reader) readFile(dir int, name string) ([]byte, error) {
	fd, err := unix.Openat(dir, name, unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, err
	}
	defer unix.Close(fd)
	n := 0
	for {
		if n == len(r.buf) {
			r.buf = append(r.buf, make([]byte, len(r.buf))...)
		}
		m, err := unix.Read(fd, r.buf[n:])
		if err != nil {
			if errors.Is(err, unix.EINTR) {
				continue
			}
			return nil, err
		}
		n += m
		// procfs hands out a whole file in one read when the buffer has room
		// (as for a regular file, a short read means EOF): skip the read
		// that would return 0, a syscall per file per process.
		if m == 0 || n < len(r.buf) {
			return r.buf[:n], nil
		}
	}
}

// readDirNames lists a directory with getdents into names.
func (r *reader) readDirNames(dir int, path string, names []string) ([]string, error) {
	fd := dir
	if path != "" {
		var err error
		fd, err = unix.Openat(dir, path, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
		if err != nil {
			return names, err
		}
		defer unix.Close(fd)
	} else if _, err := unix.Seek(fd, 0, 0); err != nil {
		return names, err
	}
	for {
		n, err := unix.ReadDirent(fd, r.dirent)
		if err != nil {
			if errors.Is(err, unix.EINTR) {
				continue
			}
			return names, err
		}
		if n <= 0 {
			return names, nil
		}
		_, _, names = unix.ParseDirent(r.dirent[:n], -1, names)
	}
}

// userName looks a UID up once; names come from this container's
// /etc/passwd, so another container's users may stay numeric.
func (r *reader) userName(uid uint32) string {
	if n, ok := r.users[uid]; ok {
		return n
	}
	n := ""
	if u, err := r.lookupUID(strconv.FormatUint(uint64(uid), 10)); err == nil {
		n = u.Username
	}
	r.users[uid] = n
	return n
}
