package otlp

import (
	"bytes"
	"compress/gzip"
	"encoding/binary"
	"encoding/hex"
	"math"
	"math/bits"
	"slices"
	"strings"
	"time"
	"unicode/utf8"
	"unsafe"

	"github.com/obsadapter/obsadapter/exporters/buffer"
	"github.com/obsadapter/obsadapter/record"
)

// The mapping of a record to an OTLP LogRecord (opentelemetry.proto.logs.v1):
//
//	record                    OTLP
//	------------------------  ------------------------------------------------------------
//	Time                      time_unix_nano (0, i.e. absent, when the line had no time)
//	ObservedTime              observed_time_unix_nano
//	Severity                  severity_number (0 = UNSPECIFIED when the line had no level)
//	Level()                   severity_text: the level word (trace … fatal) the JSON form
//	                          and fluent's "level" carry, so one query fits every exporter
//	Message                   body, a string AnyValue
//	Fields                    attributes, in order: strings, ints (int_value), floats
//	                          (double_value), bools, null (an empty AnyValue), objects
//	                          (kvlist_value) and arrays (array_value) keep their types
//	field trace_id            trace_id, when it is 32 hex digits and not all zero; then
//	                          not repeated as an attribute
//	field span_id             span_id, when it is 16 hex digits and not all zero; likewise
//	Path                      attribute log.file.path (semantic conventions)
//	Stream                    attribute log.iostream (semantic conventions)
//	Format                    attribute obsadapter.format
//	Truncated                 attribute obsadapter.truncated = true, only when true
//
// Records are grouped by source and Kubernetes metadata: one ResourceLogs
// per group in a request, not one per record, whose resource attributes are
//
//	service.name              resource["service.name"] from the config, else the pod's
//	                          app.kubernetes.io/name label (Deps.Resource.ServiceName)
//	k8s.namespace.name        the record's kubernetes.namespace, else the adapter's pod's
//	k8s.pod.name              the record's kubernetes.pod, else the adapter's pod's
//	k8s.pod.uid               the adapter's pod's, when the record is from that pod
//	k8s.container.name        the record's kubernetes.container, else the adapter's
//	                          (Deps.Resource.Container), when the record is from its pod
//	k8s.node.name             the record's kubernetes.node, else the adapter's node
//	host.name                 Deps.Resource.HostName
//	obsadapter.source         the record's source name
//	(config resource)         every key of exporters.otlp.resource, over the above
//
// and one ScopeLogs with the scope name "obsadapter" and the adapter's
// version. Strings that are not valid UTF-8 get U+FFFD in place of the bad
// bytes, as in the JSON form: protobuf strings must be UTF-8.

// Field tags: field number << 3 | wire type (0 varint, 1 fixed64, 2 bytes).
const (
	tagRequestResourceLogs = 1<<3 | 2 // ExportLogsServiceRequest.resource_logs
	tagResourceResource    = 1<<3 | 2 // ResourceLogs.resource
	tagResourceScopeLogs   = 2<<3 | 2 // ResourceLogs.scope_logs
	tagResourceAttributes  = 1<<3 | 2 // Resource.attributes
	tagScopeScope          = 1<<3 | 2 // ScopeLogs.scope
	tagScopeLogRecords     = 2<<3 | 2 // ScopeLogs.log_records
	tagScopeName           = 1<<3 | 2 // InstrumentationScope.name
	tagScopeVersion        = 2<<3 | 2 // InstrumentationScope.version
	tagLogTime             = 1<<3 | 1 // LogRecord.time_unix_nano (fixed64)
	tagLogSeverityNumber   = 2<<3 | 0
	tagLogSeverityText     = 3<<3 | 2
	tagLogBody             = 5<<3 | 2
	tagLogAttributes       = 6<<3 | 2
	tagLogTraceID          = 9<<3 | 2
	tagLogSpanID           = 10<<3 | 2
	tagLogObservedTime     = 11<<3 | 1
	tagKVKey               = 1<<3 | 2 // KeyValue.key
	tagKVValue             = 2<<3 | 2 // KeyValue.value
	tagAnyString           = 1<<3 | 2 // AnyValue.string_value
	tagAnyBool             = 2<<3 | 0
	tagAnyInt              = 3<<3 | 0
	tagAnyDouble           = 4<<3 | 1
	tagAnyArray            = 5<<3 | 2
	tagAnyKVList           = 6<<3 | 2
	tagListValues          = 1<<3 | 2 // ArrayValue.values, KeyValueList.values
)

