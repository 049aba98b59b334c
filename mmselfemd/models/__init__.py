# Copyright (c) mmselfemd contributors. All rights reserved.
# Importing the mmpretrain package registers its modules in the parent
# registry, so they build under scope mmselfemd without a prefix.
import mmpretrain.models  # noqa: F401

from .algorithms import *  # noqa: F401,F403
from .heads import *  # noqa: F401,F403
from .necks import *  # noqa: F401,F403
from .utils import *  # noqa: F401,F403
