"""Conditional mutual information diagnostics: I(A:C|B) of the noisy data, A a site, B its radius-r window
minus A, C the rest (docs/physics.md, section 5).

* :mod:`.gaussian_field`: the ``exact`` (closed form), ``gaussian`` (empirical spectrum) and ``immse``
  (I-MMSE integral over A's own SNR) estimators for stationary Gaussian fields;
* :mod:`.toric_exact`: the ``exact`` estimator for the toric loops under bit flips (global and window
  posteriors averaged over exact samples, L <= 10);
* :mod:`.recovery_bound`: the recovery bound 2 TV^2 <= I(A:C|B) and the I-MMSE endpoint, exactly on the GFF;
* :mod:`.mine`: the seed paper's neural (Donsker-Varadhan) estimator, the baseline;
* :mod:`.heatmap`: heat maps over a task's levels and radii (``phasebench cmi TASK --estimator NAME``).
"""