// Attribute names the exporter writes itself.
const (
	attrFilePath  = "log.file.path"
	attrIOStream  = "log.iostream"
	attrFormat    = "obsadapter.format"
	attrTruncated = "obsadapter.truncated"
	attrSource    = "obsadapter.source"
	scopeName     = "obsadapter"
)

// groupKey is what one ResourceLogs stands for.
type groupKey struct {
	source string
	k8s    record.Kubernetes
}

// group collects the encoded LogRecords of one resource within the open
// request, in a buffer from the pool (so that many groups, each large once,
// do not each keep their largest buffer).
type group struct {
	key      groupKey
	resource []byte // the Resource message's content (its attributes)
	recs     []byte // log_records fields, ready to append
	n        int
	hint     int // the size to ask the pool for: its largest so far, plus a margin
}

// builder turns batches into requests (buffer items), bounded by the batch
// limits. Only one goroutine uses it at a time.
type builder struct {
	res      Resource
	extra    [][2]string // the config's resource attributes, sorted by key
	scope    []byte      // the ScopeLogs.scope field, encoded once
	maxRecs  int
	maxBytes int
	compress bool

	groups  map[groupKey]*group
	last    *group             // the previous record's group: consecutive records mostly share it
	lastK8s *record.Kubernetes // and its Kubernetes, the same pointer for a stream's records
	lastLen int                // the encoded size of the last record added
	order   []*group
	recs    int // records in the open request
	size    int // its encoded size at most: records and each group's envelope
	tail    []byte

	attrs fileAttrs

	out   []*buffer.Item
	gz    *gzip.Writer
	gzBuf bytes.Buffer
	pool  buffer.Pool // request buffers, back once accepted or spooled
}

func newBuilder(cfg Config, res Resource, version string) *builder {
	bl := &builder{res: res, maxRecs: cfg.Batch.MaxRecords, maxBytes: cfg.Batch.MaxBytes,
		compress: cfg.Compression == "gzip", groups: map[groupKey]*group{}}
	for k, v := range cfg.Resource {
		bl.extra = append(bl.extra, [2]string{k, v})
	}
	slices.SortFunc(bl.extra, func(a, b [2]string) int { return strings.Compare(a[0], b[0]) })
	var scope []byte
	scope = appendStringField(scope, tagScopeName, scopeName)
	if version != "" {
		scope = appendStringField(scope, tagScopeVersion, version)
	}
	bl.scope = appendBytesField(nil, tagScopeScope, scope)
	return bl
}

// build encodes the batch into requests, in order. A request holds at
// most batch.max_records records and batch.max_bytes bytes, unless a single
// record is larger: a receiver refuses a request over its own limit (the
// collector's gRPC receiver: 4 MiB by default) for good.
func (bl *builder) build(batch record.Batch) []*buffer.Item {
	bl.out = nil
	bl.last = nil // lastK8s may be a pointer to other metadata now
	for i := range batch {
		r := &batch[i]
		g := bl.add(r)
		if bl.size > bl.maxBytes && bl.recs > 1 {
			// Over the bound: the record starts the next request instead.
			bl.tail = append(bl.tail[:0], g.recs[len(g.recs)-bl.lastLen:]...)
			bl.remove(g)
			bl.seal()
			g = bl.groupOf(r)
			g.recs = append(g.recs, bl.tail...)
			bl.count(g, len(bl.tail))
		}
		if bl.recs >= bl.maxRecs || bl.size >= bl.maxBytes {
			bl.seal()
		}
	}
	bl.seal()
	if len(bl.groups) > 64 { // groups from many pods must not pile up
		clear(bl.groups)
		bl.last = nil
	}
	return bl.out
}

