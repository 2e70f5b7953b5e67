package cli

import (
	"context"
	"errors"
	"fmt"
	"io"

	"github.com/spf13/cobra"
)

// version is set at build time with -ldflags "-X github.com/posml/posml/internal/cli.version=...".
var version = "0.1.0-dev"

// Version returns posml's version string.
func Version() string { return version }

// exitError carries an exit code whose message has already been printed (or
// needs none), e.g. "validation failed".
type exitError struct {
	code int
	msg  string
}

func (e *exitError) Error() string { return e.msg }

// ExitCode maps the error Run returned to a process exit code: 0 for nil, the
// code of an exit error, 2 for usage errors, 1 otherwise.
func ExitCode(err error) int {
	if err == nil {
		return 0
	}
	var ee *exitError
	if errors.As(err, &ee) {
		return ee.code
	}
	var ue *usageError
	if errors.As(err, &ue) {
		return 2
	}
	return 1
}

type usageError struct{ err error }

func (e *usageError) Error() string { return e.err.Error() }
func (e *usageError) Unwrap() error { return e.err }

// env is what every command gets from the process: streams and environment.
type env struct {
	stdin          io.Reader
	stdout, stderr io.Writer
	getenv         func(string) string
}

// Run runs the posml command line with args (without the program name). It
// reports errors on stderr itself; the caller only turns the returned error
// into an exit code with ExitCode.
func Run(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer, getenv func(string) string) error {
	e := &env{stdin: stdin, stdout: stdout, stderr: stderr, getenv: getenv}
	root := newRootCmd(e)
	root.SetArgs(args)
	root.SetIn(stdin)
	root.SetOut(stdout)
	root.SetErr(stderr)
	err := root.ExecuteContext(ctx)
	if err == nil {
		return nil
	}
	var ee *exitError
	if errors.As(err, &ee) {
		if ee.msg != "" {
			fmt.Fprintln(stderr, "posml: "+ee.msg)
		}
		return err
	}
	fmt.Fprintln(stderr, "posml: "+err.Error())
	var ue *usageError
	if errors.As(err, &ue) {
		fmt.Fprintln(stderr, "Run 'posml --help' for usage.")
	}
	return err
}

func newRootCmd(e *env) *cobra.Command {
	root := &cobra.Command{
		Use:           "posml",
		Short:         "posml: scheduled ML training pipelines with an MLflow-compatible tracking server",
		Version:       version,
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.SetFlagErrorFunc(func(_ *cobra.Command, err error) error { return &usageError{err} })
	for _, c := range commands {
		root.AddCommand(c(e))
	}
	return root
}

// commands lists the subcommand constructors; each file of this package
// registers its own in an init function, so that adding a command touches one
// file.
var commands []func(*env) *cobra.Command

func register(c func(*env) *cobra.Command) { commands = append(commands, c) }
