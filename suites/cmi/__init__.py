"""Conditional mutual information diagnostics: I(A:C|B) of the noisy data, A a site, B its radius-r window
minus A, C the rest (docs/physics.md, section 5).

* :mod:`.gaussian_field`: the ``exact`` (closed form), ``gaussian`` (empirical spectrum) and ``immse``
  (I-MMSE integral over A's own SNR) estimators for stationary Gaussian fields;
* :mod:`.heatmap`: heat maps over a task's levels and radii (``phasebench cmi TASK --estimator NAME``).
"""
