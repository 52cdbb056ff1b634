// go_clock FILE: Go's runtime reads the clock through the vDSO it finds in the auxv
// (runtime/vdso_linux.go); time.Now is read 1,000 times, then the FILE's size printed.
package main

import (
	"fmt"
	"os"
	"time"
)

func main() {
	first := time.Now()
	for i := 0; i < 1000; i++ {
		_ = time.Now()
	}
	info, err := os.Stat(os.Args[1])
	if err != nil {
		os.Exit(1)
	}
	fmt.Println(info.Size(), time.Since(first) >= 0)
}
