# Copyright (c) mmselfemd contributors. All rights reserved.
