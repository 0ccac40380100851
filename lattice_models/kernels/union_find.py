"""Union-find on a flat array, for cluster algorithms (Swendsen-Wang): path halving, and the smaller index
as the root, so that a forest's roots do not depend on the order of the unions."""

from __future__ import annotations

import numba as nb


@nb.njit(inline="always", cache=True)
def find_root(parent, x):
    while parent[x] != x:
        parent[x] = parent[parent[x]]  # path halving
        x = parent[x]
    return x


@nb.njit(inline="always", cache=True)
def union_roots(parent, a, b):
    ra = find_root(parent, a)
    rb = find_root(parent, b)
    if ra < rb:
        parent[rb] = ra
    elif rb < ra:
        parent[ra] = rb