// add encodes the record into its group of the open request.
func (bl *builder) add(r *record.Record) *group {
	g := bl.groupOf(r)
	before := len(g.recs)
	g.recs = bl.appendLogRecord(g.recs, r)
	bl.count(g, len(g.recs)-before)
	return g
}

// count adds one record of n bytes to the open request.
func (bl *builder) count(g *group, n int) {
	g.n++
	bl.recs++
	bl.size += n
	bl.lastLen = n
}

// remove takes the group's last record out of the open request.
func (bl *builder) remove(g *group) {
	g.recs = g.recs[:len(g.recs)-bl.lastLen]
	g.n--
	bl.recs--
	bl.size -= bl.lastLen
	if g.n == 0 { // it joined the request with this record
		bl.order = bl.order[:len(bl.order)-1]
		bl.size -= bl.envelope(g)
	}
}

// envelope is what a group adds to a request besides its records, at most:
// its Resource and scope, three tags and three lengths.
func (bl *builder) envelope(g *group) int {
	return len(g.resource) + len(bl.scope) + 3*(1+binary.MaxVarintLen32)
}

// groupOf returns the record's group, joining it to the open request.
func (bl *builder) groupOf(r *record.Record) *group {
	g := bl.last
	if g == nil || g.key.source != r.Source || r.Kubernetes != bl.lastK8s && !sameK8s(g.key.k8s, r.Kubernetes) {
		key := groupKey{source: r.Source}
		if r.Kubernetes != nil {
			key.k8s = *r.Kubernetes
		}
		if g = bl.groups[key]; g == nil {
			// The key outlives the batch: copies of the record's strings.
			key = groupKey{source: strings.Clone(key.source), k8s: record.Kubernetes{Namespace: strings.Clone(key.k8s.Namespace),
				Pod: strings.Clone(key.k8s.Pod), Container: strings.Clone(key.k8s.Container), Node: strings.Clone(key.k8s.Node)}}
			g = &group{key: key, resource: bl.appendResource(nil, key), hint: 4096}
			bl.groups[key] = g
		}
		bl.last = g
	}
	bl.lastK8s = r.Kubernetes
	if g.n == 0 {
		bl.order = append(bl.order, g)
		bl.size += bl.envelope(g)
	}
	if g.recs == nil {
		g.recs = bl.pool.Get(g.hint)
	}
	return g
}

func sameK8s(k record.Kubernetes, p *record.Kubernetes) bool {
	if p == nil {
		return k == record.Kubernetes{}
	}
	return k == *p
}

// appendResource appends the resource attributes of a group (see the
// mapping above).
func (bl *builder) appendResource(b []byte, key groupKey) []byte {
	res, k := bl.res, key.k8s
	ownPod := (k.Pod == "" || k.Pod == res.PodName) && (k.Namespace == "" || k.Namespace == res.Namespace)
	pick := func(rec, own string) string {
		if rec != "" {
			return rec
		}
		return own
	}
	attrs := [][2]string{
		{"service.name", res.ServiceName},
		{"k8s.namespace.name", pick(k.Namespace, res.Namespace)},
		{"k8s.pod.name", pick(k.Pod, res.PodName)},
		{"k8s.node.name", pick(k.Node, res.NodeName)},
		{"host.name", res.HostName},
		{attrSource, key.source},
	}
	if ownPod {
		attrs = append(attrs, [2]string{"k8s.pod.uid", res.PodUID}, [2]string{"k8s.container.name", pick(k.Container, res.Container)})
	} else {
		attrs = append(attrs, [2]string{"k8s.container.name", k.Container})
	}
	for _, a := range attrs {
		if a[1] == "" || slices.ContainsFunc(bl.extra, func(e [2]string) bool { return e[0] == a[0] }) {
			continue
		}
		b = appendStringAttr(b, tagResourceAttributes, a[0], a[1])
	}
	for _, e := range bl.extra {
		b = appendStringAttr(b, tagResourceAttributes, e[0], e[1])
	}
	return b
}

