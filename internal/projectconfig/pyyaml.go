package projectconfig

import (
	"encoding/base64"
	"errors"
	"fmt"
	"math"
	"math/big"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// pyTag is the type PyYAML's yaml.safe_load gives a node: what train.py sees
// through the project's config.py. It follows PyYAML's YAML 1.1 rules, not
// yaml.v3's: yes/no/on/off are booleans, 0755 is octal, 1:30 is 90, an
// unquoted 2023-01-09 00:00:00 is a datetime, and 1e5 is a string.
type pyTag uint8

const (
	tagStr pyTag = iota
	tagInt
	tagFloat
	tagBool
	tagNull
	tagTimestamp
	tagBinary
	tagSeq
	tagMap
	tagMerge   // the << key of a merge
	tagInvalid // something safe_load fails on; the builder reports why
)

// What a value of each tag is called in messages.
var tagNames = [...]string{
	tagStr:       "a string",
	tagInt:       "an integer",
	tagFloat:     "a number",
	tagBool:      "a boolean",
	tagNull:      "empty",
	tagTimestamp: "a date",
	tagBinary:    "binary data",
	tagSeq:       "a list",
	tagMap:       "a mapping",
	tagMerge:     "a merge key",
	tagInvalid:   "unreadable",
}

func (t pyTag) String() string { return tagNames[t] }

// PyYAML's implicit resolvers (yaml/resolver.py), tried in this order on a
// plain scalar.
var (
	reBool  = regexp.MustCompile(`^(?:yes|Yes|YES|no|No|NO|true|True|TRUE|false|False|FALSE|on|On|ON|off|Off|OFF)$`)
	reFloat = regexp.MustCompile(`^(?:[-+]?(?:[0-9][0-9_]*)\.[0-9_]*(?:[eE][-+][0-9]+)?` +
		`|\.[0-9][0-9_]*(?:[eE][-+][0-9]+)?` +
		`|[-+]?[0-9][0-9_]*(?::[0-5]?[0-9])+\.[0-9_]*` +
		`|[-+]?\.(?:inf|Inf|INF)` +
		`|\.(?:nan|NaN|NAN))$`)
	reInt = regexp.MustCompile(`^(?:[-+]?0b[0-1_]+` +
		`|[-+]?0[0-7_]+` +
		`|[-+]?(?:0|[1-9][0-9_]*)` +
		`|[-+]?0x[0-9a-fA-F_]+` +
		`|[-+]?[1-9][0-9_]*(?::[0-5]?[0-9])+)$`)
	reNull      = regexp.MustCompile(`^(?:~|null|Null|NULL|)$`)
	reTimestamp = regexp.MustCompile(`^(?:[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9]` +
		`|[0-9][0-9][0-9][0-9]-[0-9][0-9]?-[0-9][0-9]?` +
		`(?:[Tt]|[ \t]+)[0-9][0-9]?:[0-9][0-9]:[0-9][0-9](?:\.[0-9]*)?` +
		`(?:[ \t]*(?:Z|[-+][0-9][0-9]?(?::[0-9][0-9])?))?)$`)
	// The constructor's own expression, with groups (yaml/constructor.py).
	reTimestampParts = regexp.MustCompile(`^([0-9][0-9][0-9][0-9])-([0-9][0-9]?)-([0-9][0-9]?)` +
		`(?:(?:[Tt]|[ \t]+)([0-9][0-9]?):([0-9][0-9]):([0-9][0-9])(?:\.([0-9]*))?` +
		`(?:[ \t]*(Z|([-+])([0-9][0-9]?)(?::([0-9][0-9]))?))?)?$`)
)

var errUnreadable = errors.New("unreadable")

// resolvePlain returns the tag PyYAML gives a plain (unquoted, untagged)
// scalar.
func resolvePlain(s string) pyTag {
	switch {
	case reBool.MatchString(s):
		return tagBool
	case reFloat.MatchString(s):
		return tagFloat
	case reInt.MatchString(s):
		return tagInt
	case s == "<<":
		return tagMerge
	case reNull.MatchString(s):
		return tagNull
	case reTimestamp.MatchString(s):
		return tagTimestamp
	case s == "=":
		// tag:yaml.org,2002:value, for which safe_load has no constructor.
		return tagInvalid
	}
	return tagStr
}

// constructScalar converts a scalar's text the way SafeConstructor does for
// tag t. The error is what makes safe_load fail.
func constructScalar(t pyTag, s string) (any, error) {
	switch t {
	case tagStr:
		return s, nil
	case tagNull:
		return nil, nil
	case tagBool:
		switch strings.ToLower(s) {
		case "yes", "true", "on":
			return true, nil
		case "no", "false", "off":
			return false, nil
		}
		return nil, fmt.Errorf("%q is not a YAML boolean", s)
	case tagInt:
		return constructInt(s)
	case tagFloat:
		return constructFloat(s)
	case tagTimestamp:
		return constructTimestamp(s)
	case tagBinary:
		b, err := base64.StdEncoding.DecodeString(strings.Join(strings.Fields(s), ""))
		if err != nil {
			return nil, fmt.Errorf("failed to decode base64 data: %v", err)
		}
		return b, nil
	}
	return nil, errUnreadable
}

// constructInt is SafeConstructor.construct_yaml_int. It returns an int, or
// a *big.Int when the value does not fit.
func constructInt(s string) (any, error) {
	v := strings.ReplaceAll(s, "_", "")
	if v == "" {
		return nil, fmt.Errorf("invalid literal for int(): %q", s)
	}
	sign := int64(1)
	if v[0] == '-' {
		sign = -1
	}
	if v[0] == '+' || v[0] == '-' {
		v = v[1:]
	}
	n := new(big.Int)
	ok := true
	switch {
	case v == "0":
	case strings.HasPrefix(v, "0b"):
		_, ok = n.SetString(v[2:], 2)
	case strings.HasPrefix(v, "0x"):
		_, ok = n.SetString(v[2:], 16)
	case strings.HasPrefix(v, "0"):
		_, ok = n.SetString(v, 8)
	case strings.Contains(v, ":"):
		for _, part := range strings.Split(v, ":") {
			d, err := strconv.ParseInt(part, 10, 64)
			if err != nil {
				return nil, fmt.Errorf("invalid literal for int(): %q", s)
			}
			n.Mul(n, big.NewInt(60))
			n.Add(n, big.NewInt(d))
		}
	default:
		_, ok = n.SetString(v, 10)
	}
	if !ok {
		return nil, fmt.Errorf("invalid literal for int(): %q", s)
	}
	n.Mul(n, big.NewInt(sign))
	if n.IsInt64() && n.Int64() >= math.MinInt && n.Int64() <= math.MaxInt {
		return int(n.Int64()), nil
	}
	return n, nil
}

// constructFloat is SafeConstructor.construct_yaml_float.
func constructFloat(s string) (any, error) {
	v := strings.ToLower(strings.ReplaceAll(s, "_", ""))
	if v == "" {
		return nil, fmt.Errorf("could not convert string to float: %q", s)
	}
	sign := 1.0
	if v[0] == '-' {
		sign = -1
	}
	if v[0] == '+' || v[0] == '-' {
		v = v[1:]
	}
	switch {
	case v == ".inf":
		return sign * math.Inf(1), nil
	case v == ".nan":
		return math.NaN(), nil
	case strings.Contains(v, ":"):
		f := 0.0
		for _, part := range strings.Split(v, ":") {
			d, err := strconv.ParseFloat(part, 64)
			if err != nil {
				return nil, fmt.Errorf("could not convert string to float: %q", s)
			}
			f = f*60 + d
		}
		return sign * f, nil
	}
	f, err := strconv.ParseFloat(v, 64)
	if err != nil && !errors.Is(err, strconv.ErrRange) {
		return nil, fmt.Errorf("could not convert string to float: %q", s)
	}
	return sign * f, nil
}

// constructTimestamp is SafeConstructor.construct_yaml_timestamp: a date
// becomes midnight UTC (Python's datetime.date), a naive datetime a time in
// UTC, and one with an offset a time in a fixed zone.
func constructTimestamp(s string) (any, error) {
	m := reTimestampParts.FindStringSubmatch(s)
	if m == nil {
		return nil, fmt.Errorf("%q is not a YAML timestamp", s)
	}
	num := func(i int) int { n, _ := strconv.Atoi(m[i]); return n }
	year, month, day := num(1), num(2), num(3)
	if year < 1 {
		return nil, fmt.Errorf("year %d is out of range", year)
	}
	if month < 1 || month > 12 {
		return nil, errors.New("month must be in 1..12")
	}
	if day < 1 || day > time.Date(year, time.Month(month)+1, 0, 0, 0, 0, 0, time.UTC).Day() {
		return nil, errors.New("day is out of range for month")
	}
	if m[4] == "" {
		return time.Date(year, time.Month(month), day, 0, 0, 0, 0, time.UTC), nil
	}
	hour, minute, second := num(4), num(5), num(6)
	switch {
	case hour > 23:
		return nil, errors.New("hour must be in 0..23")
	case minute > 59:
		return nil, errors.New("minute must be in 0..59")
	case second > 59:
		return nil, errors.New("second must be in 0..59")
	}
	frac := m[7]
	if len(frac) > 6 {
		frac = frac[:6]
	}
	micro := 0
	if frac != "" {
		micro, _ = strconv.Atoi(frac + strings.Repeat("0", 6-len(frac)))
	}
	loc := time.UTC
	if m[9] != "" {
		off := num(10)*3600 + num(11)*60
		if off >= 86400 {
			return nil, errors.New("offset must be a timedelta strictly between -timedelta(hours=24) and timedelta(hours=24)")
		}
		if m[9] == "-" {
			off = -off
		}
		loc = time.FixedZone("", off)
	}
	return time.Date(year, time.Month(month), day, hour, minute, second, micro*1000, loc), nil
}
