// The pod sandbox process of the kubelet node (dev/kubelet): it holds the pod's namespaces, reaps the zombies
// handed to it as PID 1, and exits on SIGTERM or SIGINT. Built static by dev/kubelet/install.sh and packed into a
// one-layer image (dev/kubelet/oci.ts), so containerd needs no registry for its sandbox image.
package main

import (
	"os"
	"os/signal"
	"syscall"
)

func main() {
	sigs := make(chan os.Signal, 8)
	signal.Notify(sigs, syscall.SIGTERM, syscall.SIGINT, syscall.SIGCHLD)
	for s := range sigs {
		if s != syscall.SIGCHLD {
			os.Exit(0)
		}
		for {
			var ws syscall.WaitStatus
			pid, err := syscall.Wait4(-1, &ws, syscall.WNOHANG, nil)
			if pid <= 0 || err != nil {
				break
			}
		}
	}
}
