#!/usr/bin/env python3
"""(Re)writes the validation corpus testdata/projects/: one project per case.
Run it, then `go test ./internal/cli -run Corpus -update`, and review the golden diff."""
import os, shutil, textwrap
ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "testdata", "projects")
HEADER = """import os
import sys

SRC_HOME = os.path.dirname(os.path.realpath(__file__))
if SRC_HOME not in sys.path:
    sys.path.append(SRC_HOME)
"""
TRAIN = HEADER + """
from modeling import modeling


def train():
    modeling()


if __name__ == "__main__":
    train()
"""
MODELING = HEADER + """

def modeling():
    print("training")
"""
TRIGGER = HEADER + """

def train_trigger(**kwargs) -> bool:
    return True
"""
CONFIG = """# common
proj_name: e2e-pipeline-iris
model_name: e2e-pipeline-iris

# Data Management
mart_id: dm_f_20085_2212_142

# workflow management
time_zone: Asia/Seoul
date_format: "%Y-%m-%d %H:%M:%S"

train_start_date: "2023-01-09 00:00:00"
train_schedule_interval: "@daily"

train_trigger_start_date: "2023-01-09 00:00:00"
train_trigger_schedule_interval: "@daily"

# train management
mlflow:
  target_metric: accuracy_score
"""

def case(name, files=None, config=CONFIG, subst=None, drop=(), system=None):
    d = os.path.join(ROOT, name)
    if os.path.exists(d):
        shutil.rmtree(d)
    os.makedirs(os.path.join(d, "src"))
    base = {"src/train.py": TRAIN, "src/modeling.py": MODELING, "src/train_trigger.py": TRIGGER}
    if config is not None:
        c = config
        for a, b in (subst or []):
            assert a in c, (name, a)
            c = c.replace(a, b)
        base["src/config.yaml"] = c
    if system is not None:
        base["config.yaml"] = system
    base.update(files or {})
    for f in drop:
        base.pop(f, None)
    for f, text in base.items():
        if text is None:
            continue
        p = os.path.join(d, f)
        os.makedirs(os.path.dirname(p), exist_ok=True)
        with open(p, "w") as fh:
            fh.write(text)