// seal writes the open request: for each group, a ResourceLogs holding its
// Resource and one ScopeLogs with its records.
func (bl *builder) seal() {
	if bl.recs == 0 {
		return
	}
	total := 0
	for _, g := range bl.order {
		total += 3*(1+binary.MaxVarintLen32) + len(g.resource) + len(bl.scope) + len(g.recs)
	}
	msg := bl.pool.Get(total)
	for _, g := range bl.order {
		resLen := 1 + uvarintLen(len(g.resource)) + len(g.resource)
		slLen := len(bl.scope) + len(g.recs)
		rlLen := resLen + 1 + uvarintLen(slLen) + slLen
		msg = append(msg, tagRequestResourceLogs)
		msg = binary.AppendUvarint(msg, uint64(rlLen))
		msg = appendBytesField(msg, tagResourceResource, g.resource)
		msg = append(msg, tagResourceScopeLogs)
		msg = binary.AppendUvarint(msg, uint64(slLen))
		msg = append(msg, bl.scope...)
		msg = append(msg, g.recs...)
		if len(g.recs) > g.hint {
			g.hint = min(len(g.recs)+len(g.recs)/8, bl.maxBytes+bl.maxBytes/4)
		}
		bl.pool.Put(g.recs)
		g.recs, g.n = nil, 0
	}
	if bl.compress {
		bl.gzBuf.Reset()
		if bl.gz == nil {
			bl.gz, _ = gzip.NewWriterLevel(&bl.gzBuf, gzip.BestSpeed)
		} else {
			bl.gz.Reset(&bl.gzBuf)
		}
		bl.gz.Write(msg)
		bl.gz.Close()
		bl.pool.Put(msg)
		msg = append(bl.pool.Get(bl.gzBuf.Len()), bl.gzBuf.Bytes()...)
	}
	bl.out = append(bl.out, &buffer.Item{Data: msg, Records: bl.recs})
	bl.order, bl.recs, bl.size = bl.order[:0], 0, 0
}

// isGzip tells a compressed request from a plain one: a plain request
// starts with the resource_logs tag, a gzip stream with its magic. The
// spool may hold requests encoded under an earlier compression setting.
func isGzip(data []byte) bool { return len(data) > 1 && data[0] == 0x1f && data[1] == 0x8b }

// fileAttrs are the attributes log.file.path and log.iostream of the last
// record, encoded: a file's records share them. The strings are copies: a
// record's are reused after the batch.
type fileAttrs struct {
	path, stream string
	enc          []byte
}

// append appends r's file attributes.
func (fa *fileAttrs) append(b []byte, r *record.Record) []byte {
	if r.Path != fa.path || r.Stream != fa.stream {
		fa.path, fa.stream = strings.Clone(r.Path), strings.Clone(r.Stream)
		fa.enc = fa.enc[:0]
		if r.Path != "" {
			fa.enc = appendKV(fa.enc, tagLogAttributes, attrFilePath, validUTF8(r.Path))
		}
		if r.Stream != "" {
			fa.enc = appendKV(fa.enc, tagLogAttributes, attrIOStream, validUTF8(r.Stream))
		}
	}
	return append(b, fa.enc...)
}

// appendLogRecord appends the record as a ScopeLogs.log_records field.
func (bl *builder) appendLogRecord(b []byte, r *record.Record) []byte {
	b = append(b, tagScopeLogRecords)
	b, mark := beginLen(b, 2)
	if ns := unixNano(r.Time); ns != 0 {
		b = binary.LittleEndian.AppendUint64(append(b, tagLogTime), ns)
	}
	if r.Severity != 0 {
		b = binary.AppendUvarint(append(b, tagLogSeverityNumber), uint64(r.Severity))
		b = appendStringField(b, tagLogSeverityText, r.Severity.Level().String())
	}
	// body: an AnyValue holding the message.
	msg := validUTF8(r.Message)
	b = append(b, tagLogBody)
	b = binary.AppendUvarint(b, uint64(1+uvarintLen(len(msg))+len(msg)))
	b = appendStringField(b, tagAnyString, msg)
	var traceID [16]byte
	var spanID [8]byte
	hasTrace, hasSpan := false, false
	for i := range r.Fields {
		f := &r.Fields[i]
		switch f.Key {
		case "trace_id":
			if decodeID(traceID[:], f.Value) {
				hasTrace = true
				continue
			}
		case "span_id":
			if decodeID(spanID[:], f.Value) {
				hasSpan = true
				continue
			}
		}
		b = appendAttr(b, tagLogAttributes, f.Key, f.Value)
	}
	b = bl.attrs.append(b, r)
	if r.Format != "" {
		b = appendKV(b, tagLogAttributes, attrFormat, validUTF8(r.Format))
	}
	if r.Truncated {
		b = append(b, tagLogAttributes, byte(2+len(attrTruncated)+4))
		b = appendStringField(b, tagKVKey, attrTruncated)
		b = append(b, tagKVValue, 2, tagAnyBool, 1)
	}
	if hasTrace {
		b = append(append(b, tagLogTraceID, 16), traceID[:]...)
	}
	if hasSpan {
		b = append(append(b, tagLogSpanID, 8), spanID[:]...)
	}
	b = binary.LittleEndian.AppendUint64(append(b, tagLogObservedTime), unixNano(r.ObservedTime))
	return endLen(b, mark, 2)
}

