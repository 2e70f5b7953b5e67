// Command posml is the posml platform in one binary: see README.md.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"
	_ "time/tzdata" // time zones must not depend on the host

	"github.com/posml/posml/internal/cli"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := cli.Run(ctx, os.Args[1:], os.Stdin, os.Stdout, os.Stderr, os.Getenv)
	stop() // not deferred: os.Exit skips defers
	os.Exit(cli.ExitCode(err))
}
