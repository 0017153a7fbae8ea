// Command pause is the sandbox process of every pod on the test node: it holds the pod's
// namespaces open and exits on SIGTERM or SIGINT, like Kubernetes' own pause image.
package main

import (
	"os"
	"os/signal"
	"syscall"
)

func main() {
	signals := make(chan os.Signal, 1)
	signal.Notify(signals, syscall.SIGTERM, syscall.SIGINT)
	<-signals
}
