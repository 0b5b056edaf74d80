// Command fsink is a Fluentd forward receiver for benchmarks: it reads
// PackedForward messages, acknowledges each chunk and counts entries by the
// message's "size" option, without decoding them, so that it takes little
// of the machine the adapter is measured on. It exits once it has counted
// the number of entries it was given.
//
//	fsink 127.0.0.1:24224 954681
package main

import (
	"fmt"
	"net"
	"os"
	"strconv"
	"sync/atomic"

	"github.com/tinylib/msgp/msgp"
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
	ln, err := net.Listen("tcp", os.Args[1])
	if err != nil {
		fmt.Fprintln(os.Stderr, "fsink:", err)
		os.Exit(1)
	}
	var entries atomic.Int64
	done := make(chan struct{})
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				if err := serve(c, &entries, want, done); err != nil {
					fmt.Fprintln(os.Stderr, "fsink:", err)
				}
			}()
		}
	}()
	<-done
}

// serve reads [tag, entries, option] messages until the sender closes,
// and closes done once the count reaches want (after acknowledging).
func serve(c net.Conn, entries *atomic.Int64, want int64, done chan struct{}) error {
	defer c.Close()
	r := msgp.NewReaderSize(c, 256<<10)
	w := msgp.NewWriter(c)
	var packed []byte
	for {
		n, err := r.ReadArrayHeader()
		if err != nil {
			return nil // closed
		}
		if err := r.Skip(); err != nil { // the tag
			return err
		}
		if packed, err = r.ReadBytes(packed[:0]); err != nil {
			return err // the exporter sends PackedForward as bin
		}
		chunk, size := "", int64(0)
		if n > 2 {
			m, err := r.ReadMapHeader()
			if err != nil {
				return err
			}
			for range m {
				k, err := r.ReadString()
				if err != nil {
					return err
				}
				switch k {
				case "chunk":
					chunk, err = r.ReadString()
				case "size":
					size, err = r.ReadInt64()
				default:
					err = r.Skip()
				}
				if err != nil {
					return err
				}
			}
		}
		if chunk != "" {
			w.WriteMapHeader(1)
			w.WriteString("ack")
			w.WriteString(chunk)
			if err := w.Flush(); err != nil {
				return err
			}
		}
		if before := entries.Add(size) - size; before < want && before+size >= want {
			close(done)
		}
	}
}
