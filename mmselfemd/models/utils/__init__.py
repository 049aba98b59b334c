# Copyright (c) mmselfemd contributors. All rights reserved.
from .cost import cosine_cost, cosine_similarity_matrix
from .emd_similarity import EMDResult, emd_similarity, relative_cost
from .exact_emd import exact_transport_plan
from .node_weights import cross_reference_weights, uniform_weights
from .sinkhorn import eps_schedule, sinkhorn
from .transport_diagnostics import transport_diagnostics

__all__ = [
    'EMDResult', 'cosine_cost', 'cosine_similarity_matrix',
    'cross_reference_weights', 'emd_similarity', 'eps_schedule',
    'exact_transport_plan', 'relative_cost', 'sinkhorn',
    'transport_diagnostics', 'uniform_weights'
]
