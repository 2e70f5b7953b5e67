"""A stand-in of the Airflow modules a posml-exported DAG imports.

It records every DAG built (id, schedule, start date, catchup, default args,
tasks and their dependencies) in airflow.models.dag.REGISTRY so that
inspect_dags.py can print them as JSON. It is not Airflow.
"""
from airflow.models.dag import DAG  # noqa: F401
