package web

import (
	"encoding/json"
	"io"
	"math"
	"net/http"
	"net/url"
	"path"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/posml/posml"
	"github.com/posml/posml/internal/artifact"
	"github.com/posml/posml/internal/registry"
	"github.com/posml/posml/internal/search"
	"github.com/posml/posml/internal/sqlstore"
	"github.com/posml/posml/internal/tracking"
)

// maxPreview is the largest text artifact shown inline.
const maxPreview = 256 << 10

type runPage struct {
	Nav        string
	Run        tracking.Run
	Exp        tracking.Experiment
	UserTags   []tracking.Tag
	SystemTags []tracking.Tag
	Versions   []registry.ModelVersion // registered from this run
	Artifacts  *artifactsView          // nil: no browser (no store, or not proxied)
	ArtNote    string                  // why there is no browser
}

func (h *handler) run(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	run, err := h.store.GetRun(ctx, r.PathValue("id"))
	if err != nil {
		return err
	}
	exp, err := h.store.GetExperiment(ctx, run.Info.ExperimentID)
	if err != nil {
		return err
	}
	data := runPage{Nav: "experiments", Run: run, Exp: exp}
	slices.SortFunc(data.Run.Metrics, func(a, b tracking.Metric) int { return strings.Compare(a.Key, b.Key) })
	slices.SortFunc(data.Run.Params, func(a, b tracking.Param) int { return strings.Compare(a.Key, b.Key) })
	for _, t := range run.Tags {
		if strings.HasPrefix(t.Key, "mlflow.") {
			data.SystemTags = append(data.SystemTags, t)
		} else {
			data.UserTags = append(data.UserTags, t)
		}
	}
	data.Versions, _, err = h.store.SearchModelVersions(ctx, sqlstore.RegistryQuery{
		Filter:     []search.Clause{{Type: search.KeyAttribute, Key: "run_id", Op: search.OpEq, Str: run.Info.RunID}},
		MaxResults: 50,
	})
	if err != nil {
		return err
	}
	data.Artifacts, err = h.listArtifacts(r, run.Info, r.URL.Query().Get("dir"))
	if err != nil {
		if posml.KindOf(err) != posml.KindInvalid {
			return err
		}
		data.ArtNote = userMessage(err)
	}
	if file := r.URL.Query().Get("file"); file != "" && data.Artifacts != nil {
		if data.Artifacts.Preview, err = h.preview(r, run.Info, file); err != nil {
			return err
		}
	}
	h.render(w, r, http.StatusOK, "run.html", data)
	return nil
}

// series is the chart data of one metric of one run.
type series struct {
	Run   string     `json:"run"`
	Name  string     `json:"name"`
	X     []int64    `json:"x"`
	Y     []*float64 `json:"y"` // null for NaN and ±Inf, which JSON cannot carry
	Total int        `json:"total"`
}

type seriesReply struct {
	Key    string   `json:"key"`
	Series []series `json:"series"`
}

// runSeries answers the chart data of one metric of a run, downsampled.
func (h *handler) runSeries(w http.ResponseWriter, r *http.Request) error {
	// One series: labelled with the metric's key rather than the run.
	info := tracking.RunInfo{RunID: r.PathValue("id"), RunName: r.URL.Query().Get("key")}
	return h.writeSeries(w, r, []tracking.RunInfo{info})
}

