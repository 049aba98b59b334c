# Copyright (c) mmselfemd contributors. All rights reserved.
"""The transfer study: Self-EMD vs BYOL vs random init at equal compute
(see ``projects/transfer_study/README.md``)."""
