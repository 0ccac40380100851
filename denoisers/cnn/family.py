"""``cnn``: a learned local denoiser whose receptive field is exactly the radius-r window.

Architecture (:mod:`phasebench.denoisers.cnn.network`; one network per radius covers the whole level grid
it is fitted on): ``r`` circular 3x3 layers and ``depth`` 1x1 layers with FiLM conditioning on the
level (log lambda, or atanh(1 - 2p) for bit flip; :meth:`phasebench.lattice_models.channels.NoiseChannel.level_feature`), a
level-generated linear radius-r skip, optional window features and optional periodic (cos)
units.  Its light cone is exactly the radius-r window; there is no normalisation or pooling over
space.  Input and output scaling are per level and per channel from the training moments
(:class:`phasebench.denoisers.harness.noisy_batches.Standardiser`); the output is the posterior-mean estimate in data
space (clipped to [0, 1] for binary and [-1, 1] for spin data).

Defaults that depend on the data and channel (each measured: docs/decisions/cnn-settings.md, by section):

* window features: 4 with the Bayes output, 0 with the linear readout and under bit flip (§2, §5);
* periodic units: half the width under the bit-flip channel (the noisy data are bits, and the
  posterior is a Boolean function of them), 0 otherwise; configurations per level per step: 2
  under bit flip, 8 otherwise; share of the budget for the readout refit: 0.1 under bit flip, 0.5
  otherwise; learning rate 1e-2 -> 1e-4 under bit flip, 3e-3 -> 1e-5 otherwise (:data:`phasebench.denoisers.cnn.settings.BITFLIP_DEFAULTS`,
  overlaid on the output's defaults; explicit options win; §4, §5, §1);
* parity checks (``checks=True``, the default): when the model declares local parity checks
  (``LatticeModel.parity_checks``, e.g. the toric code's vertex checks) and the Bayes output applies,
  the first trunk layer also sees the checks' values on the single-site posteriors (the syndrome under
  bit flip; :mod:`phasebench.denoisers.cnn.network`), with the light cone unchanged;
* error frame (``error_frame``; by default on exactly where the first layer sees parity checks): the
  network's field is taken in the frame of the sign of the site's own observation,
  ``E[u_i | y] = tanh(g y_i + sign(y_i) G_i)``, which is ``y_i tanh(g + G_i)`` under bit flip.  This is no
  restriction (``G_i = sign(y_i) H_i``), but it is the posterior's own structure: a prior uniform over the
  configurations that satisfy the checks is invariant under flipping any closed loop, so the posterior is
  covariant, ``E[u | c y] = c E[u | y]``, and ``G`` is a function of loop-invariant inputs (the check
  values, ``|y|``) that the trunk sees directly; ``H`` would be that function times the own sign, a product
  the trunk must learn (§6).

Bayes output (the default, ``output="auto"``, wherever it applies: +-1 data under the Gaussian
or the bit-flip channel, i.e. spins, or bits the channel encodes as spins; ``"linear"`` forces the
linear readout, ``"bayes"`` requires the Bayes output): the posterior of a +-1 site is
``E[u_i | y] = tanh(g y_i + H_i)`` with ``g = a / s^2`` (Gaussian) or ``atanh(1 - 2p)`` (bit flip)
(docs/physics.md, section 2: the site's own likelihood field plus the field of the prior given
the other observations; :mod:`phasebench.denoisers.harness.output_heads`), so the network's output (head + skip) is
the field ``H_i`` and the estimate is the tanh above; the trunk also sees ``tanh(g y)`` (a per-site
function of the input, so the light cone is unchanged).  The untrained network (zero head and skip) is the single-site posterior.
It is the default because it fits the exact Ising posterior far better than the linear readout (§3).

Training (the harness, :class:`phasebench.denoisers.harness.learned.LearnedFamily`): Adam on the level-weighted x0-prediction MSE with
fresh noise every step (warm-up, then exponential LR decay) for a share
``1 - polish_fraction`` of the budget; then :func:`phasebench.denoisers.cnn.readout_refit.refit_readout` solves the readout
(skip-kernel generator and head) by exact weighted least squares on fresh noise for the
rest.  The budget is in reference seconds (:mod:`phasebench.denoisers.harness.budget`): it fixes the
Adam step count and the refit's configurations from the network and data shapes, so a fit
is reproducible whatever the machine's speed or load.  SGD alone converges too slowly to reach the r-local optimum to the
1e-4 relative precision the GFF calibration asks for; the refit reaches it with the
sampling error of a linear regression (about mse * parameters / sites).  With the Bayes
output the readout is no longer linear: Adam gets the whole budget, with every group
weighted by ``1 / (single-site MMSE)`` times an adaptive factor ``1 / (running mean of the
group's own loss)``, normalised to mean 1, so each (level, condition) cell is fitted to a
similar *relative* excess (chosen against the exact Ising posterior at L = 6 and 10; §1, §2).
Groups of a step go through the network together (:meth:`forward_groups`), in chunks of about
:data:`phasebench.denoisers.harness.noisy_batches.CHUNK_SITES` sites.  ``grad_clip`` (off by default) rescales each step's gradient
to at most that norm.  Long runs at the bit-flip rate 1e-2 can blow up and collapse; clipping only delays that
(Adam's step is about the learning rate whatever the gradient's norm), a lower peak rate trains every radius (§9;
docs/decisions/toric-bitflip-full-cnn-training.md).  The fit record's ``initial_loss`` (the untrained network's)
shows a collapse (docs/decisions/collapse-flag.md).
"""

