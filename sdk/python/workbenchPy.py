"""workbenchPy: the data-mart API posml's project templates (and the
original platform's guide) import: ``from workbenchPy import GetMartData``.

GetMartData(mart_id, version=None) returns the mart's snapshot as a pandas
DataFrame; see posml.marts.
"""
from posml.marts import GetMartData, MartError, MartNotFoundError

__all__ = ["GetMartData", "MartError", "MartNotFoundError"]
