// Package cli is the posml command line: it parses flags, builds the parts of
// posml from them and runs them. It is the only package that knows about
// flags, environment variables and exit codes; everything below it receives
// plain values.
package cli
