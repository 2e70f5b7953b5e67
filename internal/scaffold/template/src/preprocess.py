"""Step 2 of the pipeline: turn the loaded data into features and labels."""
import os
import sys

SRC_HOME = os.path.dirname(os.path.realpath(__file__))
if SRC_HOME not in sys.path:
    sys.path.append(SRC_HOME)

import pandas as pd
from sklearn import preprocessing

Y_COLUMN = "variety"


def preprocess(data: pd.DataFrame):
    """Split data into features x and numeric labels y (the label names encoded as 0, 1, 2, ...)."""
    label_encoder = preprocessing.LabelEncoder()
    y = pd.Series(label_encoder.fit_transform(data[Y_COLUMN]), index=data.index, name=Y_COLUMN)
    x = data.drop(columns=[Y_COLUMN])
    return x, y
