# Copyright (c) mmselfemd contributors. All rights reserved.
"""Time limits of the GPU check's sections."""
import time


class SectionTimeout(Exception):
    """A section ran past its hard time limit."""


class Deadline:
    """Soft deadline of a section: its loops stop when it is near.

    Args:
        seconds (float): Time from now.
    """

    def __init__(self, seconds: float) -> None:
        self.end = time.monotonic() + seconds

    def left(self) -> float:
        """Seconds left until the deadline (negative once past).

        Returns:
            float: The seconds.
        """
        return self.end - time.monotonic()