SEED = CONFIG
# valid references
case("ok-seed-example", config=SEED + "  tracking_uri: http://127.0.0.1:5000\n  experiment_name: e2e-pipeline-iris\n  register_model: e2e-pipeline-iris\n")
case("ok-dst-new-york", subst=[("Asia/Seoul", "America/New_York"), ('train_schedule_interval: "@daily"', 'train_schedule_interval: "30 2 * * *"'), ('"2023-01-09 00:00:00"\ntrain_schedule', '"2024-03-01 00:00:00"\ntrain_schedule')])
case("ok-model-name-list", subst=[("model_name: e2e-pipeline-iris", 'model_name:\n  - model_name_1: "knn_model_1"\n  - model_name_2: "knn_model_2"')])
case("ok-model-name-seed-nested", subst=[("model_name: e2e-pipeline-iris", 'model_name:\n  - model_name:\n    - model_name_1: "knn_model_1"\n    - model_name_2: "knn_model_2"')])
# config: broken
case("config-missing", config=None)
case("config-blank-template", config="""# common
proj_name:
model_name:

# Data Management
mart_id:

# workflow management
time_zone:
date_format:

train_start_date:
train_schedule_interval:

train_trigger_start_date:
train_trigger_schedule_interval:

# train management
mlflow:
  target_metric:
""")
case("config-yaml-unquoted-preset", subst=[('train_schedule_interval: "@daily"', "train_schedule_interval: @daily")])
case("config-proj-name-invalid", subst=[("proj_name: e2e-pipeline-iris", "proj_name: E2E_Pipeline_Iris")])
case("config-proj-name-missing", subst=[("proj_name: e2e-pipeline-iris\n", "")])
case("config-model-name-wrong-type", subst=[("model_name: e2e-pipeline-iris", "model_name:\n  - [knn_model_1, knn_model_2]")])
case("config-unknown-key-typo", subst=[("train_schedule_interval:", "train_schedule_intervl:")])
case("config-time-zone-typo", subst=[("Asia/Seoul", "Asia/Seol")])
case("config-time-zone-local", subst=[("Asia/Seoul", "Local")])
case("config-date-format-bad-directive", subst=[('"%Y-%m-%d %H:%M:%S"', '"%Y-%m-%e %H:%M:%S"')])
case("config-start-date-wrong-format", subst=[('train_start_date: "2023-01-09 00:00:00"', 'train_start_date: "2023/01/09 00:00:00"')])
case("config-start-date-trailing-text", subst=[('train_start_date: "2023-01-09 00:00:00"', 'train_start_date: "2023-01-09 00:00:00 KST"')])
case("config-start-date-invalid-day", subst=[('train_start_date: "2023-01-09 00:00:00"', 'train_start_date: "2023-02-29 00:00:00"')])
case("cron-six-fields", subst=[('train_schedule_interval: "@daily"', 'train_schedule_interval: "0 0 0 * * *"')])
case("cron-nearest-weekday", subst=[('train_schedule_interval: "@daily"', 'train_schedule_interval: "0 0 15W * *"')])
case("cron-reboot", subst=[('train_schedule_interval: "@daily"', 'train_schedule_interval: "@reboot"')])
case("cron-never-fires", subst=[('train_schedule_interval: "@daily"', 'train_schedule_interval: "0 0 30 2 *"')])
case("cron-out-of-range", subst=[('train_schedule_interval: "@daily"', 'train_schedule_interval: "61 * * * *"')])
case("cron-step-zero", subst=[('train_schedule_interval: "@daily"', 'train_schedule_interval: "*/0 * * * *"')])
case("cron-preset-wrong-case", subst=[('train_schedule_interval: "@daily"', 'train_schedule_interval: "@Quarterly"')])
case("config-trigger-start-without-interval", subst=[('train_trigger_schedule_interval: "@daily"\n', '')])
case("config-target-metric-unknown", subst=[("target_metric: accuracy_score", "target_metric: acuracy_score")])
case("config-target-metric-custom-no-direction", subst=[("target_metric: accuracy_score", "target_metric: my_business_kpi")])
case("config-tracking-uri-not-http", config=SEED + "  tracking_uri: localhost:5000\n")
case("config-retries-negative", config=SEED + "retries: -1\n")
case("config-train-timeout-bad", config=SEED + "train_timeout: an hour\n")
case("config-schedule-mode-bad", config=SEED + "schedule_mode: airflow2\n")
case("config-system-override-bad-zone", system="time_zone: Europe/Berlinn\nmlflow:\n  tracking_uri: http://posml:5000\n")
# scripts: broken
case("script-train-py-misnamed", files={"src/train.py": None, "src/Train.py": TRAIN})
case("script-missing-header", files={"src/train.py": "from modeling import modeling\n\n\ndef train():\n    modeling()\n\n\nif __name__ == \"__main__\":\n    train()\n"})
case("script-imported-module-missing-header", files={"src/modeling.py": "import os\n\n\ndef modeling():\n    print(os.getcwd())\n"})
case("script-transitive-module-missing-header", files={"src/modeling.py": HEADER + "\nfrom features import build\n\n\ndef modeling():\n    build()\n", "src/features.py": "def build():\n    return 1\n"})
case("script-no-main-guard", files={"src/train.py": TRAIN.replace('\n\nif __name__ == "__main__":\n    train()\n', "\n\ntrain()\n")})
case("script-main-guard-not-last", files={"src/train.py": TRAIN + "\nprint('done')\n"})
case("script-main-guard-calls-undefined", files={"src/train.py": TRAIN.replace("    train()\n", "    run_training()\n")})
case("script-syntax-error", files={"src/modeling.py": HEADER + "\n\ndef modeling(:\n    pass\n"})
case("script-trigger-file-missing", files={"src/train_trigger.py": None})
case("script-trigger-no-kwargs", files={"src/train_trigger.py": HEADER + "\n\ndef train_trigger(conf):\n    return True\n"})
case("script-trigger-function-missing", files={"src/train_trigger.py": HEADER + "\n\ndef check(**kwargs):\n    return True\n"})
print(len(os.listdir(ROOT)))
# executor: section (issue 9)
case("ok-executor-kubernetes-gpu", config=CONFIG + """
executor:
  backend: kubernetes
  image: registry.example.com/ml/iris:1.4
  resources: {cpu: 2, memory: 4Gi, gpu: 1}
  tolerations:
    - {key: nvidia.com/gpu, operator: Exists, effect: NoSchedule}
""")
case("config-executor-broken", config=CONFIG + """
executor:
  backend: slrum
  partition: gpu
  resources:
    cpu: two
    memory: 16GB
  gpu: 2
""")

