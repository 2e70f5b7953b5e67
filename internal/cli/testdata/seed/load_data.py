# load_data.py
import os
import sys

SRC_HOME = os.path.dirname(os.path.realpath(__file__))
if SRC_HOME not in sys.path:
    sys.path.append(SRC_HOME)

import pandas as pd
from config import config as conf
from workbenchPy import GetMartData

def load_data():

    martData = GetMartData(conf['mart_id'])

    x_columns = ["sepal_length", "sepal_width", "petal_length", "petal_width"]
    y_columns = ["variety"]

    x = martData[x_columns]
    y = martData[y_columns]

    data = pd.concat([x, y], 1)

    return data
