package scaffold

// CONTRACT STUB — replaced by the real implementation. Keep the exported API.

import "errors"

// Write creates a new project called name in dir (dir must not exist or be
// empty). It returns the paths written, relative to dir.
func Write(dir, name string) ([]string, error) {
	return nil, errors.New("scaffold: not implemented yet")
}
