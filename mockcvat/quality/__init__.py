"""Pure engines of CVAT's quality control and consensus: no HTTP, no database.

* ``matching``: the geometry — IoU of boxes and segments, OKS of points and skeletons,
  polyline similarity, and the optimal one-to-one assignment CVAT matches with;
* ``compare``: a GT job against an annotation job, frame by frame (CVAT's
  ``quality_reports.DatasetComparator``): conflicts, counts, confusion matrix;
* ``consensus``: the voting merge of consensus replicas (CVAT's ``consensus/merging_manager``).

Annotations come in as plain dicts (``Ann``, built by ``services/quality.py`` from the API's
JSON shape), so each engine can be tested with hand-computed numbers.
"""
