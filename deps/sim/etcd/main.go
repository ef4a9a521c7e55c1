// etcd for the simulated cluster (ktsw sim), built from the Go module proxy: Debian's etcd 3.4 lacks the watch
// progress notifications that current client-go informers rely on. This is etcd's own main, nothing more.
package main

import (
	"os"

	"go.etcd.io/etcd/server/v3/etcdmain"
)

func main() { etcdmain.Main(os.Args) }
