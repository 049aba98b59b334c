# Copyright (c) mmselfemd contributors. All rights reserved.
"""Research beside the toolbox (see README.md); not installed."""
