# Copyright (c) mmselfemd contributors. All rights reserved.
from .selfemd import SelfEMD

__all__ = ['SelfEMD']
