# Copyright (c) mmselfemd contributors. All rights reserved.
__all__ = []