// unixNano is t in nanoseconds since 1970 for the times time.UnixNano can
// compute (1970 to 2262; the zero Time is year 1); others are sent as 0
// (unknown).
func unixNano(t time.Time) uint64 {
	const maxSec, maxNsec = math.MaxInt64 / 1_000_000_000, math.MaxInt64 % 1_000_000_000
	if s := t.Unix(); s < 0 || s > maxSec || s == maxSec && t.Nanosecond() > maxNsec {
		return 0
	}
	return uint64(t.UnixNano())
}

// decodeID decodes a trace or span id given as a string of exactly
// 2·len(dst) hex digits that are not all zero, the only valid ones.
func decodeID(dst []byte, v record.Value) bool {
	if v.Kind() != record.KindString {
		return false
	}
	s := v.Str()
	if len(s) != 2*len(dst) {
		return false
	}
	if _, err := hex.Decode(dst, unsafe.Slice(unsafe.StringData(s), len(s))); err != nil {
		return false
	}
	for _, c := range dst {
		if c != 0 {
			return true
		}
	}
	return false
}

// appendAttr appends a KeyValue field with the given tag. The lengths of
// a scalar value are known before it is written; an object or array is
// written first and its length after (see beginLen).
func appendAttr(b []byte, tag byte, key string, v record.Value) []byte {
	key = validUTF8(key)
	switch v.Kind() {
	case record.KindString:
		return appendKV(b, tag, key, validUTF8(v.Str()))
	case record.KindObject, record.KindArray:
		b = append(b, tag)
		b, mark := beginLen(b, 1)
		b = appendStringField(b, tagKVKey, key)
		b = append(b, tagKVValue)
		b, vmark := beginLen(b, 1)
		b = appendAnyValue(b, v)
		b = endLen(b, vmark, 1)
		return endLen(b, mark, 1)
	}
	n := scalarLen(v)
	b = append(b, tag)
	b = binary.AppendUvarint(b, uint64(1+uvarintLen(len(key))+len(key)+2+n))
	b = appendStringField(b, tagKVKey, key)
	b = append(b, tagKVValue, byte(n))
	return appendAnyValue(b, v)
}

// scalarLen is the length of appendAnyValue's encoding of a value that is
// neither a string, an object nor an array.
func scalarLen(v record.Value) int {
	switch v.Kind() {
	case record.KindInt:
		return 1 + uvarintLen64(uint64(v.Int64()))
	case record.KindFloat:
		return 9
	case record.KindBool:
		return 2
	}
	return 0 // null
}

// appendStringAttr appends a KeyValue with a string value.
func appendStringAttr(b []byte, tag byte, key, value string) []byte {
	return appendKV(b, tag, validUTF8(key), validUTF8(value))
}

