package runner

import (
	"context"
	"fmt"
	"path/filepath"
	"sync"

	"github.com/posml/posml"
	"github.com/posml/posml/internal/gitrepo"
	"github.com/posml/posml/internal/pipeline"
)

// GitSource checks commits out of the bare clones the project registry
// keeps, one per project in Dir/<project id>.
type GitSource struct {
	Git *gitrepo.Git // nil: the zero gitrepo.Git
	Dir string
	// Refresh, when set, clones or fetches the project's clone in Dir
	// (*projects.Service.Refresh): a checkout that finds no clone, or no
	// such commit in it, calls it and tries once more. Replicas keep their
	// own clones, which miss what another replica registered or fetched.
	Refresh func(ctx context.Context, project pipeline.ProjectID) error

	mu    sync.Mutex
	repos map[pipeline.ProjectID]*gitrepo.Repo
}

// Checkout writes the tree of commit into dest (see gitrepo.Repo.Checkout).
// A checkout reads the clone only: it needs no credentials.
func (s *GitSource) Checkout(ctx context.Context, project pipeline.ProjectID, commit, dest string) error {
	err := s.checkout(ctx, project, commit, dest)
	if s.Refresh == nil || posml.KindOf(err) != posml.KindNotFound {
		return err
	}
	if rerr := s.Refresh(ctx, project); rerr != nil {
		return fmt.Errorf("%w (refreshing the clone: %v)", err, rerr)
	}
	return s.checkout(ctx, project, commit, dest)
}

func (s *GitSource) checkout(ctx context.Context, project pipeline.ProjectID, commit, dest string) error {
	r, err := s.repo(ctx, project)
	if err != nil {
		return err
	}
	return r.Checkout(ctx, commit, dest)
}

func (s *GitSource) repo(ctx context.Context, id pipeline.ProjectID) (*gitrepo.Repo, error) {
	s.mu.Lock()
	r := s.repos[id]
	s.mu.Unlock()
	if r != nil {
		return r, nil
	}
	g := s.Git
	if g == nil {
		g = &gitrepo.Git{}
	}
	r, err := g.Open(ctx, filepath.Join(s.Dir, id.String()), gitrepo.Auth{})
	if err != nil {
		return nil, err
	}
	s.mu.Lock()
	if s.repos == nil {
		s.repos = map[pipeline.ProjectID]*gitrepo.Repo{}
	}
	s.repos[id] = r
	s.mu.Unlock()
	return r, nil
}
