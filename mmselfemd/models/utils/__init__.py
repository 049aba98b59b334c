# Copyright (c) mmselfemd contributors. All rights reserved.
from .cost import cosine_cost, cosine_similarity_matrix
from .emd_similarity import EMDResult, emd_similarity, relative_cost, std_cost
from .exact_emd import exact_transport_plan
from .node_cosine import node_cosine
from .node_weights import cross_reference_weights, uniform_weights
from .sinkhorn import eps_schedule, sinkhorn
from .transport_diagnostics import exact_entropy_cap, transport_diagnostics

__all__ = [
    'EMDResult', 'cosine_cost', 'cosine_similarity_matrix',
    'cross_reference_weights', 'emd_similarity', 'eps_schedule',
    'exact_entropy_cap',
    'exact_transport_plan', 'node_cosine', 'relative_cost', 'sinkhorn',
    'std_cost', 'transport_diagnostics', 'uniform_weights'
]
