// Package scaffold writes a new training-pipeline project, the one `posml
// init NAME` creates: the layout of the platform's template (src/config.yaml,
// config.py, load_data.py, preprocess.py, modeling.py, model_evaluate.py,
// train.py, train_trigger.py, requirements.txt), as working code that passes
// `posml validate` and runs with `python src/train.py`.
//
// The files live in template/, embedded in the binary, and are rendered with
// text/template ({{.Name}} is the project name). template/gitignore is
// written as .gitignore, so that it does not apply to posml's own repository.
//
// `posml init --lite` (Options.Lite) writes the lite variant: lite/ holds
// the files that differ (src/modeling.py and src/model_evaluate.py log
// through posml.tracking, the Python SDK's zero-dependency MLflow client,
// instead of the mlflow package; requirements.txt; README.md) and replaces
// template/'s.
//
// It depends on the standard library and package posml only.
package scaffold
