#!/usr/bin/env python
"""The training pipeline: the platform runs `python src/train.py` on the
schedule in src/config.yaml. Run it the same way to test it locally."""
import os
import sys

SRC_HOME = os.path.dirname(os.path.realpath(__file__))
if SRC_HOME not in sys.path:
    sys.path.append(SRC_HOME)

from load_data import load_data
from model_evaluate import model_evaluate
from modeling import modeling
from preprocess import preprocess


def train():
    # 1. load data
    data = load_data()

    # 2. data preprocessing
    x, y = preprocess(data)

    # 3. modeling: one MLflow run per candidate; the best one comes back
    best_model_run_id, best_model_uri = modeling(x, y)

    # 4. model evaluation: the best candidate against the registered champion
    model_evaluate(best_model_run_id, best_model_uri)


if __name__ == "__main__":
    train()
