"""Import each DAG file given against the stand-in Airflow modules in
stub_airflow/ and print what it built as JSON (one object per DAG)."""
import importlib.util
import json
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "stub_airflow"))

from airflow.models.dag import REGISTRY  # noqa: E402


def schedule_of(s):
    if s is None or isinstance(s, str):
        return {"kind": "preset" if s else "none", "value": s}
    return {"kind": type(s).__name__, "cron": s.cron, "timezone": s.timezone}


def main(paths):
    for i, p in enumerate(paths):
        spec = importlib.util.spec_from_file_location("posml_dag_%d" % i, p)
        spec.loader.exec_module(importlib.util.module_from_spec(spec))
    out = []
    for d in REGISTRY:
        da = d.default_args
        out.append({
            "dag_id": d.dag_id,
            "start_date": d.start_date.isoformat() if d.start_date else None,
            "timezone": str(d.start_date.tzinfo) if d.start_date else None,
            "schedule": schedule_of(d.schedule),
            "catchup": d.catchup,
            "max_active_runs": d.max_active_runs,
            "retries": da.get("retries"),
            "retry_delay_s": da["retry_delay"].total_seconds() if "retry_delay" in da else None,
            "execution_timeout_s": da["execution_timeout"].total_seconds() if "execution_timeout" in da else None,
            "tags": d.tags,
            "tasks": [{"task_id": t.task_id, "type": type(t).__name__,
                       "bash_command": getattr(t, "bash_command", None),
                       "upstream": t.upstream} for t in d.tasks],
        })
    json.dump(out, sys.stdout, indent=1, sort_keys=True)


if __name__ == "__main__":
    main(sys.argv[1:])
