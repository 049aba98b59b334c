# Copyright (c) mmselfemd contributors. All rights reserved.
# Importing the mmpretrain package registers its modules in the parent
# registry, so they build under scope mmselfemd without a prefix.
import mmpretrain.engine  # noqa: F401

from .hooks import *  # noqa: F401,F403
from .optimizers import *  # noqa: F401,F403
