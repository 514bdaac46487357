// A static Go program (CGO_ENABLED=0): several PT_LOAD segments, a runtime, goroutines.
package main

import (
	"fmt"
	"os"
)

func main() {
	done := make(chan string)
	go func() { done <- "hello from Go" }()
	fmt.Println(<-done)
	os.Exit(5)
}
