package registry

import (
	"fmt"
	"path"
	"regexp"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/posml/posml"
)

// Limits of MLflow's registry validation (mlflow/utils/validation.py).
const (
	MaxTagKeyLength   = 250
	MaxTagValueLength = 5000
	MaxAliasLength    = 255
)

func invalid(format string, a ...any) error {
	return posml.Errorf(posml.KindInvalid, fmt.Sprintf(format, a...))
}

// ErrModelNotFound is MLflow's error for a registered model that does not
// exist (HTTP 404 RESOURCE_DOES_NOT_EXIST).
func ErrModelNotFound(name string) error {
	return posml.Errorf(posml.KindNotFound, "Registered Model with name="+name+" not found")
}

// ErrModelExists is MLflow's error for a name that is taken (HTTP 400
// RESOURCE_ALREADY_EXISTS).
func ErrModelExists(name string) error {
	return posml.Errorf(posml.KindExists, "Registered Model (name="+name+") already exists.")
}

// ErrVersionNotFound is MLflow's error for a model version that does not
// exist or was deleted (HTTP 404 RESOURCE_DOES_NOT_EXIST).
func ErrVersionNotFound(name string, version int64) error {
	return posml.Errorf(posml.KindNotFound, fmt.Sprintf("Model Version (name=%s, version=%d) not found", name, version))
}

// ErrAliasNotFound is MLflow's error for an alias that is not set: HTTP 400
// INVALID_PARAMETER_VALUE, not a 404.
func ErrAliasNotFound(alias string) error {
	return posml.Errorf(posml.KindInvalid, "Registered model alias "+alias+" not found.")
}

// ValidateModelName checks a registered model name: it must not be empty.
// MLflow's SQL store accepts any other string.
func ValidateModelName(name string) error {
	if name == "" {
		return invalid("Registered model name cannot be empty.")
	}
	return nil
}

// ParseVersion reads a version number the way MLflow's int() does: blanks
// around it, a sign, and underscores between digits are allowed.
func ParseVersion(s string) (int64, error) {
	t := strings.TrimFunc(s, unicode.IsSpace)
	sign := ""
	if t != "" && (t[0] == '+' || t[0] == '-') {
		sign, t = t[:1], t[1:]
	}
	ok := t != ""
	var digits strings.Builder
	for i := 0; ok && i < len(t); i++ {
		c := t[i]
		switch {
		case c >= '0' && c <= '9':
			digits.WriteByte(c)
		case c == '_' && i > 0 && i+1 < len(t) && t[i-1] != '_' && t[i+1] >= '0' && t[i+1] <= '9':
		default:
			ok = false
		}
	}
	if ok {
		n, err := strconv.ParseInt(sign+digits.String(), 10, 64)
		if err == nil {
			return n, nil
		}
	}
	return 0, invalid("Model version must be an integer, got '%s'", s)
}

var (
	aliasPattern        = regexp.MustCompile(`^[\p{L}\p{N}_\-]*$`)
	versionAliasPattern = regexp.MustCompile(`^[vV]\p{Nd}+$`)
	tagKeyPattern       = regexp.MustCompile(`^[/\p{L}\p{N}_.\- ]*$`)
)

// ValidateAlias checks an alias name: letters, digits, underscores and
// dashes, at most 255 characters, and neither "latest" nor "v<digits>",
// which models:/ URIs use for other things.
func ValidateAlias(alias string) error {
	if alias == "" {
		return invalid("Registered model alias name cannot be empty.")
	}
	if !aliasPattern.MatchString(alias) {
		return invalid("Invalid alias name: '%s'. Names may only contain alphanumerics, underscores (_), and dashes (-).", alias)
	}
	if err := validateLength("Registered model alias name", MaxAliasLength, alias); err != nil {
		return err
	}
	if strings.ToLower(alias) == "latest" {
		return invalid("'latest' alias name (case insensitive) is reserved.")
	}
	if versionAliasPattern.MatchString(alias) {
		return invalid("Version alias name '%s' is reserved.", alias)
	}
	return nil
}

// ValidateRegisteredModelTag checks a tag of a registered model.
func ValidateRegisteredModelTag(t Tag) error {
	if err := validateTagName(t.Key); err != nil {
		return err
	}
	if err := validateLength("Registered model key", MaxTagKeyLength, t.Key); err != nil {
		return err
	}
	return validateLength("Registered model value", MaxTagValueLength, t.Value)
}

// ValidateModelVersionTag checks a tag of a model version.
func ValidateModelVersionTag(t Tag) error {
	if err := validateTagName(t.Key); err != nil {
		return err
	}
	if err := validateLength("Model version key", MaxTagKeyLength, t.Key); err != nil {
		return err
	}
	return validateLength("Model version value", MaxTagValueLength, t.Value)
}

// ValidateTagKey checks the key of a tag being deleted.
func ValidateTagKey(key string) error { return validateTagName(key) }

func validateTagName(name string) error {
	if !tagKeyPattern.MatchString(name) {
		return invalid("Invalid tag name: '%s'. Names may only contain alphanumerics, underscores (_), dashes (-), periods (.), spaces ( ), and slashes (/).", name)
	}
	if norm := normpath(name); norm != name || norm == "." || strings.HasPrefix(norm, "..") || strings.HasPrefix(norm, "/") {
		return invalid("Invalid tag name: '%s'. Names may be treated as files in certain cases, and must not resolve to other names when treated as such. This name would resolve to '%s'", name, norm)
	}
	return nil
}

// normpath is Python's posixpath.normpath: unlike path.Clean it keeps a
// leading "//" and maps "" to ".".
func normpath(p string) string {
	if p == "" {
		return "."
	}
	c := path.Clean(p)
	if strings.HasPrefix(p, "//") && !strings.HasPrefix(p, "///") {
		c = "/" + c
	}
	return c
}

func validateLength(entity string, limit int, value string) error {
	n := utf8.RuneCountInString(value)
	if n <= limit {
		return nil
	}
	shown := value
	if n > 250 {
		shown = string([]rune(value)[:250])
	}
	return invalid("%s '%s' had length %d, which exceeded length limit of %d", entity, shown, n, limit)
}
