"""LightGBM models read exactly as LightGBM reads them: the trees as arrays (:mod:`.model`), each
input value as the class of values every split treats alike (:mod:`.classes`, its loops compiled
in :mod:`._kernels`), a DataFrame's columns as ``Booster.predict`` reads them (:mod:`.frame`),
and predictions from per-tree tables over those classes (:mod:`.predict`). Shared by
:mod:`vsvrisk.models` (predictions) and :mod:`vsvrisk.explain` (TreeSHAP); private to vsvrisk."""
