package otlp

import (
	"encoding/hex"
	"fmt"
	"time"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog/plogotlp"

	"github.com/obsadapter/obsadapter/record"
)

// decoded is one log record as the collector's own data model reads it
// back, turned into a record again, with what has no place in a record.
type decoded struct {
	rec      record.Record
	resource map[string]any
	scope    string // name@version
	traceID  string
	spanID   string
	text     string // severity_text
}

// decodeRequest decodes an ExportLogsServiceRequest with pdata, the
// collector's own wire code, and maps every LogRecord back to a record.
func decodeRequest(data []byte) ([]decoded, int, error) {
	req := plogotlp.NewExportRequest()
	if err := req.UnmarshalProto(data); err != nil {
		return nil, 0, err
	}
	var out []decoded
	rls := req.Logs().ResourceLogs()
	for i := 0; i < rls.Len(); i++ {
		rl := rls.At(i)
		res := rl.Resource().Attributes().AsRaw()
		src, _ := res[attrSource].(string)
		var k8s *record.Kubernetes
		kv := record.Kubernetes{}
		if v, ok := res["k8s.namespace.name"].(string); ok {
			kv.Namespace = v
		}
		if v, ok := res["k8s.pod.name"].(string); ok {
			kv.Pod = v
		}
		if v, ok := res["k8s.container.name"].(string); ok {
			kv.Container = v
		}
		if v, ok := res["k8s.node.name"].(string); ok {
			kv.Node = v
		}
		if kv != (record.Kubernetes{}) {
			k8s = &kv
		}
		sls := rl.ScopeLogs()
		for j := 0; j < sls.Len(); j++ {
			sl := sls.At(j)
			lrs := sl.LogRecords()
			for k := 0; k < lrs.Len(); k++ {
				lr := lrs.At(k)
				d := decoded{resource: res, scope: sl.Scope().Name() + "@" + sl.Scope().Version(), text: lr.SeverityText()}
				r := record.Record{Severity: record.Severity(lr.SeverityNumber()), Message: lr.Body().AsString(),
					Source: src, Kubernetes: k8s, ObservedTime: lr.ObservedTimestamp().AsTime().UTC()}
				if lr.Timestamp() != 0 {
					r.Time = lr.Timestamp().AsTime().UTC()
				}
				if lr.Body().Type() != pcommon.ValueTypeStr {
					return nil, 0, fmt.Errorf("body is %s, not a string", lr.Body().Type())
				}
				if id := lr.TraceID(); !id.IsEmpty() {
					d.traceID = hex.EncodeToString(id[:])
				}
				if id := lr.SpanID(); !id.IsEmpty() {
					d.spanID = hex.EncodeToString(id[:])
				}
				var err error
				lr.Attributes().Range(func(key string, v pcommon.Value) bool {
					switch key {
					case attrFilePath:
						r.Path = v.Str()
					case attrIOStream:
						r.Stream = v.Str()
					case attrFormat:
						r.Format = v.Str()
					case attrTruncated:
						r.Truncated = v.Bool()
					default:
						var fv record.Value
						if fv, err = toValue(v); err != nil {
							return false
						}
						r.Fields = append(r.Fields, record.Field{Key: key, Value: fv})
					}
					return true
				})
				if err != nil {
					return nil, 0, err
				}
				d.rec = r
				out = append(out, d)
			}
		}
	}
	return out, rls.Len(), nil
}

func toValue(v pcommon.Value) (record.Value, error) {
	switch v.Type() {
	case pcommon.ValueTypeStr:
		return record.StringValue(v.Str()), nil
	case pcommon.ValueTypeInt:
		return record.IntValue(v.Int()), nil
	case pcommon.ValueTypeDouble:
		return record.FloatValue(v.Double()), nil
	case pcommon.ValueTypeBool:
		return record.BoolValue(v.Bool()), nil
	case pcommon.ValueTypeEmpty:
		return record.NullValue(), nil
	case pcommon.ValueTypeMap:
		var fs []record.Field
		var err error
		v.Map().Range(func(k string, mv pcommon.Value) bool {
			var fv record.Value
			fv, err = toValue(mv)
			fs = append(fs, record.Field{Key: k, Value: fv})
			return err == nil
		})
		return record.ObjectValue(fs), err
	case pcommon.ValueTypeSlice:
		var vs []record.Value
		s := v.Slice()
		for i := 0; i < s.Len(); i++ {
			fv, err := toValue(s.At(i))
			if err != nil {
				return record.Value{}, err
			}
			vs = append(vs, fv)
		}
		return record.ArrayValue(vs), nil
	}
	return record.Value{}, fmt.Errorf("unexpected value type %s", v.Type())
}

func records(ds []decoded) []record.Record {
	out := make([]record.Record, len(ds))
	for i, d := range ds {
		out[i] = d.rec
	}
	return out
}

var baseTime = time.Date(2026, 11, 23, 20, 31, 2, 123456789, time.UTC)
