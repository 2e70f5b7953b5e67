"""Stand-in of airflow.models.dag: a DAG that records itself."""

REGISTRY = []
_CURRENT = []


class DAG:
    def __init__(self, dag_id, description=None, start_date=None, schedule=None,
                 catchup=None, max_active_runs=None, default_args=None, tags=None, **kwargs):
        if kwargs:
            raise TypeError("unexpected DAG arguments: %s" % sorted(kwargs))
        self.dag_id = dag_id
        self.description = description
        self.start_date = start_date
        self.schedule = schedule
        self.catchup = catchup
        self.max_active_runs = max_active_runs
        self.default_args = dict(default_args or {})
        self.tags = list(tags or [])
        self.tasks = []
        REGISTRY.append(self)

    def __enter__(self):
        _CURRENT.append(self)
        return self

    def __exit__(self, *exc):
        _CURRENT.pop()
        return False


class BaseOperator:
    def __init__(self, task_id, dag=None, **kwargs):
        self.task_id = task_id
        self.dag = dag or (_CURRENT[-1] if _CURRENT else None)
        if self.dag is None:
            raise RuntimeError("task %s is outside a DAG" % task_id)
        if any(t.task_id == task_id for t in self.dag.tasks):
            raise ValueError("duplicate task_id %s" % task_id)
        self.kwargs = kwargs
        self.upstream = []
        self.dag.tasks.append(self)

    def __rshift__(self, other):
        others = other if isinstance(other, (list, tuple)) else [other]
        for o in others:
            o.upstream.append(self.task_id)
        return other

    def __lshift__(self, other):
        others = other if isinstance(other, (list, tuple)) else [other]
        for o in others:
            self.upstream.append(o.task_id)
        return other
