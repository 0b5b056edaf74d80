// Command fsink is a Fluentd forward receiver for benchmarks
// (internal/forwardsink: it counts entries and acknowledges chunks without
// decoding them). It exits once it has counted the entries it was given.
//
//	fsink 127.0.0.1:24224 954681
package main

import (
	"fmt"
	"os"
	"strconv"
	"time"

	"github.com/obsadapter/obsadapter/internal/forwardsink"
)

func main() {
	if len(os.Args) != 3 {
		fmt.Fprintln(os.Stderr, "usage: fsink ADDRESS ENTRIES")
		os.Exit(2)
	}
	want, err := strconv.ParseInt(os.Args[2], 10, 64)
	if err != nil {
		fmt.Fprintln(os.Stderr, "fsink:", err)
		os.Exit(2)
	}
	s, err := forwardsink.Listen(os.Args[1], func(err error) { fmt.Fprintln(os.Stderr, "fsink:", err) })
	if err != nil {
		fmt.Fprintln(os.Stderr, "fsink:", err)
		os.Exit(1)
	}
	for !s.WaitEntries(want, time.Hour) {
	}
}
