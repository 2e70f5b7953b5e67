// Package strptime parses dates the way CPython 3.11's datetime.strptime does
// in the C locale, so that a project's date_format and start dates mean in
// posml exactly what they meant to the Python platform it replaces.
//
// It follows CPython's _strptime module: the format is turned into one
// anchored, case-insensitive regular expression built from the same
// per-directive expressions (TimeRE), the match is turned into fields with the
// same rules (defaults 1900-01-01 00:00:00, %I with %p, %j, week and ISO-week
// directives), and errors carry CPython's messages. Deliberate differences:
// %:z is read like %z (Python 3.12+ has it only in strftime), %Z accepts only
// UTC and GMT whatever the host's zone, and a directive used twice is a
// format error with a readable message instead of Python's re.error.
//
// It imports only the standard library and posml's schedule package, whose
// Localize gives a naive result its instant in a time zone (Result.Instant).
package strptime
