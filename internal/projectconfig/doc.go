// Package projectconfig loads and validates a project's configuration:
// src/config.yaml, written by the user, with the optional config.yaml at the
// project root, written by the platform, merged over it the way the
// project's src/config.py merges them for train.py.
//
// Load reports every problem at once as posml.Diagnostic values that name
// the file, line and column of the effective value, the field path, what is
// wrong and how to fix it. Values are read the way Python's yaml.safe_load
// reads them (YAML 1.1: yes is a boolean, 0755 is octal), because that is
// what the user's code sees; where that differs from the text (an unquoted
// 2023-01-09 00:00:00 is a datetime to Python), the fields posml schedules
// from use the text as written.
//
// It depends on the standard library, gopkg.in/yaml.v3, posml, and posml's
// strptime and schedule packages; it does no I/O beyond reading the two
// files.
package projectconfig
