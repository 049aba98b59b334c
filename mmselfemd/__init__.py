# Copyright (c) mmselfemd contributors. All rights reserved.
# Importing mmselfemd changes nothing in the process: checkpoint loading is
# set up by register_all_modules() (mmselfemd/utils/setup_env.py).
from .version import __version__, version_info

__all__ = ['__version__', 'version_info']
