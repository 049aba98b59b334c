# Copyright (c) mmselfemd contributors. All rights reserved.
from .cost import cosine_cost, cosine_similarity_matrix
from .emd_similarity import emd_similarity
from .node_weights import cross_reference_weights, uniform_weights
from .sinkhorn import eps_schedule, sinkhorn

__all__ = [
    'cosine_cost', 'cosine_similarity_matrix', 'cross_reference_weights',
    'emd_similarity', 'eps_schedule', 'sinkhorn', 'uniform_weights'
]
