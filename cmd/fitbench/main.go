// Command fitbench tells whether a Hugging Face GGUF model fits your GPU, installs
// it, and benchmarks it. main only dispatches; each subcommand lives in its own file.
package main

import (
	"os"
)

func main() {
	os.Exit(run(os.Args[1:], os.Stdin, os.Stdout, os.Stderr))
}
