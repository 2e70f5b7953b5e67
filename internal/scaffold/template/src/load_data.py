"""Step 1 of the pipeline: load the training data."""
import os
import sys

SRC_HOME = os.path.dirname(os.path.realpath(__file__))
if SRC_HOME not in sys.path:
    sys.path.append(SRC_HOME)

import pandas as pd

from config import config as conf

X_COLUMNS = ["sepal_length", "sepal_width", "petal_length", "petal_width"]
Y_COLUMN = "variety"


def load_data() -> pd.DataFrame:
    """Return the data set: the X_COLUMNS features and the Y_COLUMN label.

    With mart_id set in config.yaml the data comes from that posml data mart;
    without it, from the iris data set bundled with scikit-learn.
    """
    mart_id = conf.get("mart_id")
    if mart_id:
        # workbenchPy is posml's Python SDK: the platform puts it on the
        # PYTHONPATH of every run.
        from workbenchPy import GetMartData

        mart = GetMartData(mart_id)
    else:
        mart = iris()

    x = mart[X_COLUMNS]
    y = mart[[Y_COLUMN]]
    data = pd.concat([x, y], axis=1)

    # Steps downstream align on the index: make it 0..n-1 whatever the source.
    return data.reset_index(drop=True)


def iris() -> pd.DataFrame:
    """The iris data set from scikit-learn (no download), under the mart's column names."""
    from sklearn.datasets import load_iris

    bunch = load_iris(as_frame=True)
    data = bunch.data.copy()
    data.columns = X_COLUMNS
    data[Y_COLUMN] = bunch.target.map(dict(enumerate(bunch.target_names)))
    return data
