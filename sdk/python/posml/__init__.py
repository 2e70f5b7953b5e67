"""posml's Python SDK: data marts (posml.marts, GetMartData), a
zero-dependency MLflow tracking client (posml.tracking) and the project
config loader (posml.config). Standard library only; pandas to return
DataFrames, pyarrow when installed.

posml puts this SDK on the PYTHONPATH of every pipeline run; elsewhere,
pip install ./sdk/python.
"""
__version__ = "0.1.0"


def GetMartData(mart_id, version=None):
    """Return the data mart mart_id as a pandas DataFrame; see posml.marts."""
    from posml.marts import GetMartData as get

    return get(mart_id, version=version)