// appendKV appends a KeyValue with a string value, key and value valid
// UTF-8 already; its lengths are known before it is written.
func appendKV(b []byte, tag byte, key, value string) []byte {
	anyLen := 1 + uvarintLen(len(value)) + len(value)
	kvLen := 1 + uvarintLen(len(key)) + len(key) + 1 + uvarintLen(anyLen) + anyLen
	b = append(b, tag)
	b = binary.AppendUvarint(b, uint64(kvLen))
	b = appendStringField(b, tagKVKey, key)
	b = append(b, tagKVValue)
	b = binary.AppendUvarint(b, uint64(anyLen))
	return appendStringField(b, tagAnyString, value)
}

// appendAnyValue appends an AnyValue's content (without its length).
func appendAnyValue(b []byte, v record.Value) []byte {
	switch v.Kind() {
	case record.KindString:
		return appendStringField(b, tagAnyString, validUTF8(v.Str()))
	case record.KindInt:
		return binary.AppendUvarint(append(b, tagAnyInt), uint64(v.Int64()))
	case record.KindFloat:
		return binary.LittleEndian.AppendUint64(append(b, tagAnyDouble), math.Float64bits(v.Float64()))
	case record.KindBool:
		if v.Bool() {
			return append(b, tagAnyBool, 1)
		}
		return append(b, tagAnyBool, 0)
	case record.KindObject:
		b = append(b, tagAnyKVList)
		b, mark := beginLen(b, 1)
		for _, f := range v.Object() {
			b = appendAttr(b, tagListValues, f.Key, f.Value)
		}
		return endLen(b, mark, 1)
	case record.KindArray:
		b = append(b, tagAnyArray)
		b, mark := beginLen(b, 1)
		for _, it := range v.Array() {
			b = append(b, tagListValues)
			var m int
			b, m = beginLen(b, 1)
			b = appendAnyValue(b, it)
			b = endLen(b, m, 1)
		}
		return endLen(b, mark, 1)
	}
	return b // null: an AnyValue with no value set
}

func appendStringField(b []byte, tag byte, s string) []byte {
	b = append(b, tag)
	b = binary.AppendUvarint(b, uint64(len(s)))
	return append(b, s...)
}

func appendBytesField(b []byte, tag byte, p []byte) []byte {
	b = append(b, tag)
	b = binary.AppendUvarint(b, uint64(len(p)))
	return append(b, p...)
}

// beginLen reserves n bytes for the length of a message about to be
// appended; endLen writes it there. Reserving the common size and moving the
// message in the rare case it needs another saves a sizing pass over every
// record.
func beginLen(b []byte, n int) ([]byte, int) {
	mark := len(b)
	return append(b, make([]byte, n)...), mark
}

func endLen(b []byte, mark, reserved int) []byte {
	n := len(b) - mark - reserved
	need := uvarintLen(n)
	if need != reserved {
		end := len(b)
		if need > reserved {
			b = append(b, make([]byte, need-reserved)...)
		}
		copy(b[mark+need:], b[mark+reserved:end])
		b = b[:mark+need+n]
	}
	binary.PutUvarint(b[mark:], uint64(n))
	return b
}

func uvarintLen(n int) int { return uvarintLen64(uint64(n)) }

func uvarintLen64(n uint64) int { return (bits.Len64(n|1) + 6) / 7 }

// validUTF8 returns s, or a copy with U+FFFD for each run of bad bytes.
// Most log text is ASCII, found so with one call per string: the bytes
// ORed together a word at a time, the words from the start and one more
// ending at the end, overlapping the last; a string shorter than 8 bytes
// as two overlapping halves, or its first, middle and last byte. (Most
// keys and values are short, where a loop over single bytes cost most of
// the time.)
func validUTF8(s string) string {
	p := unsafe.Slice(unsafe.StringData(s), len(s))
	n := len(p)
	le := binary.LittleEndian
	var acc uint64
	switch {
	case n >= 8:
		acc = le.Uint64(p[n-8:])
		for i := 0; i < n-8; i += 8 {
			acc |= le.Uint64(p[i:])
		}
	case n >= 4:
		acc = uint64(le.Uint32(p) | le.Uint32(p[n-4:]))
	case n > 0:
		acc = uint64(p[0] | p[n/2] | p[n-1])
	}
	if acc&0x8080808080808080 == 0 || utf8.ValidString(s) {
		return s
	}
	return strings.ToValidUTF8(s, "\uFFFD")
}
