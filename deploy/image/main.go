// Command image writes the obsadapter container image as an OCI image archive without a Docker engine:
// one layer holding the static binary at /obsadapter, passwd and group entries for 65532 "nonroot",
// /tmp and the state directory /var/lib/obsadapter owned by 65532; the config runs /obsadapter run as
// 65532:65532 and exposes 9725/tcp. Every timestamp is fixed (-created, default $SOURCE_DATE_EPOCH or
// the Unix epoch), so the same binary always gives the same image digest.
//
//	VERSION=1.2.3 GOOS=linux GOARCH=arm64 deploy/build-binary.sh /tmp/obsadapter
//	cd deploy && go run ./image -binary /tmp/obsadapter -arch arm64 -version 1.2.3 -out image.tar
//	skopeo copy oci-archive:image.tar docker://registry.example/obsadapter:1.2.3
package main

import (
	"flag"
	"fmt"
	"os"
	"runtime"
	"strconv"
	"time"
)

func main() {
	if err := run(os.Args[1:]); err != nil {
		fmt.Fprintln(os.Stderr, "image:", err)
		os.Exit(1)
	}
}

func run(args []string) error {
	fs := flag.NewFlagSet("image", flag.ContinueOnError)
	var o options
	fs.StringVar(&o.Binary, "binary", "", "static linux obsadapter binary (from deploy/build-binary.sh)")
	fs.StringVar(&o.Arch, "arch", runtime.GOARCH, "image architecture: amd64 or arm64")
	fs.StringVar(&o.Version, "version", "dev", "version label and tag")
	fs.StringVar(&o.Revision, "revision", "unknown", "source revision label")
	out := fs.String("out", "image.tar", "output OCI archive")
	name := fs.String("name", "obsadapter", "image name recorded in the archive for docker/podman load")
	epoch := fs.String("created", os.Getenv("SOURCE_DATE_EPOCH"), "creation time, Unix seconds (default $SOURCE_DATE_EPOCH, else 0)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if o.Binary == "" || fs.NArg() > 0 {
		return fmt.Errorf("usage: image -binary PATH [-arch amd64|arm64] [-version V] [-revision R] [-out image.tar]")
	}
	o.Created = time.Unix(0, 0)
	if *epoch != "" {
		secs, err := strconv.ParseInt(*epoch, 10, 64)
		if err != nil {
			return fmt.Errorf("-created %q: want Unix seconds", *epoch)
		}
		o.Created = time.Unix(secs, 0)
	}
	img, err := build(o)
	if err != nil {
		return err
	}
	f, err := os.Create(*out)
	if err != nil {
		return err
	}
	if err := writeOCIArchive(f, img, *name, o.Version, o.Created); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}