func (h *handler) writeSeries(w http.ResponseWriter, r *http.Request, runs []tracking.RunInfo) error {
	key := r.URL.Query().Get("key")
	if key == "" {
		return posml.Errorf(posml.KindInvalid, "Which metric? The key parameter is missing.")
	}
	reply := seriesReply{Key: key, Series: []series{}}
	for _, info := range runs {
		xs, ys, err := h.store.MetricSeries(r.Context(), info.RunID, key)
		if err != nil {
			return err
		}
		s := series{Run: info.RunID, Name: runName(info), Total: len(xs)}
		xs, ys = downsample(xs, ys, maxPoints)
		s.X, s.Y = xs, make([]*float64, len(ys))
		for i := range ys {
			if !math.IsNaN(ys[i]) && !math.IsInf(ys[i], 0) {
				s.Y[i] = &ys[i]
			}
		}
		reply.Series = append(reply.Series, s)
	}
	b, err := json.Marshal(reply)
	if err != nil {
		return err
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	_, err = w.Write(b)
	return err
}

// artifactsView is one directory of a run's artifacts.
type artifactsView struct {
	RunID   string
	Dir     string   // relative to the run's artifact root; "" at the root
	Crumbs  []crumb  // the path to Dir
	Entries []entry  // sorted, directories first
	Preview *preview // the file shown, if any
}

type crumb struct{ Name, Dir string }

type entry struct {
	Name, Path string // Path is relative to the run's root
	IsDir      bool
	Size       int64
	Download   string // URL through the artifact proxy
}

type preview struct {
	Path     string
	Download string
	Text     string // for text files
	Image    string // URL for images
	Note     string // why there is no preview
}

// runRoot is the store path of a run's artifacts, or an invalid error
// saying why they cannot be browsed here.
func (h *handler) runRoot(info tracking.RunInfo) (string, error) {
	if h.art == nil {
		return "", posml.Errorf(posml.KindInvalid, "This server has no artifact store.")
	}
	root, err := artifact.PathFromURI(info.ArtifactURI)
	if err != nil {
		return "", posml.Errorf(posml.KindInvalid, "Artifacts are stored outside this server, at "+info.ArtifactURI+".")
	}
	return root, nil
}

// cleanRel checks a path relative to the run's root.
func cleanRel(p string) (string, error) {
	if strings.Trim(p, "/") == "" {
		return "", nil
	}
	c, err := artifact.CleanPath(strings.Trim(p, "/"))
	if err != nil {
		return "", posml.Errorf(posml.KindInvalid, "Invalid artifact path.")
	}
	return c, nil
}

func join(root, rel string) string {
	if rel == "" {
		return root
	}
	return root + "/" + rel
}

// downloadURL is the proxy URL of a store path.
func downloadURL(storePath string) string {
	segs := strings.Split(storePath, "/")
	for i, s := range segs {
		segs[i] = url.PathEscape(s)
	}
	return "/api/2.0/mlflow-artifacts/artifacts/" + strings.Join(segs, "/")
}

func (h *handler) listArtifacts(r *http.Request, info tracking.RunInfo, dir string) (*artifactsView, error) {
	root, err := h.runRoot(info)
	if err != nil {
		return nil, err
	}
	rel, err := cleanRel(dir)
	if err != nil {
		return nil, err
	}
	files, err := h.art.List(r.Context(), join(root, rel))
	if err != nil {
		return nil, err
	}
	v := &artifactsView{RunID: info.RunID, Dir: rel}
	if rel != "" {
		acc := ""
		for _, s := range strings.Split(rel, "/") {
			acc = path.Join(acc, s)
			v.Crumbs = append(v.Crumbs, crumb{Name: s, Dir: acc})
		}
	}
	for _, f := range files {
		p := path.Join(rel, f.Path)
		e := entry{Name: f.Path, Path: p, IsDir: f.IsDir, Size: f.Size}
		if !f.IsDir {
			e.Download = downloadURL(join(root, p))
		}
		v.Entries = append(v.Entries, e)
	}
	slices.SortStableFunc(v.Entries, func(a, b entry) int {
		if a.IsDir != b.IsDir {
			if a.IsDir {
				return -1
			}
			return 1
		}
		return 0
	})
	return v, nil
}

// artifacts answers one directory of the browser (an htmx fragment).
func (h *handler) artifacts(w http.ResponseWriter, r *http.Request) error {
	info, err := h.runInfo(r)
	if err != nil {
		return err
	}
	v, err := h.listArtifacts(r, info, r.URL.Query().Get("dir"))
	if err != nil {
		return err
	}
	h.renderFragment(w, "run.html", "artifacts", v)
	return nil
}

// artifactPreview answers the preview of one file (an htmx fragment).
func (h *handler) artifactPreview(w http.ResponseWriter, r *http.Request) error {
	info, err := h.runInfo(r)
	if err != nil {
		return err
	}
	p, err := h.preview(r, info, r.URL.Query().Get("path"))
	if err != nil {
		return err
	}
	h.renderFragment(w, "run.html", "preview", p)
	return nil
}

func (h *handler) runInfo(r *http.Request) (tracking.RunInfo, error) {
	run, err := h.store.GetRun(r.Context(), r.PathValue("id"))
	return run.Info, err
}

// Kinds of preview by extension.
var (
	textExts = map[string]bool{
		".txt": true, ".log": true, ".json": true, ".yaml": true, ".yml": true, ".csv": true, ".tsv": true,
		".md": true, ".py": true, ".cfg": true, ".ini": true, ".toml": true, ".xml": true, ".sql": true,
		".sh": true, ".html": true, ".js": true, ".rst": true, ".conf": true, ".properties": true,
	}
	textNames  = map[string]bool{"MLmodel": true, "MLproject": true, "requirements.txt": true, "Dockerfile": true}
	imageTypes = map[string]string{".png": "image/png", ".jpg": "image/jpeg", ".jpeg": "image/jpeg",
		".gif": "image/gif", ".webp": "image/webp", ".svg": "image/svg+xml"}
)

func (h *handler) preview(r *http.Request, info tracking.RunInfo, file string) (*preview, error) {
	root, err := h.runRoot(info)
	if err != nil {
		return nil, err
	}
	rel, err := cleanRel(file)
	if err != nil || rel == "" {
		return nil, posml.Errorf(posml.KindInvalid, "Invalid artifact path.")
	}
	full := join(root, rel)
	p := &preview{Path: rel, Download: downloadURL(full)}
	ext := strings.ToLower(path.Ext(rel))
	if _, ok := imageTypes[ext]; ok {
		if _, err := h.art.Stat(r.Context(), full); err != nil {
			return nil, err
		}
		p.Image = "/runs/" + url.PathEscape(info.RunID) + "/artifact/raw?path=" + url.QueryEscape(rel)
		return p, nil
	}
	if !textExts[ext] && !textNames[path.Base(rel)] {
		p.Note = "No preview for this kind of file."
		return p, nil
	}
	rc, fi, err := h.art.Open(r.Context(), full)
	if err != nil {
		return nil, err
	}
	defer rc.Close()
	if fi.Size > maxPreview {
		p.Note = "Too large to preview here; download it instead."
		return p, nil
	}
	b, err := io.ReadAll(io.LimitReader(rc, maxPreview+1))
	if err != nil {
		return nil, err
	}
	if !utf8.Valid(b) {
		p.Note = "Not UTF-8 text; download it instead."
		return p, nil
	}
	p.Text = string(b)
	return p, nil
}

// artifactRaw serves an image artifact inline, for the preview. Only image
// types are served, sandboxed, so an SVG or a mislabelled file cannot run
// script on the UI's origin.
func (h *handler) artifactRaw(w http.ResponseWriter, r *http.Request) error {
	info, err := h.runInfo(r)
	if err != nil {
		return err
	}
	root, err := h.runRoot(info)
	if err != nil {
		return err
	}
	rel, err := cleanRel(r.URL.Query().Get("path"))
	if err != nil || rel == "" {
		return posml.Errorf(posml.KindInvalid, "Invalid artifact path.")
	}
	ctype, ok := imageTypes[strings.ToLower(path.Ext(rel))]
	if !ok {
		return posml.Errorf(posml.KindNotFound, "Only images are shown inline; download other files.")
	}
	rc, _, err := h.art.Open(r.Context(), join(root, rel))
	if err != nil {
		return err
	}
	defer rc.Close()
	w.Header().Set("Content-Type", ctype)
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.Header().Set("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'; sandbox")
	w.Header().Set("Cache-Control", "private, max-age=60")
	_, err = io.Copy(w, rc)
	if err != nil {
		h.log.Debug("artifact copy", "err", err) // the response has started; nothing else to do
	}
	return nil
}

// renderFragment renders one template of a page without the layout.
func (h *handler) renderFragment(w http.ResponseWriter, page, name string, data any) {
	th, err := h.theme()
	if err != nil {
		http.Error(w, "templates: "+err.Error(), http.StatusInternalServerError)
		return
	}
	var buf strings.Builder
	if err := th.executeFragment(&buf, page, name, data); err != nil {
		h.log.Error("web template failed", "template", name, "err", err)
		http.Error(w, "Internal Server Error", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	io.WriteString(w, buf.String()) //nolint:errcheck // the client went away
}
