package mlflowapi

import (
	"net/http"
	"path"

	"github.com/posml/posml"
	"github.com/posml/posml/internal/artifact"
)

type wireFileInfo struct {
	Path     string `json:"path"`
	IsDir    bool   `json:"is_dir"`
	FileSize *int64 `json:"file_size,omitempty"`
}

// listArtifacts lists a directory of a run's artifacts: the run's
// mlflow-artifacts:/ root is mapped onto the artifact store, and entries are
// returned relative to the run root.
func (h *handler) listArtifacts(r *http.Request) (any, error) {
	var req struct {
		runIDRequest
		Path      *string `json:"path"`
		PageToken string  `json:"page_token"`
	}
	if _, err := decode(r, &req); err != nil {
		return nil, err
	}
	if err := require("run_id", req.id()); err != nil {
		return nil, err
	}
	rel := ""
	if req.Path != nil && *req.Path != "" {
		clean, err := artifact.CleanPath(*req.Path)
		if err != nil {
			return nil, posml.Errorf(posml.KindInvalid, "Invalid path")
		}
		rel = clean
	}
	info, err := h.store.GetRunInfo(r.Context(), req.id())
	if err != nil {
		return nil, err
	}
	var resp struct {
		RootURI string         `json:"root_uri"`
		Files   []wireFileInfo `json:"files,omitempty"`
	}
	resp.RootURI = info.ArtifactURI
	if h.art == nil {
		return resp, nil
	}
	root, err := artifact.PathFromURI(info.ArtifactURI)
	if err != nil {
		return resp, nil // not behind the proxy: nothing the server can list
	}
	dir := root
	if rel != "" {
		dir = root + "/" + rel
	}
	entries, err := h.art.List(r.Context(), dir)
	if err != nil {
		return nil, err
	}
	for _, e := range entries {
		fi := wireFileInfo{Path: e.Path, IsDir: e.IsDir}
		if rel != "" {
			fi.Path = path.Join(rel, e.Path)
		}
		if !e.IsDir {
			size := e.Size
			fi.FileSize = &size
		}
		resp.Files = append(resp.Files, fi)
	}
	return resp, nil
}