from __future__ import annotations

from ..base import DENOISERS, Hyperparameter
from ..harness.learned import TRAINING_HYPERPARAMETERS, LearnedFamily
from ..harness.readout_family import POLISH_HYPERPARAMETERS
from .network import build_network
from .readout_refit import polish_readout
from .settings import resolve_settings


def _count(name: str, default, doc: str, low: int = 0) -> Hyperparameter:
    return Hyperparameter(name, default, "int", doc, low=low)


@DENOISERS.register("cnn")
class CNNDenoiser(LearnedFamily):
    description = (
        "FiLM-conditioned CNN: r circular 3x3 layers + 1x1 layers + level-generated linear radius-r skip; "
        "Bayes output tanh(g y + H) for +-1 data under the Gaussian or bit-flip channel; periodic (cos) units under bit flip"
    )
    supports_global = False
    hyperparameters = (
        _count("width", 32, "channels of every trunk layer", low=1),
        _count("depth", 2, "1x1 layers after the r 3x3 layers"),
        _count("embed_dim", 32, "width of the level (and condition) embedding", low=1),
        _count("window_features", None, "linear (2r+1)^2 window convolutions fed to the first 1x1 layer (None: 4 with "
               "the Bayes output except under bit flip, else 0)"),
        _count("periodic", None, "cos units per trunk layer, < width (None: half the width under bit flip, else 0)"),
        Hyperparameter("checks", None, "bool", "the first layer sees the model's parity checks on the single-site "
                       "posteriors (None: on, with the Bayes output)"),
        Hyperparameter("error_frame", None, "bool", "the network's field in the frame of the observation's sign "
                       "(None: on exactly where the first layer sees parity checks; needs the Bayes output)"),
        *POLISH_HYPERPARAMETERS,
    ) + TRAINING_HYPERPARAMETERS

    @classmethod
    def check_hyperparameters(cls, values) -> None:
        if values["window_features"] and values["depth"] < 1:
            raise ValueError("window_features need depth >= 1 (a 1x1 layer to take them)")
        if values["periodic"] is not None and values["periodic"] >= values["width"]:
            raise ValueError(f"periodic must be < width={values['width']}, got {values['periodic']!r}")

    # -- the architecture, for the harness ------------------------------------------------------------
    def resolve_settings(self, channel, bayes, model) -> dict:
        """The training and architecture settings of this fit (:func:`phasebench.denoisers.cnn.settings.resolve_settings`)."""
        return resolve_settings(self, channel, bayes, model)

    def network_args(self, channels, feature_dim, extra_inputs, settings) -> dict:
        return dict(channels=channels, radius=self.radius, width=self.width, depth=self.depth, embed_dim=self.embed_dim,
                    feature_dim=feature_dim, extra_inputs=extra_inputs, window_features=settings["window_features"],
                    periodic=settings["periodic"], check_stencils=settings["check_stencils"])

    build_network = staticmethod(build_network)

    def finish_share(self, settings, bayes) -> float:
        return 0.0 if bayes else settings["polish_fraction"]  # the Bayes output is not linear in its readout

    def finish(self, net, batches, features, levels, settings, budget, bayes) -> dict:
        """The linear readout's exact least-squares refit (:func:`phasebench.denoisers.cnn.readout_refit.polish_readout`)."""
        return polish_readout(self, net, batches, features, levels, settings, budget, bayes)

    def fit_details(self, settings) -> dict:
        return {**{k: settings[k] for k in ("window_features", "periodic", "polish_fraction")},
                "parity_checks": len(settings["check_stencils"])}

    # -- the circular padding needs L >= r ----------------------------------------------------------
    def _fit(self, clean_train, channel, levels, seed, budget, model) -> None:
        if clean_train.shape[-1] < max(1, self.radius):
            raise ValueError(f"radius r={self.radius} must be <= L={clean_train.shape[-1]} (circular padding)")
        super()._fit(clean_train, channel, levels, seed, budget, model)

    def _denoise(self, y, level, **condition):
        if y.shape[-1] != y.shape[-2] or y.shape[-1] < max(1, self.radius):
            raise ValueError(f"y must have shape (n, C, L, L) with L >= r = {self.radius}, got {y.shape}")
        return super()._denoise(y, level, **condition)


@DENOISERS.register("cnn-bayes")
class BayesCNNDenoiser(CNNDenoiser):
    """``cnn-bayes``: an alias of ``cnn``, kept registered so that result files and scripts that name it keep working.

    It was the family with the Bayes output when ``cnn`` had the linear readout; since ``cnn``'s default became
    ``output="auto"`` (the Bayes output wherever it applies: +-1 encoded data under the Gaussian or bit-flip
    channel, :mod:`phasebench.denoisers.harness.output_heads`), the two fit the same network with the same defaults
    (why the Bayes output became the default: docs/decisions/cnn-settings.md §3).
    """

    description = "alias of cnn (the Bayes output where it applies, else the linear readout)"
    alias_of = "cnn"
