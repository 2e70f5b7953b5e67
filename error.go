package posml

import "errors"

// Kind classifies an error so that each edge (MLflow API, REST API, CLI) can
// translate it into its own status code.
type Kind uint8

// The error kinds.
const (
	KindInternal Kind = iota
	KindInvalid
	KindNotFound
	KindExists
	KindConflict
)

// String names the kind.
func (k Kind) String() string {
	switch k {
	case KindInvalid:
		return "invalid"
	case KindNotFound:
		return "not found"
	case KindExists:
		return "exists"
	case KindConflict:
		return "conflict"
	default:
		return "internal"
	}
}

// Error is an error with a kind and a message meant for the user.
type Error struct {
	Kind Kind
	Msg  string
	Err  error // optional cause
}

func (e *Error) Error() string {
	if e.Err != nil {
		return e.Msg + ": " + e.Err.Error()
	}
	return e.Msg
}

// Unwrap returns the cause.
func (e *Error) Unwrap() error { return e.Err }

// Is makes errors.Is(err, ErrNotFound) true for any not-found error.
func (e *Error) Is(target error) bool {
	t, ok := target.(*Error)
	return ok && t.Msg == "" && t.Kind == e.Kind
}

// Errorf builds an *Error of the given kind.
func Errorf(k Kind, msg string) *Error { return &Error{Kind: k, Msg: msg} }

// Sentinels to wrap with %w or compare with errors.Is.
var (
	ErrNotFound = &Error{Kind: KindNotFound}
	ErrInvalid  = &Error{Kind: KindInvalid}
	ErrExists   = &Error{Kind: KindExists}
	ErrConflict = &Error{Kind: KindConflict}
)

// KindOf reports the kind of err: the kind of the first *Error in its chain,
// else KindInternal.
func KindOf(err error) Kind {
	var e *Error
	if errors.As(err, &e) {
		return e.Kind
	}
	return KindInternal
}
