// Command probe reports, one line each, the identity it runs as and what it may do with each path
// given as an argument: "uid 65532 gid 65532 groups []", then for DIR "DIR ok" if it can create a
// file there, and for read:FILE "read FILE ok" if it can read FILE; the error otherwise.
package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

func main() {
	groups, _ := os.Getgroups()
	fmt.Printf("uid %d gid %d groups %v\n", os.Getuid(), os.Getgid(), groups)
	for _, arg := range os.Args[1:] {
		if file, ok := strings.CutPrefix(arg, "read:"); ok {
			if _, err := os.ReadFile(file); err != nil {
				fmt.Printf("read %s %v\n", file, err)
			} else {
				fmt.Printf("read %s ok\n", file)
			}
			continue
		}
		f, err := os.Create(filepath.Join(arg, "probe-write"))
		if err != nil {
			fmt.Printf("%s %v\n", arg, err)
			continue
		}
		f.Close()
		fmt.Printf("%s ok\n", arg)
	}
}
