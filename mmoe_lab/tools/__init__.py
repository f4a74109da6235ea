"""What only a maintainer runs; no notebook imports these.

* :mod:`~mmoe_lab.tools.bench`, :mod:`~mmoe_lab.tools.bench_replicas`,
  :mod:`~mmoe_lab.tools.bench_backends`: benchmarks (``make bench``);
* :mod:`~mmoe_lab.tools.calibrate`: the generator presets and the live budget (``data/calibration/``);
* :mod:`~mmoe_lab.tools.lesson_search`: the search that chose the correlation lesson's setup;
* :mod:`~mmoe_lab.tools.checks`: fresh evidence for the claims and ``make claims``;
* :mod:`~mmoe_lab.tools.timings`: every notebook timed (``make timings``);
* :mod:`~mmoe_lab.tools.imports`: the package's import graph (the README's diagram).
"""
