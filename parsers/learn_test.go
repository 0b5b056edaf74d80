package parsers

import (
	"testing"
	"time"

	"github.com/obsadapter/obsadapter/record"
)

// TestLearnedTimestamps reads one line per timestamp family the learner must
// know, anywhere among the header's first tokens, with the clock at
// 2026-12-03T12:00:00Z and zone-less times in UTC.
func TestLearnedTimestamps(t *testing.T) {
	utc := func(y, mo, d, h, mi, s, ns int) time.Time {
		return time.Date(y, time.Month(mo), d, h, mi, s, ns, time.UTC)
	}
	cases := []struct {
		name, line string
		want       time.Time
		level      record.Level
	}{
		{"rfc3339 T zone", "2026-12-03T07:14:05.123+02:00 WARN x: y", utc(2026, 12, 3, 5, 14, 5, 123e6), record.LevelWarn},
		{"iso space comma fraction", "2026-12-03 07:14:05,123 ERROR [main] x: y", utc(2026, 12, 3, 7, 14, 5, 123e6), record.LevelError},
		{"iso trailing comma", "2026-12-03 07:14:05, Info                  CBS    y", utc(2026, 12, 3, 7, 14, 5, 0), record.LevelInfo},
		{"iso trailing colon", "2026-12-03 07:14:05: ERROR y z", utc(2026, 12, 3, 7, 14, 5, 0), record.LevelError},
		{"compact yyMMdd HHmmss", "161203 071405 4187 INFO storage.BlockReceiver: y", utc(2016, 12, 3, 7, 14, 5, 0), record.LevelInfo},
		{"compact yyyyMMdd HHmmss", "20261203 071405 INFO y z", utc(2026, 12, 3, 7, 14, 5, 0), record.LevelInfo},
		{"yy/MM/dd", "26/12/03 07:14:05 ERROR scheduler.TaskSetManager: y", utc(2026, 12, 3, 7, 14, 5, 0), record.LevelError},
		{"yyyy/MM/dd", "2026/12/03 07:14:05 kid1 WARN y z", utc(2026, 12, 3, 7, 14, 5, 0), record.LevelWarn},
		{"yyyy.MM.dd", "2026.12.03 07:14:05 WARN y z", utc(2026, 12, 3, 7, 14, 5, 0), record.LevelWarn},
		{"dd.MM.yyyy", "03.12.2026 07:14:05 WARN y z", utc(2026, 12, 3, 7, 14, 5, 0), record.LevelWarn},
		{"dd/MM/yyyy by value", "28/11/2026 07:14:05 ERROR y z", utc(2026, 11, 28, 7, 14, 5, 0), record.LevelError},
		{"MM/dd/yyyy by value", "11/28/2026 07:14:05 ERROR y z", utc(2026, 11, 28, 7, 14, 5, 0), record.LevelError},
		{"ambiguous day and month: nearest the clock", "03/12/2026 07:14:05 ERROR y z", utc(2026, 12, 3, 7, 14, 5, 0), record.LevelError},
		{"db2", "2026-12-03-07.14.05.123456 ERROR y z", utc(2026, 12, 3, 7, 14, 5, 123456e3), record.LevelError},
		{"yyyyMMdd-HH:mm:ss:SSS", "20261203-07:14:05:123 INFO y z", utc(2026, 12, 3, 7, 14, 5, 123e6), record.LevelInfo},
		{"month name no year", "Dec  3 07:14:05 host app: ERROR y", utc(2026, 12, 3, 7, 14, 5, 0), record.LevelError},
		{"dd MMM yyyy", "03 Dec 2026 07:14:05 WARN y z", utc(2026, 12, 3, 7, 14, 5, 0), record.LevelWarn},
		{"weekday ctime", "Thu Dec 03 07:14:05 2026 [error] y z", utc(2026, 12, 3, 7, 14, 5, 0), record.LevelError},
		{"dd-MMM-yyyy", "03-Dec-2026 07:14:05.123 SEVERE [main] org.x.Y.z y", utc(2026, 12, 3, 7, 14, 5, 123e6), record.LevelError},
		{"month day year AM/PM", "Dec 03, 2026 7:14:05 PM org.apache.catalina.startup.Catalina start", utc(2026, 12, 3, 19, 14, 5, 0), record.LevelNone},
		{"MM-dd no year", "03-17 16:13:38.811  1234  5678 I Tag: y", utc(2026, 3, 17, 16, 13, 38, 811e6), record.LevelInfo},
		{"MM.dd no year, never the future", "12.10 07:14:05 WARN y z", utc(2025, 12, 10, 7, 14, 5, 0), record.LevelWarn},
		{"SSS after colon", "[12/3/26 7:14:05:123 UTC] 00000001 WsServerImpl  I   WSVR0001I: y", utc(2026, 12, 3, 7, 14, 5, 123e6), record.LevelInfo},
		{"epoch seconds", "1796282045 INFO y z", time.Unix(1796282045, 0).UTC(), record.LevelInfo},
		{"epoch millis", "1796282045123 WARN y z", time.UnixMilli(1796282045123).UTC(), record.LevelWarn},
		{"epoch micros", "1796282045123456 ERROR y z", time.UnixMicro(1796282045123456).UTC(), record.LevelError},
		{"time after a node name", "web-1  | 2026-12-03 07:14:05,123 WARNING [app.db] y", utc(2026, 12, 3, 7, 14, 5, 123e6), record.LevelWarn},
		{"time after a file name", "/var/log/w.log:2026-12-03T07:14:05.123Z ERROR worker: y", utc(2026, 12, 3, 7, 14, 5, 123e6), record.LevelError},
		{"level before time", "INFO  [main] 2026-12-03 07:14:05,123 Foo.java:42 - y", utc(2026, 12, 3, 7, 14, 5, 123e6), record.LevelInfo},
		{"two times: the zoned one", "1796282045 2026-12-03 09:14:05 INFO y z", time.Unix(1796282045, 0).UTC(), record.LevelInfo},
		{"lower-case level", "2026-12-03 07:14:05 warning: y z", utc(2026, 12, 3, 7, 14, 5, 0), record.LevelWarn},
		{"level in the message is not a level", "2026-12-03 07:14:05 no error found", utc(2026, 12, 3, 7, 14, 5, 0), record.LevelNone},
		{"plain word then level word", "2026-12-03 07:14:05 Server error occurred", utc(2026, 12, 3, 7, 14, 5, 0), record.LevelNone},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			p := &parser{loc: time.UTC, now: layoutClock, det: &detector{}}
			var r record.Record
			if !parseLearned(p, tc.line, &r) {
				t.Fatalf("not learned: %q", tc.line)
			}
			if !r.Time.Equal(tc.want) || r.Level() != tc.level {
				t.Fatalf("%q: got %v %v, want %v %v (layout %s)", tc.line, r.Time.UTC(), r.Level(), tc.want, tc.level, p.det.learn.cur.String())
			}
		})
	}
}
