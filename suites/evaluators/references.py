"""Exact reference computations of the evaluations, each computed once per process.

The evaluations compute exact references that are not family members: the model's exact posterior mean
(global or r-local, on every site or on sampled sites) and the exact global decoder's failure
probability.  Each is a pure function of the model, its parameters, the channel, the level, the radius,
the site mask and the noisy input, so a result can be reused wherever the same call recurs: in one
``phasebench run`` the calls are distinct, but the score cases of a pytest session
(:mod:`phasebench.suites.cases`, one task with one family per case) repeat them, for example the exact
r-local oracle that ``toric-bitflip`` scores every family against, or the transfer-matrix posterior of
``ising-speciation``.  The results are kept in memory, least recently used first out, within
:data:`MEMORY_LIMIT_BYTES`; a returned array is read-only, since another caller may hold it.
"""

from __future__ import annotations

import hashlib
import json
from collections import OrderedDict
from typing import Any, Callable, Optional, Tuple

import numpy as np

#: bytes of reference results kept in memory (the quick division's score cases need about 0.2 GB)
MEMORY_LIMIT_BYTES = 2**30

_results: "OrderedDict[Tuple, Any]" = OrderedDict()
_held = {"bytes": 0}


def _array_key(a: Optional[np.ndarray]) -> Optional[Tuple]:
    if a is None:
        return None
    a = np.ascontiguousarray(a)
    return (a.dtype.str, a.shape, hashlib.blake2b(a.view(np.uint8).reshape(-1), digest_size=16).hexdigest())


def call_key(kind: str, model, channel, y, level, radius, mask) -> Tuple:
    """What a reference computation depends on, as plain data: its kind, the model and its parameters, the channel,
    the level, the radius and content hashes of the noisy input and the mask."""
    identity = json.dumps({"model": type(model).__module__ + "." + type(model).__qualname__, "values": model.values,
                           "channel": channel.to_dict()}, sort_keys=True, default=str)
    return kind, identity, float(level), radius, _array_key(y), _array_key(mask)


def _remember(key: Tuple, compute: Callable[[], Any]) -> Any:
    if key in _results:
        _results.move_to_end(key)
        return _results[key]
    value = compute()
    if isinstance(value, np.ndarray):
        value.setflags(write=False)
        size = value.nbytes
        if size <= MEMORY_LIMIT_BYTES:
            _results[key] = value
            _held["bytes"] += size
            while _held["bytes"] > MEMORY_LIMIT_BYTES:
                _, old = _results.popitem(last=False)
                _held["bytes"] -= old.nbytes
    return value


def exact_posterior_mean(model, y: np.ndarray, channel, level: float, radius: Optional[int]) -> np.ndarray:
    """``model.exact_posterior_mean(y, channel, level, radius)``, computed once per distinct call."""
    return _remember(call_key("posterior-mean", model, channel, y, level, radius, None),
                     lambda: model.exact_posterior_mean(y, channel, level, radius))


def exact_posterior_mean_at(model, y: np.ndarray, channel, level: float, radius: int, mask: np.ndarray) -> np.ndarray:
    """``model.exact_posterior_mean_at(y, channel, level, radius, mask)`` (the sites under ``mask`` only),
    computed once per distinct call."""
    return _remember(call_key("posterior-mean-at", model, channel, y, level, radius, mask),
                     lambda: model.exact_posterior_mean_at(y, channel, level, radius, mask))


def exact_failure_probability(model, y: np.ndarray, channel, level: float) -> Optional[np.ndarray]:
    """``model.exact_failure_probability(y, channel, level)`` (None where the model has no exact global
    decoder), computed once per distinct call."""
    return _remember(call_key("failure-probability", model, channel, y, level, None, None),
                     lambda: model.exact_failure_probability(y, channel, level))


def forget() -> None:
    """Drop every remembered result."""
    _results.clear()
    _held["bytes"] = 0
