"""Exact r-local posterior of the loop model from a Kasteleyn Pfaffian (docs/physics.md, section 3).

Same window and semantics as the transfer matrix (:mod:`phasebench.lattice_models.exact.toric_window`):
in window coordinates (n = 2r + 1) the prior is uniform on the configurations of ``h[a, b], v[a, b]``,
``0 <= a, b < n``, with even parity at every interior vertex ``1 <= a, b <= n - 1``, and each edge
carries the weight ``w_e(x) ∝ P(y_e | x)`` from its normalised likelihood ``q_e``.

The planar graph.  The 2n edges ``h[0, b]``, ``v[a, 0]`` join two boundary vertices and are free
(their factors cancel from every other marginal; their own marginal is ``q_e``).  Every other window
edge touches an interior vertex; its boundary end, if any, is one of the 4(n - 1) non-corner boundary
vertices.  Join those boundary vertices in a ring (their cyclic order around the window) by *link*
edges.  The allowed configurations are then the even subgraphs of this planar graph ``G`` restricted
to the window edges, each exactly twice (the links are fixed by parity up to flipping the whole ring):
this is the cycle space of the window with its boundary merged into one vertex, i.e. the domain
walls of a field-free Ising model on the n x n plaquettes.

Fisher's construction.  Split each interior vertex (degree 4) into two degree-3 vertices joined by a
*split* edge (up, right | down, left), which again is fixed by parity; replace every degree-3 vertex
by a triangle of three terminals, one per incident edge, and keep the edges of ``G`` as *long* edges
between terminals.  An edge of ``G`` is *absent* from the even subgraph iff its long edge is in the
perfect matching: a triangle with 0 or 2 incident edges present has exactly one completion (all three
terminals matched outward, or the two free ones by their triangle edge), with 1 or 3 it has none.
Weights: the long edge of window edge e carries ``w_e(0)``, and every triangle edge at e's
*designated* end (its left or upper end) carries the factor ``w_e(1)``: that terminal is covered by
a triangle edge exactly when x_e = 1.  So the matchings of the Fisher graph ``F`` correspond 2 : 1 to
the window configurations, each with weight ``prod_e w_e(x_e)``, all weights in [0, 1].

Kasteleyn.  Orient ``F`` so that every face but one has an odd number of edges traversed forwards
(faces traced from a planar rotation system, one orientation fixed per face along a dual spanning
tree); the antisymmetric matrix ``K_uv = ±weight`` then has ``Pf(K) = ±(weighted number of perfect
matchings)``, ``log Z = ½ log|det K|`` from a sparse LU (SuperLU, partial pivoting), and
``P(uv in matching) = K_uv (K^-1)_vu``.  For window edge e with designated terminal u and long
partner v, one solve ``z = K^-1 e_u`` gives ``P(x_e = 0) = K_uv z_v`` and
``P(x_e = 1) = sum over u's triangle neighbours t of K_ut z_t`` (probabilities of the matching's
edges at u, which add up to 1 in exact arithmetic); they are normalised by their sum.

Accuracy: the LU is backward stable, but the condition number of K grows with the spread of the
likelihood ratios.  Measured against the transfer matrix (r <= 7): within 1.2e-14 for bit flip at
1e-3 <= p <= 0.2 and Gaussian noise at 0.2 <= sigma <= 1.5; at p = 1e-12 (condition ~1e17) errors of
1e-11 to 2e-9 appear.  Results are clipped to [0, 1].

Cost: ``F`` has 6(n-1)^2 + 12(n-1) nodes and is planar, so the sparse LU costs about O(n^3) (nested
dissection bound), against ``O(n^2 2^n)`` for the transfer matrix; measured crossover and table in
docs/decisions/toric-pfaffian-window.md.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np
import scipy.sparse as sp
from scipy.sparse.linalg import splu

_SPLIT = 0.2  # offset of the two halves of an interior vertex in the drawing
_TERMINAL = 0.08  # offset of a triangle's terminals from its centre
_SOLVE_COLUMNS = 8  # right-hand sides per SuperLU solve (its cost per column grows past ~8)


@dataclass(frozen=True)
class KasteleynLayout:
    """The Fisher graph of the radius-r window, oriented, as a CSC pattern with weight rules.

    Window edges of ``G`` are numbered ``k`` in the order of ``edge_channel, edge_a, edge_b``.  The weight
    of Fisher edge m is ``theta[factor_a[m]] * theta[factor_b[m]]`` with
    ``theta = [1, w0 (per window edge), w1 (per window edge)]``; ``data_order`` maps the values of
    the 2M directed entries (``+`` then ``-`` orientation) onto the CSC data array.
    """

    r: int
    n_nodes: int
    edge_channel: np.ndarray  # (E,) 0 = h, 1 = v
    edge_a: np.ndarray
    edge_b: np.ndarray
    designated: np.ndarray  # (E,) designated terminal u of each window edge
    covering: np.ndarray  # (E, 3) Fisher edges at u: the long edge, then u's two triangle edges
    covering_partner: np.ndarray  # (E, 3) the other end of each
    covering_sign: np.ndarray  # (E, 3) K[u, partner] = sign * signed weight of the Fisher edge
    factor_a: np.ndarray  # (M,) per Fisher edge
    factor_b: np.ndarray
    orientation: np.ndarray  # (M,) +1: K[tail, head] = +weight
    indices: np.ndarray  # CSC pattern of K
    indptr: np.ndarray
    data_order: np.ndarray


class _Builder:
    def __init__(self):
        self.xy = []
        self.edges = []  # (u, v, factor_a, factor_b)

    def node(self, x, y):
        self.xy.append((x, y))
        return len(self.xy) - 1

    def triangle(self, x, y, directions):
        """Three terminals around (x, y), offset along ``directions``."""
        return [self.node(x + _TERMINAL * dx, y + _TERMINAL * dy) for dx, dy in directions]

    def edge(self, u, v, fa=0, fb=0):
        self.edges.append((u, v, fa, fb))


def _faces(xy: np.ndarray, tails: np.ndarray, heads: np.ndarray):
    """Faces of the straight-line drawing: lists of (edge, +1 forwards / -1 backwards)."""
    n_nodes = len(xy)
    half_tail = np.concatenate([tails, heads])
    half_head = np.concatenate([heads, tails])
    M = len(tails)
    vec = xy[half_head] - xy[half_tail]
    angle = np.arctan2(vec[:, 1], vec[:, 0])
    order = np.lexsort((angle, half_tail))  # out-going half-edges of each node, counter-clockwise
    first = np.searchsorted(half_tail[order], np.arange(n_nodes + 1))
    rank = np.empty(2 * M, dtype=np.int64)
    rank[order] = np.arange(2 * M)
    twin = np.concatenate([np.arange(M, 2 * M), np.arange(M)])
    # next half-edge of a face: at the head, turn to the out-going edge just clockwise of the twin
    nxt = np.empty(2 * M, dtype=np.int64)
    for h in range(2 * M):
        t = twin[h]
        node = half_tail[t]
        lo, hi = first[node], first[node + 1]
        pos = rank[t] - 1
        nxt[h] = order[hi - 1] if pos < lo else order[pos]
    seen = np.zeros(2 * M, dtype=bool)
    faces = []
    for start in range(2 * M):
        if seen[start]:
            continue
        face, h = [], start
        while not seen[h]:
            seen[h] = True
            face.append((h % M, 1 if h < M else -1))
            h = nxt[h]
        faces.append(face)
    if n_nodes - M + len(faces) != 2:
        raise AssertionError("the Fisher graph drawing is not planar (Euler characteristic != 2)")
    return faces


def _kasteleyn_orientation(n_edges: int, faces) -> np.ndarray:
    """Orientation (+1/-1 per edge) with an odd number of forward edges on every face but face 0."""
    faces_of_edge = [[] for _ in range(n_edges)]
    for f, face in enumerate(faces):
        for e, _ in face:
            faces_of_edge[e].append(f)
    parent_edge = np.full(len(faces), -1)
    visited = np.zeros(len(faces), dtype=bool)
    visited[0] = True
    bfs = [0]
    for f in bfs:  # spanning tree of the dual, rooted at face 0
        for e, _ in faces[f]:
            g = faces_of_edge[e][0] if faces_of_edge[e][1] == f else faces_of_edge[e][1]
            if not visited[g]:
                visited[g] = True
                parent_edge[g] = e
                bfs.append(g)
    orientation = np.ones(n_edges, dtype=np.int64)  # edges off the dual tree: tail -> head
    for f in reversed(bfs[1:]):  # leaves first: the parent edge is the face's last free edge
        e_free = parent_edge[f]
        forwards = sum(1 for e, s in faces[f] if e != e_free and orientation[e] == s)
        s_free = next(s for e, s in faces[f] if e == e_free)
        orientation[e_free] = s_free if forwards % 2 == 0 else -s_free
    return orientation


@lru_cache(maxsize=None)
def kasteleyn_layout(r: int) -> KasteleynLayout:
    """Build (once per radius) the oriented Fisher graph of the radius-r window, r >= 1."""
    if r < 1:
        raise ValueError(f"the Kasteleyn layout needs radius r >= 1, got {r}")
    n = 2 * r + 1
    g = _Builder()
    d = _SPLIT
    up, right, down, left = (0, 1), (1, 0), (0, -1), (-1, 0)
    P, Q = {}, {}  # interior vertex -> terminals (up, right, split) / (down, left, split)
    for a in range(1, n):
        for b in range(1, n):
            x, y = b, -a
            P[a, b] = g.triangle(x + d, y + d, [up, right, (-0.7, -0.7)])
            Q[a, b] = g.triangle(x - d, y - d, [down, left, (0.7, 0.7)])
    ring = []  # (boundary vertex, inward, travel direction), clockwise from the top-left
    ring += [((0, b), down, right) for b in range(1, n)]
    ring += [((a, n), left, down) for a in range(1, n)]
    ring += [((n, b), up, left) for b in range(n - 1, 0, -1)]
    ring += [((a, 0), right, up) for a in range(n - 1, 0, -1)]
    R = {}  # boundary vertex -> terminals (inward, previous, next)
    for (a, b), inward, travel in ring:
        back = (-travel[0], -travel[1])
        R[a, b] = g.triangle(b, -a, [inward, back, travel])
    # window edges: (channel, a, b, designated end, other end)
    window = []
    for a in range(1, n):
        for b in range(n):
            u = P[a, b][1] if b >= 1 else R[a, 0][0]
            v = Q[a, b + 1][1] if b + 1 <= n - 1 else R[a, n][0]
            window.append((0, a, b, u, v))
    for a in range(n):
        for b in range(1, n):
            u = Q[a, b][0] if a >= 1 else R[0, b][0]
            v = P[a + 1, b][0] if a + 1 <= n - 1 else R[n, b][0]
            window.append((1, a, b, u, v))
    E = len(window)
    factor = {}  # designated terminal -> index of its w1 in theta
    for k, (_, _, _, u, v) in enumerate(window):
        g.edge(u, v, 1 + k, 0)
        factor[u] = 1 + E + k
    triangles = list(P.values()) + list(Q.values()) + list(R.values())
    for tri in triangles:
        for i, j in ((0, 1), (1, 2), (2, 0)):
            g.edge(tri[i], tri[j], factor.get(tri[i], 0), factor.get(tri[j], 0))
    for key in P:  # split edges
        g.edge(P[key][2], Q[key][2])
    for k, ((a, b), _, _) in enumerate(ring):  # ring links
        nxt = ring[(k + 1) % len(ring)][0]
        g.edge(R[a, b][2], R[nxt][1])

    xy = np.array(g.xy, dtype=np.float64)
    edges = np.array(g.edges, dtype=np.int64)
    tails, heads = edges[:, 0], edges[:, 1]
    orientation = _kasteleyn_orientation(len(edges), _faces(xy, tails, heads))
    N, M = len(xy), len(edges)
    # relabel the nodes in a fill-reducing elimination order (COLAMD on the pattern), computed once
    unit = np.concatenate([orientation, -orientation]).astype(np.float64)  # all weights 1: nonsingular
    pattern = sp.csc_array((unit, (np.concatenate([tails, heads]), np.concatenate([heads, tails]))),
                           shape=(N, N))
    label = splu(pattern, permc_spec="COLAMD").perm_c  # label[node] = its position in the order
    tails, heads = label[tails], label[heads]
    pattern = sp.csc_array((np.arange(1, 2 * M + 1, dtype=np.float64),
                            (np.concatenate([tails, heads]), np.concatenate([heads, tails]))), shape=(N, N))
    pattern.sort_indices()
    ch, wa, wb, du, _ = (np.array(col, dtype=np.int64) for col in zip(*window))
    du = label[du]
    at_node = [[] for _ in range(N)]  # Fisher edges at each node: (edge, other end, sign of K[node, other])
    for m, (t, h) in enumerate(zip(tails, heads)):
        at_node[t].append((m, h, 1))
        at_node[h].append((m, t, -1))
    covering = np.array([at_node[u] for u in du], dtype=np.int64)  # the long edge was added first
    return KasteleynLayout(
        r=r, n_nodes=N, edge_channel=ch, edge_a=wa, edge_b=wb, designated=du,
        covering=covering[:, :, 0], covering_partner=covering[:, :, 1], covering_sign=covering[:, :, 2],
        factor_a=edges[:, 2], factor_b=edges[:, 3], orientation=orientation,
        indices=pattern.indices.astype(np.int32), indptr=pattern.indptr.astype(np.int32),
        data_order=pattern.data.astype(np.int64) - 1)


def _edge_weights(q: np.ndarray):
    """``(w(0), w(1))`` scaled so that ``max = 1`` per edge (a common factor: marginals unchanged)."""
    top = np.maximum(q, 1.0 - q)
    return (1.0 - q) / top, q / top


def _kasteleyn_matrix(layout: KasteleynLayout, qh: np.ndarray, qv: np.ndarray):
    q = np.where(layout.edge_channel == 0, qh[layout.edge_a, layout.edge_b], qv[layout.edge_a, layout.edge_b])
    w0, w1 = _edge_weights(q)
    theta = np.concatenate([[1.0], w0, w1])
    signed = layout.orientation * theta[layout.factor_a] * theta[layout.factor_b]
    data = np.concatenate([signed, -signed])[layout.data_order]
    N = layout.n_nodes
    return sp.csc_array((data, layout.indices, layout.indptr), shape=(N, N)), q


def _factorise(K):
    try:
        return splu(K, permc_spec="NATURAL")  # the layout's labels are already in elimination order
    except RuntimeError:  # exactly singular: no matching has positive weight, y_W is impossible
        return None


def _fisher_weights(layout: KasteleynLayout, qh: np.ndarray, qv: np.ndarray) -> np.ndarray:
    """Signed weight ``K[tail, head]`` of every Fisher edge for one window of likelihoods."""
    q = np.where(layout.edge_channel == 0, qh[layout.edge_a, layout.edge_b], qv[layout.edge_a, layout.edge_b])
    w0, w1 = _edge_weights(q)
    theta = np.concatenate([[1.0], w0, w1])
    return layout.orientation * theta[layout.factor_a] * theta[layout.factor_b]


def _factorise(layout: KasteleynLayout, signed: np.ndarray):
    """Sparse LU of the Kasteleyn matrix; None if it is exactly singular (y_W impossible)."""
    data = np.concatenate([signed, -signed])[layout.data_order]
    N = layout.n_nodes
    K = sp.csc_array((data, layout.indices, layout.indptr), shape=(N, N))
    try:
        return splu(K, permc_spec="NATURAL")  # the layout's labels are already in elimination order
    except RuntimeError:
        return None


def _edge_marginals(layout: KasteleynLayout, signed: np.ndarray, lu, which: np.ndarray) -> np.ndarray:
    """``P(x_e = 1 | y_W)`` for the window edges ``which`` (indices into the layout's edge list)."""
    cols = np.arange(len(which))
    z = np.empty((layout.n_nodes, len(which)))  # columns of K^-1 at the designated terminals
    for start in range(0, len(which), _SOLVE_COLUMNS):
        block = cols[start:start + _SOLVE_COLUMNS]
        rhs = np.zeros((layout.n_nodes, len(block)))
        rhs[layout.designated[which[block]], np.arange(len(block))] = 1.0
        z[:, block] = lu.solve(rhs)
    # P(u covered by Fisher edge m = (u, t)) = K[u, t] (K^-1)[t, u]
    covered = layout.covering_sign[which] * signed[layout.covering[which]] * z[layout.covering_partner[which], cols[:, None]]
    p0 = covered[:, 0]  # the long edge: x_e = 0
    p1 = covered[:, 1] + covered[:, 2]  # a triangle edge: x_e = 1
    return np.clip(p1 / (p0 + p1), 0.0, 1.0)  # rounding only: see the accuracy note in the module docstring


def _window_radius(qh: np.ndarray, qv: np.ndarray) -> int:
    n = qh.shape[0]
    if qh.shape != (n, n) or qv.shape != (n, n) or n % 2 == 0:
        raise ValueError(f"qh and qv must both have shape (2r+1, 2r+1), got {qh.shape} and {qv.shape}")
    return n // 2


def _centre_edges(layout: KasteleynLayout) -> np.ndarray:
    """Layout indices of ``h[r, r]`` and ``v[r, r]``."""
    r = layout.r
    at_centre = (layout.edge_a == r) & (layout.edge_b == r)
    return np.array([np.flatnonzero(at_centre & (layout.edge_channel == c))[0] for c in (0, 1)])


def window_centre_marginals(qh: np.ndarray, qv: np.ndarray):
    """``(P(h[r, r] = 1 | y_W), P(v[r, r] = 1 | y_W))`` for one window of normalised edge likelihoods
    ``qh, qv`` of shape ``(n, n)``, n = 2r + 1; NaN if y_W is impossible.  Drop-in for
    :func:`phasebench.lattice_models.kernels.toric_window.window_centre_marginals`."""
    r = _window_radius(qh, qv)
    if r == 0:
        return float(qh[0, 0]), float(qv[0, 0])
    layout = kasteleyn_layout(r)
    signed = _fisher_weights(layout, qh, qv)
    lu = _factorise(layout, signed)
    if lu is None:
        return np.nan, np.nan
    ph, pv = _edge_marginals(layout, signed, lu, _centre_edges(layout))
    return float(ph), float(pv)


def window_edge_marginals(qh: np.ndarray, qv: np.ndarray) -> np.ndarray:
    """``P(x_e = 1 | y_W)`` for every edge of one window, ``(2, n, n)`` (channel 0 = h), from one
    factorisation; the free edges ``h[0, :]``, ``v[:, 0]`` keep their likelihood ``q``.  NaN if
    y_W is impossible."""
    r = _window_radius(qh, qv)
    out = np.stack([qh, qv]).astype(np.float64)
    if r == 0:
        return out
    layout = kasteleyn_layout(r)
    signed = _fisher_weights(layout, qh, qv)
    lu = _factorise(layout, signed)
    if lu is None:
        return np.full_like(out, np.nan)
    p = _edge_marginals(layout, signed, lu, np.arange(len(layout.designated)))
    out[layout.edge_channel, layout.edge_a, layout.edge_b] = p
    return out


def window_log_partition(qh: np.ndarray, qv: np.ndarray) -> float:
    """``log sum_{x in P} prod_e f_e(x_e)`` over the interior-parity configurations P of the window,
    with ``f_e(1) = q_e``, ``f_e(0) = 1 - q_e``: ``½ log|det K| - log 2`` (the ring factor) plus the
    scale factors of the weights and the free edges' ``log 1 = 0``.  -inf if y_W is impossible."""
    r = _window_radius(qh, qv)
    if r == 0:
        return 0.0
    layout = kasteleyn_layout(r)
    signed = _fisher_weights(layout, qh, qv)
    lu = _factorise(layout, signed)
    if lu is None:
        return -np.inf
    q = np.where(layout.edge_channel == 0, qh[layout.edge_a, layout.edge_b], qv[layout.edge_a, layout.edge_b])
    log_scale = np.log(np.maximum(q, 1.0 - q)).sum()
    return float(0.5 * np.log(np.abs(lu.U.diagonal())).sum() - np.log(2.0) + log_scale)


def field_marginals(qh_field: np.ndarray, qv_field: np.ndarray, r: int, centres: np.ndarray) -> np.ndarray:
    """Marginals of both centre edges for each window centre ``centres[k] = (s, i, j)`` of per-edge
    likelihood fields ``(N, L, L)``; windows wrap cyclically.  Returns ``(K, 2)``.  Drop-in for
    :func:`phasebench.lattice_models.kernels.toric_window.field_marginals`."""
    L = qh_field.shape[1]
    offsets = np.arange(-r, r + 1)
    out = np.empty((len(centres), 2))
    for k, (s, i, j) in enumerate(np.asarray(centres)):
        rows, cols = np.ix_((i + offsets) % L, (j + offsets) % L)
        out[k] = window_centre_marginals(qh_field[s][rows, cols], qv_field[s][rows, cols])
    return out
