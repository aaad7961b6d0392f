// Package procmem reads and trims this process's memory: the resident set
// split into anonymous and file-backed pages, the container's memory limit,
// and the pages of the executable that only start-up touched.
//
// Why the executable matters: `ward` is one binary of about 110 MB that also
// holds the Kubernetes client, the Azure SDK and the CLI. Go runs every
// linked package's init at start, whichever subcommand runs, and each page
// fault on the binary maps the 64 KiB around it (the kernel's fault-around).
// Before main runs, `ward serve` thus has about 40 MiB of the binary mapped,
// most of it code and tables `serve` never uses again. Those pages are clean
// copies of the file: dropping them from this process's page tables loses
// nothing (the kernel may evict them under pressure at any time anyway), and
// the ones serving needs come back on first use.
package procmem
