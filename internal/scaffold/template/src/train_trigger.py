"""The trigger of the training pipeline.

On train_trigger_schedule_interval (src/config.yaml) the platform calls
train_trigger(**conf), with the project's config as keyword arguments; when
it returns True the train pipeline (src/train.py) starts. It must answer
within trigger_timeout (60 s by default).
"""
import os
import sys

SRC_HOME = os.path.dirname(os.path.realpath(__file__))
if SRC_HOME not in sys.path:
    sys.path.append(SRC_HOME)


def train_trigger(**kwargs) -> bool:
    """Return True to train now, False to wait for the next check.

    This one always trains. To train only when the data mart has new data,
    compare the mart's newest row with the last training, e.g.:

        from workbenchPy import GetMartData

        mart = GetMartData(kwargs["mart_id"])
        return mart["updated_at"].max() > last_trained_at()

    where last_trained_at() is yours: it could read the start time of the
    champion's run from MLflow.
    """
    return True
